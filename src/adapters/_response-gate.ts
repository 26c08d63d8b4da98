import type { ServerResponse } from 'node:http';

type Method = 'writeHead' | 'write' | 'end' | 'flushHeaders';
const METHODS: readonly Method[] = ['writeHead', 'write', 'end', 'flushHeaders'];

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
  const originals = new Map<Method, (...args: unknown[]) => unknown>();
  for (const method of METHODS) originals.set(method, (res[method] as (...args: unknown[]) => unknown).bind(res));
  const queued: [Method, unknown[]][] = [];
  let started = false;

  const restore = (): void => {
    // Dropping the own properties uncovers the prototype's methods again.
    for (const method of METHODS) Reflect.deleteProperty(res, method);
  };

  const release = async (): Promise<void> => {
    let setCookie: string | undefined;
    try {
      setCookie = await before();
    } catch (error) {
      restore();
      onFailure(error);
      return;
    }
    restore();
    if (setCookie !== undefined && !res.headersSent) res.appendHeader('Set-Cookie', setCookie);
    for (const [method, args] of queued) (originals.get(method) as (...a: unknown[]) => unknown)(...args);
  };

  for (const method of METHODS) {
    Object.defineProperty(res, method, {
      configurable: true,
      writable: true,
      value: (...args: unknown[]): unknown => {
        queued.push([method, args]);
        if (!started) {
          started = true;
          void release();
        }
        return method === 'write' ? true : res;
      },
    });
  }
}
