// How a test gets a service's URL: from the environment `npm test` (scripts/test.ts)
// prepared, or from the user's own server. A missing service fails the test with a
// message saying how to provide it; it never skips.
import { SERVICE_ENV, SERVICE_ERROR_ENV, type ServiceName } from './names.js';

/**
 * The URL of `name` (for `redis-cluster`, the comma list of node URLs), or an error
 * naming what to do. `scripts/test.ts` finds which services a test file needs by
 * looking for calls of this function, so call it with a string literal.
 */
export function requireServiceUrl(name: ServiceName): string {
  const variable = SERVICE_ENV[name];
  const url = process.env[variable];
  if (url !== undefined && url !== '') return url;
  const reason = process.env[SERVICE_ERROR_ENV[name]];
  throw new Error(
    reason !== undefined
      ? `the ${name} test service could not be started: ${reason}`
      : `this test needs ${name}: run it through \`node --import tsx scripts/test.ts <file filter>\` (or \`npm test\`), which starts a private server, or set ${variable} to your own`,
  );
}

/** {@link requireServiceUrl} split into a list, for services with several nodes. */
export function requireServiceUrls(name: ServiceName): string[] {
  return requireServiceUrl(name).split(',').map((url) => url.trim()).filter((url) => url !== '');
}
