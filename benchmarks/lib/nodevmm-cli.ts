// The `nodevmm` runner exactly as bin/nodevmm.js starts it, but importing the compiled tree this file
// is part of (dist/ or the benchmark's snapshot of it).
import { main } from '../../src/cli/main.js';

process.exit(await main(process.argv.slice(2)));
