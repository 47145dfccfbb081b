// A client of the REST API over its Unix socket: raw requests for tools and tests, typed calls for
// programs. Each request uses its own connection (agent: false): Node's keep-alive agent would reuse a
// connection to a VMM that has since gone away.
import { request as httpRequest } from 'node:http';
import { API_BASE, type RestVmCounters, type VmmPingResponse } from './rest-endpoints.js';
import type { RestVmInfo as VmInfo } from './rest-endpoints.js';

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** the body as text ('' for none) */
  text: string;
}

/** The VMM answered with a status other than 2xx. */
export class ApiError extends Error {
  constructor(
    readonly endpoint: string,
    readonly status: number,
    /** the VMM's error chain (its JSON array), or the raw body when it was not one */
    readonly messages: string[],
  ) {
    super(`${endpoint}: ${status} ${messages.join(': ') || '(no message)'}`);
    this.name = 'ApiError';
  }
}

/** No answer: no socket, nobody listening, the connection dropped, or the reply was not HTTP. */
export class ApiConnectionError extends Error {
  constructor(
    readonly endpoint: string,
    /** what went wrong, without the endpoint */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${endpoint}: ${reason}`, options);
    this.name = 'ApiConnectionError';
  }
}

/** Reads an error body: CH's JSON array of strings, or whatever text came. */
export function errorMessages(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed)) return parsed.map(String);
    if (typeof parsed === 'string') return [parsed];
  } catch {
    // not JSON
  }
  return text.trim() === '' ? [] : [text.trim()];
}

export class ApiClient {
  constructor(
    readonly socketPath: string,
    private readonly options: { timeoutMs?: number } = {},
  ) {}

  /** One request; resolves with any HTTP status, rejects only when no answer came. */
  request(method: string, endpoint: string, body?: string | Buffer): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { Accept: 'application/json' };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      const req = httpRequest(
        { socketPath: this.socketPath, path: API_BASE + endpoint, method, headers, agent: false, timeout: this.options.timeoutMs ?? 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (error) => reject(new ApiConnectionError(endpoint, `reply cut short: ${error.message}`, { cause: error })));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs ?? 60_000} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => reject(new ApiConnectionError(endpoint, describeConnectionError(this.socketPath, error), { cause: error })));
      req.end(body);
    });
  }

  ping(): Promise<VmmPingResponse> {
    return this.json('GET', 'vmm.ping') as Promise<VmmPingResponse>;
  }
  info(): Promise<VmInfo> {
    return this.json('GET', 'vm.info') as Promise<VmInfo>;
  }
  counters(): Promise<RestVmCounters> {
    return this.json('GET', 'vm.counters') as Promise<RestVmCounters>;
  }
  /** vm.create with a VmConfig (an object, or JSON text sent as is). */
  createVm(config: unknown): Promise<void> {
    return this.put('vm.create', typeof config === 'string' ? config : JSON.stringify(config));
  }
  boot(): Promise<void> {
    return this.put('vm.boot');
  }
  shutdownVm(): Promise<void> {
    return this.put('vm.shutdown');
  }
  reboot(): Promise<void> {
    return this.put('vm.reboot');
  }
  pause(): Promise<void> {
    return this.put('vm.pause');
  }
  resume(): Promise<void> {
    return this.put('vm.resume');
  }
  deleteVm(): Promise<void> {
    return this.put('vm.delete');
  }
  powerButton(): Promise<void> {
    return this.put('vm.power-button');
  }
  /** vmm.shutdown: the VMM answers, then exits. */
  shutdownVmm(): Promise<void> {
    return this.put('vmm.shutdown');
  }

  private async json(method: string, endpoint: string): Promise<unknown> {
    const response = await this.checked(method, endpoint);
    try {
      return JSON.parse(response.text);
    } catch (error) {
      throw new ApiConnectionError(endpoint, `the reply is not JSON: ${response.text.slice(0, 200)}`, { cause: error });
    }
  }

  private async put(endpoint: string, body?: string): Promise<void> {
    await this.checked('PUT', endpoint, body);
  }

  private async checked(method: string, endpoint: string, body?: string): Promise<ApiResponse> {
    const response = await this.request(method, endpoint, body);
    if (response.status < 200 || response.status > 299) throw new ApiError(endpoint, response.status, errorMessages(response.text));
    return response;
  }
}

function describeConnectionError(socketPath: string, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return `no API socket at ${socketPath} (is nodevmm running with --api-socket?)`;
    case 'ECONNREFUSED':
      return `nothing listens on ${socketPath} (the VMM that made it has gone)`;
    case 'EACCES':
      return `no permission to use ${socketPath}`;
    default:
      return `cannot talk to the VMM at ${socketPath}: ${error.message}`;
  }
}
