// express-session with session-file-store (its defaults: retries, JSON files in `path`).
import { join } from 'node:path';
import session from 'express-session';
import createFileStore from 'session-file-store';
import { startExpressSession } from './_express-session.js';
import type { Contender } from './_serve.js';

const FileStore = createFileStore(session);

/** Start this contender's server on a free loopback port. */
const start: Contender = ({ secret, tmpDir }) =>
  startExpressSession(secret, new FileStore({ path: join(tmpDir, 'peer-sessions') }));
export default start;
