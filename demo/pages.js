// HTML of the demo's pages: plain template strings, one small inline stylesheet, and one
// inline script on the race lab. Every page shows the visitor's counters.
import { stories } from './stories.js';

/** @typedef {import('./stories.js').Story} Story */

/**
 * What every page shows in its header.
 * @typedef {object} Counters
 * @property {number} storiesRead  Distinct stories this session has opened.
 * @property {number} hits  Every counted request: story views and race-lab hits.
 */

const STYLE = `
  :root { color-scheme: light dark; --accent: #b3261e; --muted: #777; --line: #8884; }
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 0 1rem 3rem; }
  header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; border-bottom: 3px double var(--line); padding: 1rem 0 .5rem; }
  header h1 { font: 700 1.6rem Georgia, serif; margin: 0; }
  header a { color: inherit; text-decoration: none; }
  nav { display: flex; gap: 1rem; }
  .counter { margin-left: auto; font-variant-numeric: tabular-nums; }
  .counter b { color: var(--accent); }
  ol.headlines { list-style: none; padding: 0; }
  ol.headlines li { padding: .6rem 0; border-bottom: 1px solid var(--line); }
  .section { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; }
  .read { color: var(--muted); font-size: .8rem; }
  .note { color: var(--muted); font-size: .9rem; }
  form { display: flex; flex-wrap: wrap; gap: 1rem; align-items: end; margin: 1rem 0; }
  label { display: flex; flex-direction: column; font-size: .9rem; }
  input[type=number] { width: 7rem; font: inherit; }
  fieldset { border: 1px solid var(--line); }
  button { font: inherit; padding: .3rem 1rem; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: .25rem .5rem; border-bottom: 1px solid var(--line); }
  th:first-child, td:first-child { text-align: left; }
  .lost { color: var(--accent); font-weight: 700; }
`;

/**
 * Escape text for HTML element content and quoted attribute values.
 * @param {string} text
 * @returns {string}
 */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * @param {string} title
 * @param {Counters} counters
 * @param {string} main  HTML
 * @returns {string}
 */
function layout(title, counters, main) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · The Daily Lease</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1><a href="/">The Daily Lease</a></h1>
  <nav><a href="/">Front page</a><a href="/race">Race lab</a></nav>
  <p class="counter">Stories read: <b id="stories-read">${counters.storiesRead}</b> of ${stories.length}
    · hits: <b id="hits">${counters.hits}</b></p>
</header>
<main>
${main}
</main>
</body>
</html>
`;
}

/**
 * The front page: every headline, each opening in its own tab.
 * @param {Counters} counters
 * @param {ReadonlySet<string>} readIds
 * @returns {string}
 */
export function frontPage(counters, readIds) {
  const items = stories
    .map(
      (story) => `<li><span class="section">${escapeHtml(story.section)}</span><br>
  <a href="/story/${encodeURIComponent(story.id)}" target="_blank" rel="noopener">${escapeHtml(story.title)}</a>
  ${readIds.has(story.id) ? '<span class="read">✓ read</span>' : ''}</li>`,
    )
    .join('\n');
  return layout(
    'Front page',
    counters,
    `<p class="note">Open a few stories at once, each in its own tab, as the reader of seed 000 did:
every one of them is counted, however they overlap. Reload this page to see the counter.</p>
<ol class="headlines">
${items}
</ol>`,
  );
}

/**
 * One story. `renderMs` is the simulated slow rendering that ran after the session was saved.
 * @param {Story} story
 * @param {Counters} counters
 * @param {number} renderMs
 * @returns {string}
 */
export function storyPage(story, counters, renderMs) {
  return layout(
    story.title,
    counters,
    `<p class="section">${escapeHtml(story.section)}</p>
<h2>${escapeHtml(story.title)}</h2>
<p>${escapeHtml(story.body)}</p>
<p class="note">Counted as read. This request saved the session first (<code>session.release()</code>)
and only then spent ${renderMs} ms "rendering", so your other tabs did not wait for it.</p>
<p><a href="/">Back to the front page</a></p>`,
  );
}

/**
 * A page for an unknown path.
 * @param {Counters} counters
 * @returns {string}
 */
export function notFoundPage(counters) {
  return layout('Not found', counters, '<h2>No such page</h2><p><a href="/">Back to the front page</a></p>');
}

// Runs in the browser. Plain ES2017 so any current browser takes it as is.
const RACE_SCRIPT = `
const form = document.getElementById('lab');
const runs = document.getElementById('runs');
const state = document.getElementById('state');

async function readHits() {
  const response = await fetch('/api/session', { cache: 'no-store' });
  return (await response.json()).hits;
}

async function hit(work, lock) {
  try {
    const response = await fetch('/api/hit?work=' + work + '&lock=' + lock, { method: 'POST' });
    return response.status;
  } catch (error) {
    return 0;
  }
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = String(text);
  if (className) td.className = className;
  return td;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const n = Math.max(1, Math.min(1000, Number(data.get('n')) || 1));
  const work = Math.max(0, Math.min(5000, Number(data.get('work')) || 0));
  const lock = String(data.get('lock'));
  const button = form.querySelector('button');
  button.disabled = true;
  state.textContent = 'Running ' + n + ' requests with lock=' + lock + '…';
  const startedAt = performance.now();
  try {
    const before = await readHits();
    // The first request goes alone: a visitor without a session gets the cookie from it,
    // so that the other n - 1 all belong to that one session.
    const statuses = [await hit(work, lock)];
    const rest = await Promise.all(Array.from({ length: n - 1 }, () => hit(work, lock)));
    statuses.push(...rest);
    const after = await readHits();
    const ok = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 409 || s === 503).length;
    const counted = after - before;
    const lost = ok - counted;
    const row = document.createElement('tr');
    row.append(
      cell(lock), cell(n), cell(ok), cell(refused), cell(n - ok - refused), cell(counted),
      cell(lost, lost > 0 ? 'lost' : ''), cell(Math.round(performance.now() - startedAt) + ' ms'),
    );
    runs.prepend(row);
    document.getElementById('hits').textContent = String(after);
    state.textContent = lost > 0 ? lost + ' updates were lost.' : 'Nothing was lost.';
  } catch (error) {
    state.textContent = 'The run failed: ' + error.message;
  } finally {
    button.disabled = false;
  }
});
`;

/**
 * The race lab: fires a burst of overlapping hits at the visitor's own session.
 * @param {Counters} counters
 * @returns {string}
 */
export function raceLabPage(counters) {
  return layout(
    'Race lab',
    counters,
    `<h2>Race lab</h2>
<p>Fire a burst of overlapping <code>POST /api/hit</code> requests at your own session. Each one
reads <code>hits</code>, adds one, waits the simulated rendering time, and saves.
With <code>exclusive</code> leases every success is counted; with <code>none</code> (what most
session libraries do) overlapping requests overwrite each other; <code>optimistic</code>
refuses the losers with 409 instead of losing them silently.</p>
<form id="lab">
  <label>Requests <input type="number" name="n" value="50" min="1" max="1000"></label>
  <label>Rendering per request, ms <input type="number" name="work" value="50" min="0" max="5000"></label>
  <fieldset><legend>Lock</legend>
    <label><span><input type="radio" name="lock" value="exclusive" checked> exclusive</span></label>
    <label><span><input type="radio" name="lock" value="optimistic"> optimistic</span></label>
    <label><span><input type="radio" name="lock" value="none"> none</span></label>
  </fieldset>
  <button type="submit">Fire</button>
</form>
<p id="state" class="note">Browsers keep about six requests per site open at once; the rest queue in the browser.</p>
<table>
  <thead><tr><th>Lock</th><th>Sent</th><th>Succeeded (expected)</th><th>Refused</th><th>Failed</th><th>Counted</th><th>Lost</th><th>Time</th></tr></thead>
  <tbody id="runs"></tbody>
</table>
<script type="module">${RACE_SCRIPT}</script>`,
  );
}
