#!/usr/bin/env node
// `nodevmm`: the VMM runner (see `nodevmm --help`). The signal gate comes first and the VMM is loaded
// after it, so that a SIGTERM during start-up still ends the VMM in order (src/cli/early-signals.ts).
// Run through a link named `cloud-hypervisor` (the package's second name for this file, which is how
// libvirt's ch driver finds a VMM), `--version` answers in Cloud Hypervisor's form; all else is the same.
import { holdSignals } from '../dist/src/cli/early-signals.js';

holdSignals();
const { main } = await import('../dist/src/cli/main.js');
const programName = (process.argv[1] ?? '').split('/').pop();
process.exit(await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, programName }));
