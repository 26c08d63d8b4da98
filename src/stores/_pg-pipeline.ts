/**
 * The PostgreSQL store's request connections: a few connections in node-postgres's
 * pipeline mode, each carrying every statement sent to it without waiting for the answer
 * to the one before. Each statement still ends in its own Sync, so it is its own
 * transaction and a failing one fails alone.
 *
 * Why not a pool: a pooled connection carries one statement per round trip, so fifty
 * concurrent requests cost fifty socket writes and reads on each side, and as many
 * wake-ups of as many server processes. Pipelined, the statements that are ready in the
 * same tick go out in one write and are answered in one read, and the server works
 * through them in one process. With 50 overlapping acquire-and-save pairs, PostgreSQL's
 * CPU per pair fell from about 145 µs to 91 and this process's from about 80 to 45
 * (docs/stores/postgres.md, "Connections: pipelined, not pooled").
 */
import pg from 'pg';

/** One connection and the statements waiting on it. */
interface Connection {
  /** The open (or opening) client; undefined until first use and after it failed. */
  client: Promise<pg.Client> | undefined;
  /** Statements sent on it and not yet answered. */
  inFlight: number;
}

/** A fixed number of pipelined connections, opened on first use and reopened after a failure. */
export class PipelinedConnections {
  readonly #config: pg.ClientConfig;
  readonly #connections: Connection[];
  #closed = false;

  constructor(config: pg.ClientConfig, count: number) {
    this.#config = config;
    this.#connections = Array.from({ length: count }, () => ({ client: undefined, inFlight: 0 }));
  }

  /**
   * Run one statement on the connection with the fewest unanswered ones. A statement
   * that waits (on a row lock held by a transaction outside the store) holds up those
   * behind it on its connection only, and new statements go to the others meanwhile.
   *
   * @throws the statement's error, or the connection's when it cannot be opened or breaks.
   */
  async query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new Error('the postgres store is closed');
    const connection = this.#leastBusy();
    connection.inFlight += 1;
    try {
      const client = await (connection.client ?? this.#connect(connection));
      return await client.query<R>(config);
    } finally {
      connection.inFlight -= 1;
    }
  }

  /** Close every connection once the statements already sent on it are answered. */
  async end(): Promise<void> {
    this.#closed = true;
    const opening = this.#connections.map((connection) => connection.client);
    for (const connection of this.#connections) connection.client = undefined;
    await Promise.all(
      opening.map(async (client) => {
        // A connection that never opened has nothing to close; its failure went to its statements.
        const opened = await client?.then(
          (open) => open,
          () => undefined,
        );
        await opened?.end();
      }),
    );
  }

  #leastBusy(): Connection {
    let best = this.#connections[0] as Connection;
    for (const connection of this.#connections) {
      if (connection.inFlight < best.inFlight) best = connection;
    }
    return best;
  }

  #connect(connection: Connection): Promise<pg.Client> {
    const opening = this.#open(() => {
      if (connection.client === opening) connection.client = undefined;
    });
    connection.client = opening;
    return opening;
  }

  /**
   * A broken connection fails the statements on it (node-postgres rejects each one);
   * `forget` then makes the next statement open a fresh one. Without an 'error'
   * listener, an idle connection's failure would crash the process.
   */
  async #open(forget: () => void): Promise<pg.Client> {
    const client = new pg.Client({ ...this.#config, pipeline: true });
    client.on('error', forget);
    client.on('end', forget);
    try {
      await client.connect();
    } catch (error) {
      forget();
      throw error;
    }
    return client;
  }
}
