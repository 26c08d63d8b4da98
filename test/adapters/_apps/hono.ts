import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { createSessionManager } from '../../../src/index.js';
import { sessions } from '../../../src/adapters/hono.js';
import type { StartApp } from '../_scenarios.js';
import { listen } from './_listen.js';

/** The scenario routes on Hono 4, served by @hono/node-server; `/peek` mounts a read-only instance. */
export const startHono: StartApp = async ({ store, secret, waitMs, onHold }) => {
  const manager = createSessionManager({ store, secret, lock: { waitMs }, sweep: false });
  const quiet = { onError: () => undefined };
  const app = new Hono();
  app.get('/peek', sessions(manager, { ...quiet, mode: 'readonly' }), (c) => c.text(String(c.get('session').data.hits ?? 0)));
  app.use(sessions(manager, quiet));
  app.get('/hit', (c) => {
    const data = c.get('session').data;
    data.hits = Number(data.hits ?? 0) + 1;
    return c.text(String(data.hits));
  });
  app.get('/noop', (c) => c.text('ok'));
  app.get('/login', (c) => {
    const session = c.get('session');
    session.regenerate();
    session.data.user = 'ada';
    return c.text('ok');
  });
  app.get('/logout', (c) => {
    c.get('session').destroy();
    return c.text('ok');
  });
  app.get('/redirect', (c) => {
    c.get('session').data.flag = 'set';
    return c.redirect('/peek');
  });
  app.get('/hold', async (c) => {
    c.get('session').data.held = true;
    await onHold();
    return c.text('ok');
  });
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server, () => manager.close());
};
