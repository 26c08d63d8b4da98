// The demo's pages render and show the visitor's counters; reading pages creates no
// session; bad requests are refused before any session is opened.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cookieOf, hitsOf, send, startDemo, type DemoProcess } from './_demo-process.js';

/** The front page lists this many headlines. */
const STORY_COUNT = 12;

const counter = (read: number, hits: number): RegExp =>
  new RegExp(`Stories read: <b id="stories-read">${read}</b> of ${STORY_COUNT}\\s+· hits: <b id="hits">${hits}</b>`);

/** Ids of the stories a front page links to, each opening in its own tab. */
const storyIdsOf = (html: string): string[] =>
  [...html.matchAll(/<a href="\/story\/([a-z0-9-]+)" target="_blank"/g)].map((match) => match[1] as string);

describe('demo pages (one process, memory store)', () => {
  let demo: DemoProcess;

  before(async () => {
    demo = await startDemo({ SESSIONLOCK_STORE: 'memory:', SESSION_SECRET: 'pages-test-secret' });
  });
  after(async () => {
    await demo?.stop();
  });

  it('renders the front page without creating a session', async () => {
    const reply = await send(`${demo.url}/`);
    assert.equal(reply.status, 200);
    assert.match(reply.headers['content-type'] ?? '', /^text\/html/);
    assert.match(reply.body, counter(0, 0));
    assert.equal(reply.headers['set-cookie'], undefined);
    assert.equal(reply.pid, demo.child.pid, 'x-worker-pid names the process that answered');
    // Each story opens in its own tab.
    assert.equal(new Set(storyIdsOf(reply.body)).size, STORY_COUNT);
  });

  it('counts a story as read, once per story, on every page', async () => {
    const [story, other] = storyIdsOf((await send(`${demo.url}/`)).body);
    assert.ok(story !== undefined && other !== undefined, 'the front page links stories');
    const first = await send(`${demo.url}/story/${story}`);
    assert.equal(first.status, 200);
    assert.match(first.body, counter(1, 1));
    assert.match(first.body, /Counted as read/);
    const cookie = cookieOf(first);

    assert.match((await send(`${demo.url}/story/${story}`, { cookie })).body, counter(1, 2));
    assert.match((await send(`${demo.url}/story/${other}`, { cookie })).body, counter(2, 3));
    const front = await send(`${demo.url}/`, { cookie });
    assert.match(front.body, counter(2, 3));
    assert.equal(front.body.match(/✓ read/g)?.length, 2);
    const lab = await send(`${demo.url}/race`, { cookie });
    assert.equal(lab.status, 200);
    assert.match(lab.body, counter(2, 3));
    assert.match(lab.body, /<form id="lab">/);
    assert.equal(hitsOf(await send(`${demo.url}/api/session`, { cookie })), 3);
  });

  it('answers 404 for an unknown story, with the counter', async () => {
    const reply = await send(`${demo.url}/story/no-such-story`);
    assert.equal(reply.status, 404);
    assert.match(reply.body, counter(0, 0));
  });

  it('refuses a bad lock mode, a bad work value and a wrong method, without a session', async () => {
    for (const query of ['lock=bogus', 'lock=readonly', 'work=soon']) {
      const reply = await send(`${demo.url}/api/hit?${query}`, { method: 'POST' });
      assert.equal(reply.status, 400, query);
      assert.equal(reply.headers['set-cookie'], undefined, query);
    }
    assert.equal((await send(`${demo.url}/api/hit`)).status, 405);
    assert.equal((await send(`${demo.url}/api/session`, { method: 'POST' })).status, 405);
  });

  it('answers {"hits":n} from both JSON endpoints', async () => {
    const hit = await send(`${demo.url}/api/hit?work=1&lock=none`, { method: 'POST' });
    assert.equal(hit.body, '{"hits":1}');
    assert.equal((await send(`${demo.url}/api/session`, { cookie: cookieOf(hit) })).body, '{"hits":1}');
    assert.equal((await send(`${demo.url}/api/session`)).body, '{"hits":0}');
  });
});
