// Scenario 5, one side: a process holding or waiting for one session of the store at
// BENCH_STORE_URL, driven by the harness over IPC. Instants are epoch ms from
// performance.timeOrigin + performance.now(), comparable across processes of one host.
import { createSessionManager, createStore, type Session, type SessionManager } from '../src/index.js';

/** Commands from the harness. */
export type WakeupCommand =
  | { readonly type: 'create' }
  | { readonly type: 'hold'; readonly cookie: string }
  | { readonly type: 'release' }
  | { readonly type: 'wait'; readonly cookie: string };

/** Answers to the harness. */
export type WakeupReply =
  | { readonly type: 'ready' }
  | { readonly type: 'unavailable'; readonly reason: string }
  | { readonly type: 'created'; readonly cookie: string }
  | { readonly type: 'held' }
  | { readonly type: 'released'; readonly releaseAt: number }
  | { readonly type: 'waiting' }
  | { readonly type: 'acquired'; readonly acquiredAt: number }
  | { readonly type: 'failed'; readonly reason: string };

const now = (): number => performance.timeOrigin + performance.now();
const send = (reply: WakeupReply): void => void process.send?.(reply);
const fail = (error: unknown): void => send({ type: 'failed', reason: error instanceof Error ? error.message : String(error) });

let manager: SessionManager;
try {
  const store = await createStore(process.env.BENCH_STORE_URL ?? '');
  manager = createSessionManager({ store, secret: process.env.BENCH_SECRET ?? 'bench-secret', lock: { waitMs: 10_000 } });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'unavailable', reason: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

let held: Session | undefined;

async function handle(command: WakeupCommand): Promise<void> {
  switch (command.type) {
    case 'create': {
      const session = await manager.open(undefined);
      session.data.hits = 1;
      const setCookie = await manager.commit(session);
      send({ type: 'created', cookie: (setCookie ?? '').split(';')[0] ?? '' });
      return;
    }
    case 'hold':
      held = await manager.open(command.cookie);
      held.data.hits = Number(held.data.hits ?? 0) + 1;
      send({ type: 'held' });
      return;
    case 'release': {
      // The instant the holder starts its commit: the release is part of that round trip.
      const releaseAt = now();
      if (held !== undefined) await manager.commit(held);
      held = undefined;
      send({ type: 'released', releaseAt });
      return;
    }
    case 'wait': {
      const opening = manager.open(command.cookie);
      send({ type: 'waiting' });
      const session = await opening;
      const acquiredAt = now();
      session.data.hits = Number(session.data.hits ?? 0) + 1;
      await manager.commit(session);
      send({ type: 'acquired', acquiredAt });
      return;
    }
  }
}

process.on('message', (command: WakeupCommand) => void handle(command).catch(fail));
process.on('disconnect', () => void manager.close().finally(() => process.exit(0)));
