import assert from 'node:assert/strict';
import { ServerResponse, createServer, type IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { createSessionManager } from '../../src/core/manager.js';
import { sessions } from '../../src/adapters/node.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { runAdapterScenarios } from './_scenarios.js';
import { startNode } from './_apps/node.js';
import { listen } from './_apps/_listen.js';

runAdapterScenarios({ name: 'node:http', start: startNode, test: { describe, it } });

describe('node:http adapter: a server with its own response class', () => {
  // The response is held until the session is saved by stand-ins on the class's prototype
  // when they can go there, else on each response: both must hold it.
  class Sealed extends ServerResponse<IncomingMessage> {}
  Object.seal(Sealed.prototype);
  class FixedEnd extends ServerResponse<IncomingMessage> {}
  Object.defineProperty(FixedEnd.prototype, 'end', { value: ServerResponse.prototype.end, writable: true, configurable: false });
  class Plain extends ServerResponse<IncomingMessage> {}

  for (const [label, ResponseClass] of [['sealed', Sealed], ['with a fixed end', FixedEnd], ['plain', Plain]] as const) {
    it(`holds each response of a ${label} subclass until its session is saved`, async () => {
      const manager = createSessionManager({ store: createMemoryStore(), secret: 'a secret of at least 32 characters!!', sweep: false });
      const handler = sessions(manager, async (_req, res, session) => {
        const hits = Number(session.data.hits ?? 0) + 1;
        await new Promise((resolve) => setTimeout(resolve, 2));
        session.data.hits = hits;
        res.end(String(hits));
      });
      const app = await listen(createServer({ ServerResponse: ResponseClass }, (req, res) => void handler(req, res)));
      try {
        const first = await fetch(app.url, { method: 'POST' });
        const cookie = first.headers.getSetCookie()[0]?.split(';')[0];
        assert.ok(cookie !== undefined, 'the new session was saved and its cookie sent with the held headers');
        await Promise.all(Array.from({ length: 20 }, () => fetch(app.url, { method: 'POST', headers: { cookie } }).then((r) => r.text())));
        assert.equal(await (await fetch(app.url, { method: 'POST', headers: { cookie } })).text(), '22');
      } finally {
        await app.close();
        await manager.close();
      }
    });
  }
});
