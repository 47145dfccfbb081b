#!/usr/bin/env node
// `nodevmm-remote`: drives a running nodevmm over its API socket (see `nodevmm-remote --help`).
import { remoteMain } from '../dist/src/cli/remote.js';

process.exitCode = await remoteMain(process.argv.slice(2));
