// The demo's routes. Each request is answered by a handler wrapped in `sessions()` with
// the lock mode the route needs: pages that only show counters read a lock-free
// snapshot, so they never wait behind a burst; writes take the session's lease.
import { setTimeout as sleep } from 'node:timers/promises';
import { sessions } from 'sessionlock/node';
import { frontPage, notFoundPage, raceLabPage, storyPage } from './pages.js';
import { findStory } from './stories.js';

/** @typedef {import('sessionlock').SessionManager} SessionManager */
/** @typedef {import('sessionlock').Session} Session */
/** @typedef {import('sessionlock').LockMode} LockMode */
/** @typedef {import('node:http').IncomingMessage} IncomingMessage */
/** @typedef {import('node:http').ServerResponse} ServerResponse */
/** @typedef {import('./pages.js').Counters} Counters */

/** Longest simulated rendering a hit may ask for, in ms. */
const MAX_WORK_MS = 5000;
/** Lock modes a hit may use; `readonly` cannot write, so it is not one of them. */
const HIT_LOCK_MODES = ['exclusive', 'optimistic', 'none'];

/**
 * The session's hit counter (0 before the first write).
 * @param {Session} session
 * @returns {number}
 */
function hitsOf(session) {
  const hits = session.data.hits;
  return typeof hits === 'number' ? hits : 0;
}

/**
 * Ids of the stories this session has read (JSON has no Set, so the session keeps an array).
 * @param {Session} session
 * @returns {Set<string>}
 */
function readIdsOf(session) {
  const read = session.data.read;
  return new Set(Array.isArray(read) ? read.filter((id) => typeof id === 'string') : []);
}

/**
 * @param {Session} session
 * @returns {Counters}
 */
function countersOf(session) {
  return { storiesRead: readIdsOf(session).size, hits: hitsOf(session) };
}

/**
 * @param {ServerResponse} res
 * @param {number} status
 * @param {string} html
 */
function sendHtml(res, status, html) {
  // Pages show one visitor's counters: never cached.
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

/**
 * @param {ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 */
function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * The `work` query parameter as whole ms in 0..5000, or undefined when it is not a number.
 * @param {URLSearchParams} query
 * @returns {number | undefined}
 */
function workMsOf(query) {
  const raw = query.get('work') ?? '0';
  const workMs = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(workMs)) return undefined;
  return Math.min(MAX_WORK_MS, Math.max(0, Math.round(workMs)));
}

/**
 * A story view: counts the story as read, saves at once, then renders slowly. Releasing
 * before the slow part keeps the visitor's other tabs from queueing behind this one.
 * @param {import('./stories.js').Story} story
 * @returns {(req: IncomingMessage, res: ServerResponse, session: Session) => Promise<void>}
 */
function viewStory(story) {
  return async (_req, res, session) => {
    const readIds = readIdsOf(session);
    readIds.add(story.id);
    session.data.read = [...readIds];
    session.data.hits = hitsOf(session) + 1;
    const counters = countersOf(session);
    await session.release();
    const renderMs = 100 + Math.floor(Math.random() * 400);
    await sleep(renderMs);
    sendHtml(res, 200, storyPage(story, counters, renderMs));
  };
}

/**
 * `POST /api/hit`: the seed's hit counter. Reads `hits`, adds one, then "renders" for
 * `workMs` while the session is held, exactly the window in which an unlocked
 * request loses a concurrent update.
 * @param {number} workMs
 * @returns {(req: IncomingMessage, res: ServerResponse, session: Session) => Promise<void>}
 */
function hit(workMs) {
  return async (_req, res, session) => {
    const hits = hitsOf(session) + 1;
    session.data.hits = hits;
    await sleep(workMs);
    sendJson(res, 200, { hits });
  };
}

/**
 * The demo's `node:http` request listener.
 * @param {SessionManager} manager
 * @param {{ onError?: (error: unknown, req: IncomingMessage) => void }} [options]
 * @returns {(req: IncomingMessage, res: ServerResponse) => void}
 */
export function createDemoListener(manager, options = {}) {
  const { onError } = options;
  const report = onError ?? ((/** @type {unknown} */ error) => console.error(error));
  /**
   * @param {LockMode} mode
   * @param {(req: IncomingMessage, res: ServerResponse, session: Session) => unknown} handler
   */
  const withSession = (mode, handler) => sessions(manager, handler, { mode, onError });

  const readOnly = {
    front: withSession('readonly', (_req, res, session) => sendHtml(res, 200, frontPage(countersOf(session), readIdsOf(session)))),
    race: withSession('readonly', (_req, res, session) => sendHtml(res, 200, raceLabPage(countersOf(session)))),
    notFound: withSession('readonly', (_req, res, session) => sendHtml(res, 404, notFoundPage(countersOf(session)))),
    api: withSession('readonly', (_req, res, session) => sendJson(res, 200, { hits: hitsOf(session) })),
  };

  /**
   * The listener for one request, chosen before any session is opened, so a bad request
   * costs no store call.
   * @param {string} method
   * @param {URL} url
   * @returns {(req: IncomingMessage, res: ServerResponse) => unknown}
   */
  const route = (method, url) => {
    const path = url.pathname;
    if (path === '/api/hit') {
      if (method !== 'POST') return (_req, res) => sendJson(res, 405, { error: 'use POST' });
      const lock = url.searchParams.get('lock') ?? 'exclusive';
      if (!HIT_LOCK_MODES.includes(lock)) {
        return (_req, res) => sendJson(res, 400, { error: `lock must be one of ${HIT_LOCK_MODES.join(', ')}` });
      }
      const workMs = workMsOf(url.searchParams);
      if (workMs === undefined) return (_req, res) => sendJson(res, 400, { error: 'work must be a number of ms' });
      return withSession(/** @type {LockMode} */ (lock), hit(workMs));
    }
    if (method !== 'GET' && method !== 'HEAD') return (_req, res) => sendJson(res, 405, { error: 'use GET' });
    if (path === '/api/session') return readOnly.api;
    if (path === '/') return readOnly.front;
    if (path === '/race') return readOnly.race;
    const story = path.startsWith('/story/') ? findStory(path.slice('/story/'.length)) : undefined;
    if (story !== undefined) return withSession('exclusive', viewStory(story));
    return readOnly.notFound;
  };

  return function demoListener(req, res) {
    // Which cluster worker answered: lets a test (or a curious reader) find the process
    // that holds a request, e.g. to kill it.
    res.setHeader('x-worker-pid', String(process.pid));
    let url;
    try {
      // Prefixed, not resolved against a base: a target like `//x` is a path, not a host.
      url = new URL(`http://demo.invalid${req.url ?? '/'}`);
    } catch (error) {
      report(error, req);
      sendJson(res, 400, { error: 'bad request target' });
      return;
    }
    Promise.resolve(route(req.method ?? 'GET', url)(req, res)).catch((error) => report(error, req));
  };
}
