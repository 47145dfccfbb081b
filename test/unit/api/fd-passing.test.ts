// Descriptors passed with API requests (SCM_RIGHTS), as libvirt's ch driver sends tap fds with
// vm.add-net: raw HTTP over one connection, each request sent with one sendmsg, as libvirt does. The
// server keeps the descriptors that come with vm.add-net, and closes any that come with anything
// else or with a request it refuses; vm.delete closes what the config held. No KVM needed: the nets
// join a VM that is only created.
import test, { type ExecutionContext } from 'ava';
import { closeSync, mkdtempSync, openSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vmm } from '../../../src/api/vmm.js';
import { ApiServer } from '../../../src/api/http-server.js';
import { ApiClient } from '../../../src/api/remote-client.js';
import { guestPath, waitFor } from '../../helpers/project.js';
import { exchange } from '../../helpers/raw-http.js';
import { rawClient } from '../../helpers/fd-client.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-fds-'));

/** What each of this process's descriptors is open on. */
const openFiles = (): Map<number, string> =>
  new Map(readdirSync('/proc/self/fd').flatMap((name) => {
    try {
      return [[Number(name), readlinkSync(`/proc/self/fd/${name}`)] as [number, string]];
    } catch {
      return [];
    }
  }));

/** An API server on a VMM that boots nothing, ended with the test; its socket's path. */
async function serve(t: ExecutionContext, name: string): Promise<string> {
  const vmm = new Vmm({ quirks: 'off' });
  const socket = join(tmp, name);
  const server = await ApiServer.start(vmm, { path: socket });
  t.teardown(async () => {
    await server.close();
    await vmm.shutdown('api').catch(() => {});
  });
  return socket;
}

test('vm.add-net takes the tap fds sent with it, one request after another on one connection; others close what they get', async (t) => {
  const socket = await serve(t, 'api.sock');
  t.is((await new ApiClient(socket).request('PUT', 'vm.create', JSON.stringify({ payload: { kernel: guestPath('hello') } }))).status, 204);
  const client = rawClient(socket);
  t.teardown(() => client.close());

  // Stand-ins for taps: the server checks a tap when the VM boots, not when the net is added.
  const first = openSync('/dev/null', 'r');
  const second = openSync('/dev/zero', 'r');
  const net = (id: string, mac: string) => JSON.stringify({ id, mac, num_queues: 2, queue_size: 256 });
  t.is((await client.send('PUT', 'vm.add-net', net('net_0', '52:54:00:00:00:01'), [first])).status, 204);
  t.is((await client.send('PUT', 'vm.add-net', net('net_1', '52:54:00:00:00:02'), [second])).status, 204);
  const info = JSON.parse((await new ApiClient(socket).request('GET', 'vm.info')).text) as { config: { net: Array<{ id: string; fds: number[] }> } };
  t.deepEqual(info.config.net.map((n) => n.id), ['net_0', 'net_1']);
  // The VM holds its own copies, open on the files sent.
  const files = openFiles();
  t.is(files.get(info.config.net[0].fds[0]), '/dev/null');
  t.is(files.get(info.config.net[1].fds[0]), '/dev/zero');
  t.not(info.config.net[0].fds[0], first);

  // A refused add-net and a request that wants no descriptors: what came with them is closed. Each
  // sends a file of its own, and the test closes its copy once sent: no descriptor may stay on it.
  const marked = (name: string): { fd: number; path: string } => {
    const path = join(tmp, name);
    writeFileSync(path, name);
    return { fd: openSync(path, 'r'), path };
  };
  const refusedFile = marked('refused');
  const refused = await client.send('PUT', 'vm.add-net', JSON.stringify({ id: 'net_0' }), [refusedFile.fd]);
  t.is(refused.status, 400);
  t.regex(refused.text, /net_0 is used by another net/);
  const pingFile = marked('ping');
  t.is((await client.send('GET', 'vmm.ping', '', [pingFile.fd])).status, 200);
  for (const file of [refusedFile, pingFile]) closeSync(file.fd);
  const stillOpen = (): string[] => [...openFiles().values()].filter((path) => path === refusedFile.path || path === pingFile.path);
  await waitFor(() => stillOpen().length === 0, 2000, 'the server closing what it did not keep').catch(() => {});
  t.deepEqual(stillOpen(), []);

  // vm.delete forgets the config, and the descriptors it held close with it.
  const held = info.config.net.map((n) => n.fds[0]);
  t.is((await new ApiClient(socket).request('PUT', 'vm.delete')).status, 204);
  const after = openFiles();
  t.deepEqual(held.filter((fd) => after.get(fd) === '/dev/null' || after.get(fd) === '/dev/zero'), [], 'the deleted config\'s fds are closed');
});

test('vm.add-net without passed fds: a tap by name is taken; fds given as numbers in its body or in vm.create\'s are refused', async (t) => {
  const socket = await serve(t, 'api2.sock');
  const api = new ApiClient(socket);
  t.is((await api.request('PUT', 'vm.add-net', JSON.stringify({ tap: 'tap0' }))).status, 404, 'no VM yet');
  // nor may vm.create name descriptors: they would be the VMM's own (its API socket, say)
  const created = await api.request('PUT', 'vm.create', JSON.stringify({ payload: { kernel: guestPath('hello') }, net: [{ fds: [3] }] }));
  t.is(created.status, 400);
  t.regex(created.text, /net\[0\]\.fds would name this VMM's own descriptors.*vm\.add-net/);
  await api.request('PUT', 'vm.create', JSON.stringify({ payload: { kernel: guestPath('hello') } }));
  t.is((await api.request('PUT', 'vm.add-net', JSON.stringify({ tap: 'tap0' }))).status, 204);
  const numbers = await api.request('PUT', 'vm.add-net', JSON.stringify({ fds: [3] }));
  t.is(numbers.status, 400);
  t.regex(numbers.text, /SCM_RIGHTS/);
  t.is((await api.request('PUT', 'vm.add-net', '[]')).status, 400);
});

test('a client that sends pipelined requests and half-closes gets every answer, in order', async (t) => {
  const socket = await serve(t, 'api3.sock');
  const ping = 'GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n';
  const info = 'GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n\r\n';
  const pipelined = await exchange(socket, Buffer.from(ping + info + ping), { expected: 3 });
  t.deepEqual(pipelined.responses.map((r) => r.status), [200, 404, 200]);
  const single = await exchange(socket, Buffer.from('PUT /api/v1/vm.boot HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'));
  t.deepEqual(single.responses.map((r) => r.status), [404]);
});
