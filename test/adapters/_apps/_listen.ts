import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ScenarioApp } from '../_scenarios.js';

/** Listens on a random loopback port and answers the app's URL and a close that also ends keep-alive sockets. */
export async function listen(server: Server, onClose: () => Promise<void> = () => Promise.resolve()): Promise<ScenarioApp> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      await onClose();
    },
  };
}

/** The path of a request URL (no query). */
export function pathOf(url: string | undefined): string {
  return new URL(url ?? '/', 'http://x').pathname;
}

/** Lock mode of the scenario routes: `/peek` reads only. */
export function scenarioMode(path: string): 'readonly' | undefined {
  return path === '/peek' ? 'readonly' : undefined;
}
