// The Cloud Hypervisor identity (issue 14): run through a link named `cloud-hypervisor`, nodevmm's
// --version answers in Cloud Hypervisor's form, which libvirt's ch driver parses at start-up: the text
// after "cloud-hypervisor ", past the last '/', without the leading 'v', cut at the first '-'.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODEVMM_BIN } from '../../helpers/project.js';
import { CLOUD_HYPERVISOR_API_VERSION, VERSION } from '../../../src/version.js';

/** libvirt 11.3's chPreProcessVersionString and the check before it, as its source does them. */
function libvirtReads(output: string): string | null {
  if (!output.startsWith('cloud-hypervisor ')) return null;
  let version = output.slice('cloud-hypervisor '.length);
  version = version.slice(version.lastIndexOf('/') + 1);
  if (version.startsWith('v')) version = version.slice(1);
  const dash = version.indexOf('-');
  return (dash >= 0 ? version.slice(0, dash) : version).trim();
}

test('as `cloud-hypervisor`, --version reads to libvirt as the claimed CH version; as `nodevmm`, it is nodevmm\'s', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-identity-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const link = join(dir, 'cloud-hypervisor');
  symlinkSync(NODEVMM_BIN, link);
  const asCh = spawnSync(link, ['--version'], { encoding: 'utf8' });
  t.is(asCh.status, 0, asCh.stderr);
  t.is(asCh.stdout, `cloud-hypervisor v${CLOUD_HYPERVISOR_API_VERSION}-nodevmm${VERSION}\n`);
  t.is(libvirtReads(asCh.stdout), CLOUD_HYPERVISOR_API_VERSION);
  // libvirt's gates (src/ch/ch_capabilities.c): below 22 it starts no domain at all (it needs
  // vm.add-net with fds even for none); 40 would promise restore with new net fds, which nodevmm lacks.
  const [major] = CLOUD_HYPERVISOR_API_VERSION.split('.').map(Number);
  t.true(major >= 36 && major < 40, `claims ${major}`);

  const asNodevmm = spawnSync(process.execPath, [NODEVMM_BIN, '--version'], { encoding: 'utf8' });
  t.is(asNodevmm.stdout, `nodevmm ${VERSION}\n`);
  t.is(libvirtReads(asNodevmm.stdout), null, 'libvirt refuses a binary that is not named cloud-hypervisor');
});
