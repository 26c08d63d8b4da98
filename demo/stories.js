// The front page of the demo's news site. Invented headlines; the first one retells the
// 2006 mod_python mailing-list thread this demo is built on (seed 000).

/**
 * @typedef {object} Story
 * @property {string} id  URL slug, also the id kept in the session's `read` list.
 * @property {string} section
 * @property {string} title
 * @property {string} body  One paragraph of plain text.
 */

/** @type {readonly Story[]} */
export const stories = Object.freeze([
  {
    id: 'hit-counter-undercounts',
    section: 'Technology',
    title: 'Reader opens six tabs, hit counter says one',
    body: 'A morning reader who opens every interesting story in its own tab found that the site remembered only one of them. Engineers blame two requests that each read the counter, added one, and saved: whichever saved last won.',
  },
  {
    id: 'session-lock-returns',
    section: 'Technology',
    title: 'Session locking, last seen in 2006, makes a comeback',
    body: 'A per-session lock lets one request of a visitor finish its read-modify-write before the next one starts. Old Python and PHP hands call it obvious; Node developers call it news.',
  },
  {
    id: 'council-votes-on-bike-lanes',
    section: 'City',
    title: 'Council votes 7 to 4 to paint the bike lanes green',
    body: 'After a four-hour meeting the council agreed on the colour, though not yet on the budget. A second vote on the paint supplier is expected next month.',
  },
  {
    id: 'bakery-sourdough-queue',
    section: 'City',
    title: 'Queue outside the corner bakery reaches the tram stop',
    body: 'The bakery credits its new sourdough; neighbours credit the closed supermarket. Either way, the last loaf went at 9:40.',
  },
  {
    id: 'library-late-fees',
    section: 'City',
    title: 'Library forgives every late fee for one week',
    body: 'Books returned by Sunday come back with no questions asked. One reader brought back a cookbook borrowed in 1998.',
  },
  {
    id: 'river-cleanup-record',
    section: 'Environment',
    title: 'River clean-up volunteers pull out 3 tonnes and a piano',
    body: 'Two hundred volunteers spent Saturday on the banks. Nobody can explain the piano, which was missing two keys and still in tune.',
  },
  {
    id: 'heatwave-warning',
    section: 'Weather',
    title: 'Forecasters warn of a short, dry heatwave',
    body: 'Temperatures should peak on Thursday and break with storms over the weekend. Water your tomatoes in the evening, not at noon.',
  },
  {
    id: 'chess-prodigy',
    section: 'Sport',
    title: 'Eleven-year-old draws against the national chess champion',
    body: 'The simultaneous exhibition had forty boards; only one ended in a handshake before move thirty.',
  },
  {
    id: 'cup-final-extra-time',
    section: 'Sport',
    title: 'Cup final decided in the last minute of extra time',
    body: 'A header from a substitute who had been on the pitch for four minutes settled a final that had looked destined for penalties.',
  },
  {
    id: 'museum-night',
    section: 'Culture',
    title: 'Museums stay open until midnight this Saturday',
    body: 'Twelve museums take part, with one ticket for all of them and a night bus between them every fifteen minutes.',
  },
  {
    id: 'orchestra-new-hall',
    section: 'Culture',
    title: 'Orchestra moves into a hall with "almost too good" acoustics',
    body: 'Musicians say they can hear every cough in the back row; the audience says the same about the musicians.',
  },
  {
    id: 'sweeper-spares-live-session',
    section: 'Technology',
    title: 'Night-shift sweeper deletes expired sessions, spares a live one',
    body: 'The clean-up job checks the expiry again inside its own delete, so a visitor who came back at the last second keeps their session.',
  },
]);

/** @type {ReadonlyMap<string, Story>} */
const byId = new Map(stories.map((story) => [story.id, story]));

/**
 * The story with this id, or undefined.
 * @param {string} id
 * @returns {Story | undefined}
 */
export function findStory(id) {
  return byId.get(id);
}
