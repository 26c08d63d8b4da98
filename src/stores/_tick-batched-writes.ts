/**
 * One system call per socket per turn of the event loop, for clients that write each
 * command on its own.
 *
 * A socket write on loopback costs as much CPU as a request's own work on the machines
 * we measure, and a client that serves many overlapping requests often writes several
 * commands to the same socket in one turn (each answer that arrives lets a request send
 * its next command). Corking the socket at the first write of a turn and uncorking it
 * once the turn's callbacks and promise continuations have run sends them together,
 * without delaying any of them past that turn.
 */
import type { Socket } from 'node:net';

const batched = new WeakSet<Socket>();

/** Makes the writes `socket` receives within one turn of the event loop leave together. Idempotent. */
export function batchWritesPerTick(socket: Socket): void {
  if (batched.has(socket)) return;
  batched.add(socket);
  const write = socket.write;
  const uncork = (): void => socket.uncork();
  socket.write = function batchedWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (this.writableCorked === 0) {
      this.cork();
      // nextTick runs after the promise continuations of this turn, so their writes join in.
      process.nextTick(uncork);
    }
    return (write as (...writeArgs: Parameters<Socket['write']>) => boolean).apply(this, args);
  } as Socket['write'];
}
