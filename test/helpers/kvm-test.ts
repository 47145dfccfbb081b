// Tests that run real guests: they need /dev/kvm, and are skipped — loudly — only where it is absent.
import test from 'ava';
import { kvmAvailable, warnNoKvm } from './project.js';

const available = kvmAvailable();
if (!available) warnNoKvm();

export const kvmTest = (available ? test : test.skip) as typeof test.skip;
export const kvmSerialTest = (available ? test.serial : test.serial.skip) as typeof test.serial.skip;
