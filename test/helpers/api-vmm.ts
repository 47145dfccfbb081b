// Starting nodevmm with an API socket and talking to it over that socket, for the REST API tests.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ApiClient, type ApiResponse } from '../../src/api/remote-client.js';
import { loadOpenApi, responseProblems, errorBodyProblems } from './openapi.js';
import { ROOT, startVmm, waitFor, type RunningVmm, type StartOptions } from './project.js';
import { scaled } from './timing.js';

export const REMOTE_BIN = join(ROOT, 'bin', 'nodevmm-remote.js');

const tmp = mkdtempSync(join(tmpdir(), 'nodevmm-api-'));
let sockets = 0;

/** A fresh socket path in the test's private directory. */
export function socketPath(): string {
  return join(tmp, `api-${process.pid}-${sockets++}.sock`);
}

export function tmpFile(name: string): string {
  return join(tmp, name);
}

export interface ApiVmm extends RunningVmm {
  socket: string;
  api: ApiClient;
  /** a request whose response must match docs/openapi.yaml (throws otherwise) */
  call(method: string, endpoint: string, body?: unknown): Promise<ApiResponse & { json?: unknown }>;
  /** SIGTERM if still running; resolves on exit */
  stop(): Promise<void>;
}

const doc = loadOpenApi();

/** Checks a response against the shipped OpenAPI document; returns it with its JSON body parsed. */
export function checked(method: string, endpoint: string, response: ApiResponse): ApiResponse & { json?: unknown } {
  const documented = doc.paths[`/${endpoint}`]?.[method.toLowerCase()];
  const problems = documented ? responseProblems(doc, method, endpoint, response) : errorBodyProblems(doc, response);
  if (problems.length > 0) throw new Error(`response does not match docs/openapi.yaml:\n${problems.join('\n')}`);
  let json: unknown;
  try {
    json = response.text === '' ? undefined : JSON.parse(response.text);
  } catch {
    json = undefined;
  }
  return { ...response, json };
}

/** Starts `nodevmm --api-socket path=… ARGS` and waits until the socket answers vmm.ping. */
export async function startApiVmm(args: string[] = [], options: Omit<StartOptions, 'env'> & { socket?: string } = {}): Promise<ApiVmm> {
  const socket = options.socket ?? socketPath();
  const vmm = startVmm(['--api-socket', `path=${socket}`, ...args], { stdin: options.stdin, prefix: options.prefix });
  const api = new ApiClient(socket, { timeoutMs: scaled(20_000) });
  await waitUntilServing(api, vmm);
  return {
    ...vmm,
    socket,
    api,
    call: async (method, endpoint, body) =>
      checked(method, endpoint, await api.request(method, endpoint, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body))),
    stop: async () => {
      if (vmm.child.exitCode === null && vmm.child.signalCode === null) vmm.child.kill('SIGTERM');
      // A VMM that ignores SIGTERM is a bug the test reports, not a reason for the run to hang.
      const timer = setTimeout(() => {
        console.error(`nodevmm ignored SIGTERM; killing it. Its stderr:\n${vmm.stderr()}`);
        vmm.child.kill('SIGKILL');
      }, scaled(15_000));
      await vmm.exited;
      clearTimeout(timer);
    },
  };
}

export async function waitUntilServing(api: ApiClient, vmm: RunningVmm, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + scaled(timeoutMs);
  for (;;) {
    if (vmm.child.exitCode !== null) throw new Error(`nodevmm exited (${vmm.child.exitCode}) before serving:\n${vmm.stderr()}`);
    if (existsSync(api.socketPath)) {
      try {
        if ((await api.request('GET', 'vmm.ping')).status === 200) return;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) throw new Error(`the API socket never answered:\n${vmm.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface RemoteRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nodevmm-remote ARGS` to completion. */
export function runRemote(args: string[], input?: string): Promise<RemoteRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [REMOTE_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** A VmConfig for a tiny guest. */
export function guestConfig(kernel: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { payload: { kernel }, memory: { size: 32 << 20 }, serial: { mode: 'Tty' }, ...extra };
}

export { waitFor };
