import { ServerResponse } from 'node:http';

// `flushHeaders` needs no stand-in: it sends the headers through `this.writeHead`, held
// here, and its empty flush sends nothing.
type Method = 'writeHead' | 'write' | 'end';
type Callable = (this: ServerResponse, ...args: unknown[]) => unknown;
type Patchable = Record<Method, Callable>;

/** Where a response finds its gate when the stand-ins live on a shared prototype. */
const GATE = Symbol('sessionlock.responseGate');
type GatedResponse = ServerResponse & { [GATE]?: ResponseGate };

/**
 * One response's gate: what was called while it waited, and the methods the stand-ins
 * forward to once it is open. A class rather than closures: its methods are shared by
 * every response.
 */
class ResponseGate {
  readonly #res: ServerResponse;
  readonly #before: () => Promise<string | undefined>;
  readonly #onFailure: (error: unknown) => void;
  // The methods the stand-ins replaced. The stand-ins stay in place for the whole response
  // and forward to these once the gate is open: assigning the originals back cost about
  // 20 µs a response here (V8 rebuilds the response's hidden class when a function-valued
  // field changes), more than all else the gate does, and would also undo a wrapper
  // another middleware put on top of a stand-in.
  readonly #originals: Patchable;
  readonly #queued: [Method, unknown[]][] = [];
  #started = false;
  #open = false;

  constructor(res: ServerResponse, originals: Patchable, before: () => Promise<string | undefined>, onFailure: (error: unknown) => void) {
    this.#res = res;
    this.#originals = originals;
    this.#before = before;
    this.#onFailure = onFailure;
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

/** The three methods of `target` as they resolve now. */
function methodsOf(target: object): Patchable {
  const methods = target as Patchable;
  return { writeHead: methods.writeHead, write: methods.write, end: methods.end };
}

/** A shared prototype's stand-ins and the methods they replaced. */
interface SharedGate {
  readonly standIns: Patchable;
  readonly inherited: Patchable;
}

/**
 * Replaces the three methods on a shared prototype by stand-ins that ask the response
 * for its gate, and pass straight on when it has none.
 */
function gatePrototype(prototype: object): SharedGate {
  const inherited = methodsOf(prototype);
  // Methods, not arrows: they keep their names in stack traces and get `this`.
  const standIns: Patchable = {
    writeHead(...args) {
      const gate = (this as GatedResponse)[GATE];
      return gate === undefined ? inherited.writeHead.apply(this, args) : gate.call('writeHead', args);
    },
    write(...args) {
      const gate = (this as GatedResponse)[GATE];
      return gate === undefined ? inherited.write.apply(this, args) : gate.call('write', args);
    },
    end(...args) {
      const gate = (this as GatedResponse)[GATE];
      return gate === undefined ? inherited.end.apply(this, args) : gate.call('end', args);
    },
  };
  for (const method of ['writeHead', 'write', 'end'] as const) {
    Object.defineProperty(prototype, method, { value: standIns[method], writable: true, configurable: true, enumerable: false });
  }
  return { standIns, inherited };
}

/** True when the three methods can be defined on `prototype`: it is not frozen or sealed, and none of them is fixed there. */
function canGate(prototype: object): boolean {
  if (!Object.isExtensible(prototype)) return false;
  return (['writeHead', 'write', 'end'] as const).every((method) => Object.getOwnPropertyDescriptor(prototype, method)?.configurable !== false);
}

/** Per prototype a response was seen with: its shared prototype's gate, or null when it has none to gate. */
const gatedPrototypes = new WeakMap<object, SharedGate | null>();

/**
 * The prototype just above `ServerResponse.prototype` in the chain of `res`, gated once:
 * under Express that is Express's own response object, which every app's (and mounted
 * sub-app's) `app.response` inherits from. Null for a bare `node:http` response (node's
 * own prototype is left alone: every server in the process shares it) or one that cannot
 * take them (see `canGate`).
 */
function sharedGateOf(res: ServerResponse): SharedGate | null {
  const direct = Object.getPrototypeOf(res) as object | null;
  if (direct === null) return null;
  let found = gatedPrototypes.get(direct);
  if (found !== undefined) return found;
  let shared: object | null = direct;
  while (shared !== null && Object.getPrototypeOf(shared) !== ServerResponse.prototype) shared = Object.getPrototypeOf(shared) as object | null;
  const reused = shared === null ? undefined : gatedPrototypes.get(shared);
  found = reused ?? (shared !== null && canGate(shared) ? gatePrototype(shared) : null);
  if (shared !== null) gatedPrototypes.set(shared, found);
  gatedPrototypes.set(direct, found);
  return found;
}

/** True when calls on `res` reach the shared stand-ins: nothing between (an own method, another prototype) overrides them. */
function reaches(res: ServerResponse, { standIns }: SharedGate): boolean {
  const methods = res as unknown as Patchable;
  return methods.writeHead === standIns.writeHead && methods.write === standIns.write && methods.end === standIns.end;
}

/**
 * Holds back everything that would send a `node:http` response's headers until `before`
 * has settled, then sends them, so a session is saved before the response (a redirect,
 * say) can reach the browser and trigger the next request. `before` answers a
 * `Set-Cookie` value to add, or throws to replace the response (see `onFailure`).
 * Calls made while waiting are replayed in order; `write` answers true meanwhile.
 *
 * Under Express the stand-ins live on Express's response prototype and each response
 * carries only its gate: own properties added to a response cost several µs each here
 * (Express swaps its prototype per request), and the three took about a tenth of the CPU
 * of a session request. Where something overrides the shared stand-ins for this response
 * (another middleware wrapped its methods) or there is no prototype to share, the
 * stand-ins go on the response itself.
 */
export function gateResponse(
  res: ServerResponse,
  before: () => Promise<string | undefined>,
  onFailure: (error: unknown) => void,
): void {
  const target = res as GatedResponse;
  const gated = sharedGateOf(res);
  if (gated !== null && reaches(res, gated)) {
    target[GATE] = new ResponseGate(res, gated.inherited, before, onFailure);
    return;
  }
  const gate = new ResponseGate(res, methodsOf(res), before, onFailure);
  const methods = res as unknown as Patchable;
  methods.writeHead = (...args) => gate.call('writeHead', args);
  methods.write = (...args) => gate.call('write', args);
  methods.end = (...args) => gate.call('end', args);
}
