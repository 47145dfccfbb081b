#!/usr/bin/env node
// `nodevmm`: the VMM runner (see `nodevmm --help`). The signal gate comes first and the VMM is loaded
// after it, so that a SIGTERM during start-up still ends the VMM in order (src/cli/early-signals.ts).
import { holdSignals } from '../dist/src/cli/early-signals.js';

holdSignals();
const { main } = await import('../dist/src/cli/main.js');
process.exit(await main(process.argv.slice(2)));
