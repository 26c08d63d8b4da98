import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { createSessionManager } from '../../../src/index.js';
import { sessions } from '../../../src/adapters/fetch.js';
import type { StartApp } from '../_scenarios.js';
import { listen, pathOf, scenarioMode } from './_listen.js';

/** The scenario routes as a fetch-API handler, served on node:http through @hono/node-server. */
export const startFetch: StartApp = async ({ store, secret, waitMs, onHold }) => {
  const manager = createSessionManager({ store, secret, lock: { waitMs }, sweep: false });
  const handler = sessions(
    manager,
    async (request, session) => {
      const data = session.data;
      switch (pathOf(request.url)) {
        case '/hit':
          data.hits = Number(data.hits ?? 0) + 1;
          return new Response(String(data.hits));
        case '/peek':
          return new Response(String(data.hits ?? 0));
        case '/login':
          session.regenerate();
          data.user = 'ada';
          return new Response('ok');
        case '/logout':
          session.destroy();
          return new Response('ok');
        case '/redirect':
          data.flag = 'set';
          return Response.redirect(new URL('/peek', request.url), 302);
        case '/hold':
          data.held = true;
          await onHold();
          return new Response('ok');
        default:
          return new Response('ok');
      }
    },
    { mode: (request) => scenarioMode(pathOf(request.url)), onError: () => undefined },
  );
  return listen(createAdaptorServer({ fetch: handler }) as Server, () => manager.close());
};
