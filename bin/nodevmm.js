#!/usr/bin/env node
// `nodevmm`: the VMM runner (see `nodevmm --help`).
import { main } from '../dist/src/cli/main.js';

process.exit(await main(process.argv.slice(2)));
