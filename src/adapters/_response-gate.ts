import type { ServerResponse } from 'node:http';

type Method = 'writeHead' | 'write' | 'end' | 'flushHeaders';
type Callable = (this: ServerResponse, ...args: unknown[]) => unknown;

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
  // The methods as they were (usually the prototype's), put back by plain assignment:
  // deleting own properties would turn every response object into a slow dictionary-mode
  // object, which showed in the profile of Node's own http code.
  const writeHead = res.writeHead as Callable;
  const write = res.write as Callable;
  const end = res.end as Callable;
  const flushHeaders = res.flushHeaders as Callable;
  const originals: Record<Method, Callable> = { writeHead, write, end, flushHeaders };
  const target = res as unknown as Record<Method, Callable>;
  const queued: [Method, unknown[]][] = [];
  let started = false;

  const restore = (): void => {
    target.writeHead = writeHead;
    target.write = write;
    target.end = end;
    target.flushHeaders = flushHeaders;
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
    for (const [method, args] of queued) originals[method].apply(res, args);
  };

  const hold = (method: Method): Callable =>
    function heldUntilCommitted(this: ServerResponse, ...args: unknown[]): unknown {
      queued.push([method, args]);
      if (!started) {
        started = true;
        void release();
      }
      return method === 'write' ? true : res;
    };
  target.writeHead = hold('writeHead');
  target.write = hold('write');
  target.end = hold('end');
  target.flushHeaders = hold('flushHeaders');
}
