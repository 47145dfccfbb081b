// nodevmm's version, read from package.json once: the one place it is written. Kept apart from the
// VMM so that `nodevmm-remote --version` and the REST layer load nothing else.
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  // Compiled, this module is dist/src/version.js: two levels below the package root.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== 'string') throw new Error('package.json has no version');
  return version;
}

export const VERSION = packageVersion();
