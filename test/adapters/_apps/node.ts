import { createServer } from 'node:http';
import { createSessionManager } from '../../../src/index.js';
import { sessions } from '../../../src/adapters/node.js';
import type { StartApp } from '../_scenarios.js';
import { listen, pathOf, scenarioMode } from './_listen.js';

/** The scenario routes on plain `node:http`. */
export const startNode: StartApp = async ({ store, secret, waitMs, onHold }) => {
  const manager = createSessionManager({ store, secret, lock: { waitMs }, sweep: false });
  const server = createServer(
    sessions(
      manager,
      async (req, res, session) => {
        const data = session.data;
        switch (pathOf(req.url)) {
          case '/hit':
            data.hits = Number(data.hits ?? 0) + 1;
            return res.end(String(data.hits));
          case '/peek':
            return res.end(String(data.hits ?? 0));
          case '/login':
            session.regenerate();
            data.user = 'ada';
            return res.end('ok');
          case '/logout':
            session.destroy();
            return res.end('ok');
          case '/redirect':
            data.flag = 'set';
            res.writeHead(302, { location: '/peek' });
            return res.end();
          case '/hold':
            data.held = true;
            await onHold();
            return res.end('ok');
          default:
            return res.end('ok');
        }
      },
      { mode: (req) => scenarioMode(pathOf(req.url)) },
    ),
  );
  return listen(server, () => manager.close());
};
