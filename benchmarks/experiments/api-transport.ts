// What reading API connections with recvmsg costs (src/host/fd-passing-socket.ts, for libvirt's tap
// fds) against Node's own socket reads: two HTTP servers on Unix sockets with the same trivial
// handler, one plain and one through readWithFdPassing, asked N requests on one keep-alive
// connection and N on a new connection each, alternating rounds. No KVM needed.
//   node dist/benchmarks/experiments/api-transport.js [N] [ROUNDS]
import { createServer, request, Agent, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWithFdPassing } from '../../src/host/fd-passing-socket.js';
import { summarize } from '../lib/stats.js';

const N = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 7);
const dir = mkdtempSync(join(tmpdir(), 'nodevmm-api-transport-'));

async function serve(name: string, fdPassing: boolean): Promise<{ path: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"version":"x"}'));
  });
  if (fdPassing) {
    readWithFdPassing(server);
    (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  }
  const path = join(dir, `${name}.sock`);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, server };
}

function get(path: string, agent: Agent | false): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: '/api/v1/vmm.ping', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

/** µs per request over `N` sequential requests. */
async function timed(path: string, keepAlive: boolean): Promise<number> {
  const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
  const started = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await get(path, agent);
  const us = Number(process.hrtime.bigint() - started) / 1000 / N;
  if (agent) agent.destroy();
  return us;
}

const plain = await serve('plain', false);
const passing = await serve('fd-passing', true);
const results: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const keepAlive of [true, false]) {
    for (const [name, target] of round % 2 ? [['fd-passing', passing], ['plain', plain]] as const : [['plain', plain], ['fd-passing', passing]] as const) {
      (results[`${name}, ${keepAlive ? 'one keep-alive connection' : 'a connection per request'}`] ??= []).push(await timed(target.path, keepAlive));
    }
  }
}
for (const [what, values] of Object.entries(results)) {
  const s = summarize(values);
  process.stdout.write(`${what}: ${s.median.toFixed(1)} µs per request [${s.q1.toFixed(1)}–${s.q3.toFixed(1)}]\n`);
}
plain.server.close();
passing.server.close();
rmSync(dir, { recursive: true, force: true });
