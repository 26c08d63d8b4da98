import type { ServerResponse } from 'node:http';

type Method = 'writeHead' | 'write' | 'end' | 'flushHeaders';
type Callable = (this: ServerResponse, ...args: unknown[]) => unknown;
type Patchable = Record<Method, Callable>;

/**
 * One response's gate: what was called while it waited, and the methods to put back.
 * A class rather than closures: its methods are shared by every response, and the only
 * functions made per response are the four stand-ins.
 */
class ResponseGate {
  readonly #res: ServerResponse;
  readonly #before: () => Promise<string | undefined>;
  readonly #onFailure: (error: unknown) => void;
  // The methods as they were (usually the prototype's), put back by plain assignment:
  // deleting own properties would turn every response object into a slow dictionary-mode
  // object, which showed in the profile of Node's own http code.
  readonly #writeHead: Callable;
  readonly #write: Callable;
  readonly #end: Callable;
  readonly #flushHeaders: Callable;
  readonly #queued: [Method, unknown[]][] = [];
  #started = false;

  constructor(res: ServerResponse, before: () => Promise<string | undefined>, onFailure: (error: unknown) => void) {
    this.#res = res;
    this.#before = before;
    this.#onFailure = onFailure;
    this.#writeHead = res.writeHead as Callable;
    this.#write = res.write as Callable;
    this.#end = res.end as Callable;
    this.#flushHeaders = res.flushHeaders as Callable;
  }

  /** Stands in for `method` until the gate opens. */
  hold(method: Method, args: unknown[]): unknown {
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
      this.#restore();
      this.#onFailure(error);
      return;
    }
    const target = this.#restore();
    if (setCookie !== undefined && !this.#res.headersSent) this.#res.appendHeader('Set-Cookie', setCookie);
    for (const [method, args] of this.#queued) target[method].apply(this.#res, args);
  }

  #restore(): Patchable {
    const target = this.#res as unknown as Patchable;
    target.writeHead = this.#writeHead;
    target.write = this.#write;
    target.end = this.#end;
    target.flushHeaders = this.#flushHeaders;
    return target;
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
  target.writeHead = (...args) => gate.hold('writeHead', args);
  target.write = (...args) => gate.hold('write', args);
  target.end = (...args) => gate.hold('end', args);
  target.flushHeaders = (...args) => gate.hold('flushHeaders', args);
}
