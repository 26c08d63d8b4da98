import { createServer } from 'node:http';
import Koa from 'koa';
import { createSessionManager } from '../../../src/index.js';
import { sessions } from '../../../src/adapters/koa.js';
import type { StartApp } from '../_scenarios.js';
import { listen, scenarioMode } from './_listen.js';

/** The scenario routes on Koa 3. */
export const startKoa: StartApp = async ({ store, secret, waitMs, onHold }) => {
  const manager = createSessionManager({ store, secret, lock: { waitMs }, sweep: false });
  const app = new Koa();
  app.silent = true;
  app.use(sessions(manager, { mode: (ctx) => scenarioMode(ctx.path), onError: () => undefined }));
  app.use(async (ctx) => {
    const session = ctx.session;
    const data = session.data;
    switch (ctx.path) {
      case '/hit':
        data.hits = Number(data.hits ?? 0) + 1;
        ctx.body = String(data.hits);
        return;
      case '/peek':
        ctx.body = String(data.hits ?? 0);
        return;
      case '/login':
        session.regenerate();
        data.user = 'ada';
        ctx.body = 'ok';
        return;
      case '/logout':
        session.destroy();
        ctx.body = 'ok';
        return;
      case '/redirect':
        data.flag = 'set';
        ctx.redirect('/peek');
        return;
      case '/hold':
        data.held = true;
        await onHold();
        ctx.body = 'ok';
        return;
      default:
        ctx.body = 'ok';
    }
  });
  return listen(createServer(app.callback()), () => manager.close());
};
