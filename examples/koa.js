// Koa with sessionlock. Run: SESSION_SECRET=change-me node examples/koa.js
import Koa from 'koa';
import { createSessionManager } from 'sessionlock';
import { sessions } from 'sessionlock/koa';

const manager = createSessionManager({ store: process.env.SESSIONLOCK_STORE ?? 'memory:', secret: process.env.SESSION_SECRET });
const app = new Koa();
app.use(sessions(manager, { mode: (ctx) => (ctx.path === '/poll' ? 'readonly' : 'exclusive') }));
app.use((ctx) => {
  const { data } = ctx.session;
  if (ctx.path === '/poll') {
    ctx.body = { hits: data.hits ?? 0 };
    return;
  }
  data.hits = Number(data.hits ?? 0) + 1;
  ctx.body = `hits: ${data.hits}\n`;
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
