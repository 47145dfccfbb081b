import test from 'ava';
import { effectiveCmdline } from '../../../src/vm/load-payload.js';

test("the platform's additions follow a Linux command line, and never reach other payloads", (t) => {
  t.is(effectiveCmdline('console=ttyS0', true, ['noxsave', 'nofsgsbase']), 'console=ttyS0 noxsave nofsgsbase');
  t.is(effectiveCmdline('', true, ['noxsave']), 'noxsave');
  t.is(effectiveCmdline('200000', false, ['noxsave']), '200000');
  t.is(effectiveCmdline('console=ttyS0', true, []), 'console=ttyS0');
});

test('they go before " -- ", whose rest belongs to init', (t) => {
  t.is(effectiveCmdline('console=ttyS0 -- -x init-arg', true, ['noxsave']), 'console=ttyS0 noxsave -- -x init-arg');
  t.is(effectiveCmdline('-- only-init', true, ['noxsave']), 'noxsave -- only-init');
  t.is(effectiveCmdline('a--b c', true, ['noxsave']), 'a--b c noxsave', 'a "--" inside a word is not the separator');
});
