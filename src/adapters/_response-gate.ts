import type { ServerResponse } from 'node:http';

// `flushHeaders` needs no stand-in: it sends the headers through `this.writeHead`, held
// here, and its empty flush sends nothing. Each own property added to a response costs
// about 5 µs under Express, which swaps the response's prototype per request.
type Method = 'writeHead' | 'write' | 'end';
type Callable = (this: ServerResponse, ...args: unknown[]) => unknown;
type Patchable = Record<Method, Callable>;

/**
 * One response's gate: what was called while it waited, and the methods the stand-ins
 * forward to once it is open. A class rather than closures: its methods are shared by
 * every response, and the only functions made per response are the three stand-ins.
 */
class ResponseGate {
  readonly #res: ServerResponse;
  readonly #before: () => Promise<string | undefined>;
  readonly #onFailure: (error: unknown) => void;
  // The methods as they were when the gate went in (usually the prototype's). The
  // stand-ins stay in place for the whole response and forward to these once the gate is
  // open: assigning the originals back cost about 20 µs a response here (V8 rebuilds the
  // response's hidden class when a function-valued field changes), more than all else the
  // gate does, and would also undo a wrapper another middleware put on top of a stand-in.
  readonly #originals: Patchable;
  readonly #queued: [Method, unknown[]][] = [];
  #started = false;
  #open = false;

  constructor(res: ServerResponse, before: () => Promise<string | undefined>, onFailure: (error: unknown) => void) {
    this.#res = res;
    this.#before = before;
    this.#onFailure = onFailure;
    const methods = res as unknown as Patchable;
    this.#originals = { writeHead: methods.writeHead, write: methods.write, end: methods.end };
  }

  /** Stands in for `method`: held until the gate opens, passed straight on afterwards. */
  call(method: Method, args: unknown[]): unknown {
    if (this.#open) return this.#originals[method].apply(this.#res, args);
    this.#queued.push([method, args]);
    if (!this.#started) {
      this.#started = true;
      void this.#release();
    }
    return method === 'write' ? true : this.#res;
  }

  async #release(): Promise<void> {
    let setCookie: string | undefined;
    try {
      setCookie = await this.#before();
    } catch (error) {
      // What was held is dropped: `onFailure` answers instead, through the open gate.
      this.#open = true;
      this.#onFailure(error);
      return;
    }
    // Open before the replay: the originals call `this.writeHead` themselves.
    this.#open = true;
    if (setCookie !== undefined && !this.#res.headersSent) this.#res.appendHeader('Set-Cookie', setCookie);
    for (const [method, args] of this.#queued) this.#originals[method].apply(this.#res, args);
  }
}

/**
 * Holds back everything that would send a `node:http` response's headers until `before`
 * has settled, then sends them, so a session is saved before the response (a redirect,
 * say) can reach the browser and trigger the next request. `before` answers a
 * `Set-Cookie` value to add, or throws to replace the response (see `onFailure`).
 * Calls made while waiting are replayed in order; `write` answers true meanwhile.
 */
export function gateResponse(
  res: ServerResponse,
  before: () => Promise<string | undefined>,
  onFailure: (error: unknown) => void,
): void {
  const gate = new ResponseGate(res, before, onFailure);
  const target = res as unknown as Patchable;
  target.writeHead = (...args) => gate.call('writeHead', args);
  target.write = (...args) => gate.call('write', args);
  target.end = (...args) => gate.call('end', args);
}
