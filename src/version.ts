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

/**
 * The Cloud Hypervisor release whose API nodevmm answers for, as `cloud-hypervisor --version` reports
 * it to CH's clients. libvirt's ch driver switches features on by this number; nodevmm has those of 18
 * (serial and console together), 22 (tap fds sent with vm.add-net), 28 (the payload API) and 36 (a
 * serial port on a Unix socket), not 40's (restore with new net fds): it claims 36 (docs/API.md).
 */
export const CLOUD_HYPERVISOR_API_VERSION = '36.0.0';

/** `--version`'s line: nodevmm's own, or Cloud Hypervisor's form when run under that name. */
export function versionLine(programName: string): string {
  if (programName === 'cloud-hypervisor') return `cloud-hypervisor v${CLOUD_HYPERVISOR_API_VERSION}-nodevmm${VERSION}\n`;
  return `nodevmm ${VERSION}\n`;
}
