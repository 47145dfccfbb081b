// The REST server in-process over a real Unix socket and a real Vmm that boots nothing (no /dev/kvm
// needed): the socket file, HTTP-level errors, hostile clients, and the requests of the §2 table that
// need no running VM.
import test from 'ava';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, lstatSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vmm } from '../../../src/api/vmm.js';
import { VmmError } from '../../../src/errors.js';
import { ApiServer } from '../../../src/api/http-server.js';
import { ApiClient, type ApiResponse } from '../../../src/api/remote-client.js';
import { guestPath } from '../../helpers/project.js';
import { checked } from '../../helpers/api-vmm.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-http-'));
let n = 0;
const socketPath = (): string => join(tmp, `s${n++}.sock`);

interface Fixture {
  vmm: Vmm;
  server: ApiServer;
  socket: string;
  api: ApiClient;
  call(method: string, endpoint: string, body?: string): Promise<ApiResponse & { json?: unknown }>;
  end(): Promise<void>;
}

async function serve(options: { bodyLimit?: number } = {}): Promise<Fixture> {
  const vmm = new Vmm({ quirks: 'off' });
  const socket = socketPath();
  const server = await ApiServer.start(vmm, { path: socket }, options);
  const api = new ApiClient(socket);
  return {
    vmm,
    server,
    socket,
    api,
    call: async (method, endpoint, body) => checked(method, endpoint, await api.request(method, endpoint, body)),
    end: async () => {
      await vmm.shutdown();
      await server.close();
    },
  };
}

/** Sends raw bytes on a fresh connection; resolves with everything the server sent before closing. */
function rawExchange(socket: string, bytes: Buffer | string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = connect({ path: socket });
    let reply = '';
    const timer = setTimeout(() => {
      connection.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(reply)}`));
    }, timeoutMs);
    connection.on('data', (chunk) => (reply += chunk.toString('latin1')));
    connection.on('error', () => {});
    connection.on('close', () => {
      clearTimeout(timer);
      resolve(reply);
    });
    connection.write(bytes);
  });
}

const config = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ payload: { kernel: guestPath('poweroff') }, memory: { size: 32 << 20 }, ...extra });

test('the socket file is owner-only while it exists and is gone after close()', async (t) => {
  const f = await serve();
  const mode = statSync(f.socket).mode;
  t.true(lstatSync(f.socket).isSocket());
  t.is(mode & 0o777, 0o600, `mode ${(mode & 0o777).toString(8)}`);
  t.is((await f.api.request('GET', 'vmm.ping')).status, 200);
  await f.end();
  t.false(existsSync(f.socket));
});

test('vmm.shutdown: 204, then the VMM ends with status 0 and the socket file goes', async (t) => {
  const f = await serve();
  const reply = await f.call('PUT', 'vmm.shutdown');
  t.is(reply.status, 204);
  t.deepEqual(await f.vmm.exited, { code: 0, reason: 'api' });
  await f.server.close();
  t.false(existsSync(f.socket));
  await t.throwsAsync(f.api.request('GET', 'vmm.ping'), { message: /no API socket/ });
});

test('a stale socket file (a VMM killed with SIGKILL) is replaced; a live one or a non-socket is refused', async (t) => {
  const first = await serve();
  // A live socket: refused, and left alone.
  const error = await t.throwsAsync(ApiServer.start(new Vmm({ quirks: 'off' }), { path: first.socket }));
  t.true(error instanceof VmmError && error.kind === 'invalid-config');
  t.regex(error!.message, /in use by another process/);
  t.is((await first.api.request('GET', 'vmm.ping')).status, 200);

  // A stale one: simulate the dead VMM by listening on a socket and never unlinking it.
  const stale = socketPath();
  const child = (await import('node:child_process')).spawnSync(process.execPath, [
    '-e',
    `const s=require('net').createServer().listen(${JSON.stringify(stale)},()=>process.kill(process.pid,'SIGKILL'))`,
  ]);
  t.is(child.signal, 'SIGKILL');
  t.true(lstatSync(stale).isSocket(), 'the dead process left its socket file');
  const vmm = new Vmm({ quirks: 'off' });
  const second = await ApiServer.start(vmm, { path: stale });
  t.is((await new ApiClient(stale).request('GET', 'vmm.ping')).status, 200);
  await vmm.shutdown();
  await second.close();

  const file = join(tmp, 'not-a-socket');
  writeFileSync(file, 'precious');
  await t.throwsAsync(ApiServer.start(new Vmm({ quirks: 'off' }), { path: file }), { message: /exists and is not a socket/ });
  t.is(readFileSync(file, 'utf8'), 'precious');
  await first.end();
});

test('targets that cannot work are refused up front, naming the problem', async (t) => {
  const vmm = new Vmm({ quirks: 'off' });
  const long = join(tmp, 'x'.repeat(120) + '.sock');
  await t.throwsAsync(ApiServer.start(vmm, { path: long }), { message: /longer than 107 bytes/ });
  t.false(existsSync(long));
  t.false(existsSync(long.slice(0, 107)), 'no truncated socket file is left');
  await t.throwsAsync(ApiServer.start(vmm, { fd: 987 }), { message: /fd=987: the descriptor is not open/ });
  const file = join(tmp, 'plain-file');
  writeFileSync(file, '');
  const fd = openSync(file, 'r');
  await t.throwsAsync(ApiServer.start(vmm, { fd }), { message: /the descriptor is not a socket/ });
  closeSync(fd);
  await vmm.shutdown();
});

test('a socket directory that any user could write is refused unless it is sticky, as /tmp is', async (t) => {
  const vmm = new Vmm({ quirks: 'off' });
  const open = join(tmp, 'world-writable');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await t.throwsAsync(ApiServer.start(vmm, { path: join(open, 'api.sock') }), {
    message: /world-writable\/api\.sock: its directory .* is writable by every user and not sticky/,
  });
  t.false(existsSync(join(open, 'api.sock')));
  await t.throwsAsync(ApiServer.start(vmm, { path: join(tmp, 'missing', 'api.sock') }), { message: /its directory .*missing cannot be used \(ENOENT\)/ });
  chmodSync(open, 0o1777);
  const server = await ApiServer.start(vmm, { path: join(open, 'api.sock') });
  t.is(statSync(join(open, 'api.sock')).mode & 0o777, 0o600);
  await vmm.shutdown();
  await server.close();
});

test('the requests of the §2 table without a VM: 404, except delete (204) and create', async (t) => {
  const f = await serve();
  for (const endpoint of ['vm.boot', 'vm.shutdown', 'vm.reboot', 'vm.pause', 'vm.resume', 'vm.power-button']) {
    const reply = await f.call('PUT', endpoint);
    t.is(reply.status, 404, endpoint);
    t.regex((reply.json as string[])[0], /no VM is created/);
  }
  t.is((await f.call('GET', 'vm.info')).status, 404);
  t.is((await f.call('GET', 'vm.counters')).status, 404);
  t.is((await f.call('PUT', 'vm.delete')).status, 204);
  t.is((await f.call('PUT', 'vm.create', config())).status, 204);
  await f.end();
});

test('Created: info answers with the config; boot is the only move besides delete; create again is 409', async (t) => {
  const f = await serve();
  t.is((await f.call('PUT', 'vm.create', config({ cpus: { boot_vcpus: 2, max_vcpus: 2 } }))).status, 204);
  const info = await f.call('GET', 'vm.info');
  t.is(info.status, 200);
  t.like(info.json, { state: 'Created', memory_actual_size: 32 << 20, config: { cpus: { boot_vcpus: 2 }, payload: { kernel: guestPath('poweroff') } } });
  for (const endpoint of ['vm.shutdown', 'vm.reboot', 'vm.pause', 'vm.resume', 'vm.power-button']) {
    const reply = await f.call('PUT', endpoint);
    t.is(reply.status, 409, endpoint);
    t.regex((reply.json as string[])[0], /in state Created/);
  }
  const again = await f.call('PUT', 'vm.create', config());
  t.is(again.status, 409);
  t.regex((again.json as string[])[0], /already created/);
  const counters = await f.call('GET', 'vm.counters');
  t.like(counters.json, { lifecycle: { boots: 0 } });
  t.is((await f.call('PUT', 'vm.delete')).status, 204);
  t.is((await f.call('GET', 'vm.info')).status, 404);
  await f.end();
});

test('vm.create: malformed JSON, no body and invalid configs are 400 with a message that names the problem', async (t) => {
  const f = await serve();
  const cases: Array<[string, RegExp]> = [
    ['{"payload": {"kernel": ', /malformed JSON/],
    ['', /needs a JSON body/],
    ['[1,2]', /VmConfig must be a JSON object/],
    ['"text"', /VmConfig must be a JSON object/],
    [JSON.stringify({ payload: { kernel: join(tmp, 'missing.elf') } }), /kernel .*missing\.elf does not exist/],
    [config({ cpus: { boot_vcpus: 0 } }), /cpus\.boot_vcpus must be between 1/],
    [config({ memory: { size: 2 ** 50 } }), /memory\.size/],
    [config({ disks: [{ path: '/dev/null' }] }), /disks\[0\]\.path \/dev\/null is not a regular file/],
    [config({ disks: [{ path: join(tmp, 'missing.img') }] }), /disks\[0\]\.path .*missing\.img does not exist/],
    [config({ disks: [{ path: guestPath('poweroff'), vhost_user: true }] }), /disks\[0\]\.vhost_user is not supported/],
    [config({ net: [{ tap: 'tap0', mac: 'nope' }] }), /net\[0\]\.mac 'nope' is not a MAC address/],
    [config({ net: [{ tap: 'tap0', vhost_user: true }] }), /net\[0\]\.vhost_user is not supported/],
    [config({ fs: [{ tag: 'x', socket: '/tmp/v' }] }), /fs is not supported/],
    [config({ bogus: 1 }), /unknown VmConfig field: bogus/],
    [JSON.stringify({ memory: { size: 32 << 20 } }), /payload\.kernel is required/],
  ];
  for (const [body, message] of cases) {
    const reply = await f.call('PUT', 'vm.create', body);
    t.is(reply.status, 400, body);
    t.true(Array.isArray(reply.json), 'the body is a JSON array');
    t.regex((reply.json as string[]).join(': '), message, body);
  }
  t.is((await f.call('GET', 'vm.info')).status, 404, 'nothing was created');
  // The older top-level form is accepted.
  const legacy = await f.call('PUT', 'vm.create', JSON.stringify({ kernel: { path: guestPath('poweroff') }, cmdline: { args: 'x=1' } }));
  t.is(legacy.status, 204);
  t.like((await f.call('GET', 'vm.info')).json, { config: { payload: { kernel: guestPath('poweroff'), cmdline: 'x=1' } } });
  await f.end();
});

test('unknown paths are 404, wrong methods 405 with Allow, HEAD is answered where GET is', async (t) => {
  const f = await serve();
  for (const path of ['/', '/api/v1', '/api/v1/', '/api/v1/vm.nope', '/api/v2/vmm.ping', '/vmm.ping', '/api/v1/vm.coredump']) {
    const reply = await new Promise<ApiResponse>((resolve, reject) => {
      const req = httpRequest({ socketPath: f.socket, path, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.end();
    });
    t.is(reply.status, 404, path);
    t.true(Array.isArray(JSON.parse(reply.text)), path);
  }
  const cases: Array<[string, string, string]> = [
    ['GET', 'vm.boot', 'PUT'],
    ['POST', 'vm.create', 'PUT'],
    ['DELETE', 'vm.delete', 'PUT'],
    ['PUT', 'vm.info', 'GET, HEAD'],
    ['POST', 'vmm.ping', 'GET, HEAD'],
    ['PATCH', 'vm.counters', 'GET, HEAD'],
  ];
  for (const [method, endpoint, allow] of cases) {
    const reply = await f.call(method, endpoint);
    t.is(reply.status, 405, `${method} ${endpoint}`);
    t.is(reply.headers.allow, allow);
  }
  const head = await f.api.request('HEAD', 'vmm.ping');
  t.is(head.status, 200);
  t.is(head.text, '');
  await f.end();
});

test('a body over the limit is 413 and the connection stays usable; a huge declared one is refused up front', async (t) => {
  const f = await serve({ bodyLimit: 1024 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (body: Buffer | null, headers: Record<string, string> = {}): Promise<{ status: number; text: string; socket: unknown }> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ socketPath: f.socket, path: '/api/v1/vm.create', method: 'PUT', agent, headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text, socket: req.socket }));
      });
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  const big = await send(Buffer.alloc(4096, 0x20));
  t.is(big.status, 413);
  t.regex(JSON.parse(big.text)[0], /larger than 1024 bytes/);
  const next = await send(Buffer.from(config()));
  t.is(next.status, 204, 'the same keep-alive connection still works');
  t.is(next.socket, big.socket, 'it was the same connection');
  agent.destroy();

  // Expect: 100-continue lets the server refuse before the body is sent.
  const early = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({
      socketPath: f.socket,
      path: '/api/v1/vm.create',
      method: 'PUT',
      agent: false,
      headers: { Expect: '100-continue', 'Content-Length': String(1 << 30) },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('continue', () => reject(new Error('the server asked for the body')));
    req.on('error', reject);
    req.flushHeaders();
  });
  t.is(early, 413);
  // A declared length far over the limit without Expect: answered, connection closed.
  const raw = await rawExchange(f.socket, `PUT /api/v1/vm.create HTTP/1.1\r\nHost: x\r\nContent-Length: ${1 << 30}\r\n\r\n{`);
  t.regex(raw, /^HTTP\/1\.1 413 /);
  t.is((await f.api.request('GET', 'vmm.ping')).status, 200);
  await f.end();
});

test('garbage on the socket: the offending connection gets 400 (431 for huge headers) and is closed; the VMM keeps serving', async (t) => {
  const f = await serve();
  const garbage: Array<Buffer | string> = [
    'GARBAGE\r\n\r\n',
    'GET /api/v1/vmm.ping HTTP/9.9\r\n\r\n',
    'GET /api/v1/vmm.ping HTTP/1.1\r\nBad Header Line\r\n\r\n',
    'PUT /api/v1/vm.create HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
    'PUT /api/v1/vm.create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    `GET /api/v1/vmm.ping HTTP/1.1\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
    randomBytes(4096),
    Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 13, 10, 13, 10]),
  ];
  for (const bytes of garbage) {
    const reply = await rawExchange(f.socket, bytes);
    t.regex(reply, /^HTTP\/1\.1 (400|431) /, JSON.stringify(bytes.toString().slice(0, 40)));
    t.true(Array.isArray(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))), 'an ErrorBody');
  }
  // A minimal client (no Host header, HTTP/1.0) is still served.
  t.regex(await rawExchange(f.socket, 'GET /api/v1/vmm.ping HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 [^]*"version"/);
  // Connections that open and vanish, or stop halfway.
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      new Promise<void>((resolve) => {
        const c = connect({ path: f.socket });
        c.on('error', () => {});
        c.on('connect', () => {
          if (i % 2) c.write('PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"pay');
          c.destroy();
          resolve();
        });
      }),
    ),
  );
  const ping = await f.call('GET', 'vmm.ping');
  t.is(ping.status, 200);
  t.is(f.vmm.vmState, 'NotCreated');
  await f.end();
});

test('concurrent clients each get their own precise answer', async (t) => {
  const f = await serve();
  const requests = Array.from({ length: 60 }, (_, i) => {
    switch (i % 6) {
      case 0:
        return f.call('GET', 'vmm.ping').then((r) => [r.status, 200]);
      case 1:
        return f.call('PUT', 'vm.create', config()).then((r) => [r.status, r.status === 204 || r.status === 409 ? r.status : -1]);
      case 2:
        return f.call('PUT', 'vm.create', '{oops').then((r) => [r.status, 400]);
      case 3:
        return f.call('GET', 'vm.nothing').then((r) => [r.status, 404]);
      case 4:
        return f.call('PUT', 'vm.pause').then((r) => [r.status, r.status === 404 || r.status === 409 ? r.status : -1]);
      default:
        return f.call('POST', 'vm.info').then((r) => [r.status, 405]);
    }
  });
  const results = await Promise.all(requests);
  for (const [status, expected] of results) t.is(status, expected);
  const creates = results.filter((_, i) => i % 6 === 1).map(([status]) => status);
  t.is(creates.filter((s) => s === 204).length, 1, 'exactly one create wins; the others are told it exists');
  await f.end();
});
