// VmConfig's net, as Cloud Hypervisor shapes it: a tap by name or one fd, MAC and id defaults,
// Cloud Hypervisor's defaults accepted, and refusals that name the field.
import test from 'ava';
import { parseVmConfig } from '../../../src/vmm/config.js';
import { randomMac } from '../../../src/vmm/net-config.js';
import { parseArgs, UsageError } from '../../../src/cli/args.js';
import { guestPath } from '../../helpers/project.js';

const withNet = (net: unknown) => ({ payload: { kernel: guestPath('hello') }, net });

test('nets get ids _net0..., a random locally administered MAC unless given, one queue pair of 256', (t) => {
  const config = parseVmConfig(withNet([{ tap: 'tap0' }, { fds: [5], mac: '52:54:00:AB:CD:EF', id: 'lan', ip: '192.168.249.1', mask: '255.255.255.0', offload_tso: false }]));
  const [first, second] = config.net!;
  t.like(first, { tap: 'tap0', id: '_net0', num_queues: 2, queue_size: 256, offload_csum: true, offload_tso: true });
  t.regex(first.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  t.is(parseInt(first.mac.slice(0, 2), 16) & 3, 2, 'locally administered, unicast');
  t.deepEqual(second, { fds: [5], mac: '52:54:00:ab:cd:ef', id: 'lan', num_queues: 2, queue_size: 256, offload_csum: true, offload_tso: false });
  t.not(randomMac(), randomMac());
  t.deepEqual(parseVmConfig(config).net, config.net, 'a parsed config parses to itself (restore keeps the MAC)');
});

test('bad nets are refused by field', (t) => {
  const refused: Array<[unknown, RegExp]> = [
    [{ tap: 'tap0' }, /net must be an array/],
    [[{}], /net\[0\] needs a tap \(a name\) or fds/],
    [[{ tap: 'tap0', fds: [3] }], /net\[0\] has both tap and fds/],
    [[{ tap: 'a/b' }], /net\[0\]\.tap 'a\/b' is not an interface name/],
    [[{ tap: 'x'.repeat(16) }], /is not an interface name/],
    [[{ tap: 't0' }, { tap: 't0' }], /net\[1\]\.tap t0 is used by another net/],
    [[{ tap: 't0', id: 'n' }, { tap: 't1', id: 'n' }], /net\[1\]\.id n is used by another net/],
    [[{ fds: [3, 4] }], /net\[0\]\.fds has 2 fds: nodevmm runs one queue pair/],
    [[{ fds: [-1] }], /net\[0\]\.fds\[0\] must be between 0/],
    [[{ tap: 't0', mac: '01:00:5e:00:00:01' }], /multicast/],
    [[{ tap: 't0', num_queues: 4 }], /net\[0\]\.num_queues must be between 2 and 2/],
    [[{ tap: 't0', queue_size: 100 }], /queue_size must be a power of 2/],
    [[{ tap: 't0', ip: '10.0.0.1' }], /net\[0\]\.ip is not supported/],
    [[{ tap: 't0', vhost_user: true }], /net\[0\]\.vhost_user is not supported/],
    [[{ tap: 't0', offload_csum: 'yes' }], /offload_csum must be true or false/],
  ];
  for (const [net, message] of refused) t.throws(() => parseVmConfig(withNet(net)), { message }, JSON.stringify(net));
});

test("--net in Cloud Hypervisor's form: several after one flag or repeated; fd=N and fd=[N]", (t) => {
  const o = parseArgs(['--kernel', 'k', '--net', 'tap=t0,mac=52:54:00:00:00:01', 'fd=[3],id=lan,offload_tso=off', '--net=fd=4,queue_size=128']);
  t.deepEqual(o.nets, [{ tap: 't0', mac: '52:54:00:00:00:01' }, { fds: [3], id: 'lan', offload_tso: false }, { fds: [4], queue_size: 128 }]);
  t.throws(() => parseArgs(['--kernel', 'k', '--net', 'mac=52:54:00:00:00:01']), { instanceOf: UsageError, message: /--net: expected tap=NAME or fd=N/ });
  t.throws(() => parseArgs(['--kernel', 'k', '--net', 'tap=t0,vhost=on']), { instanceOf: UsageError, message: /unknown parameter 'vhost'/ });
  t.throws(() => parseArgs(['--kernel', 'k', '--net', 'fd=x']), { instanceOf: UsageError, message: /fd must be a number/ });
  t.throws(() => parseArgs(['--kernel', 'k', '--net']), { instanceOf: UsageError, message: /--net needs a value/ });
  t.throws(() => parseArgs(['--net', 'tap=t0']), { instanceOf: UsageError, message: /need --kernel/ });
});
