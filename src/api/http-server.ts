// The REST API server: HTTP/1.1 on a Unix socket, Cloud Hypervisor's endpoints over a Vmm. Every
// request gets a precise answer (LIFECYCLE.md §4); nothing a client sends — garbage, huge bodies,
// dropped connections — can hurt the VMM.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Vmm } from './vmm.js';
import { route } from './rest-endpoints.js';
import { RestError, errorReply } from './rest-status.js';
import { DEFAULT_BODY_LIMIT, checkDeclaredLength, readBody } from './http-body.js';
import { listenOnSocket, type ApiSocketTarget, type BoundSocket } from '../host/listen-socket.js';
import { FdPassingSocket, closeFds, readWithFdPassing } from '../host/fd-passing-socket.js';

export type { ApiSocketTarget } from '../host/listen-socket.js';

export interface ApiServerOptions {
  /** the largest request body accepted (bytes); default 1 MiB */
  bodyLimit?: number;
  log?: (message: string) => void;
}

/** How long close() lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 1000;

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: unknown): void {
  const reply = errorReply(error);
  if (response.headersSent || response.destroyed) return;
  sendJson(response, reply.status, reply.body, reply.headers);
}

function parseJsonBody(raw: Buffer, endpoint: string): unknown {
  if (raw.length === 0) throw new RestError(400, `${endpoint} needs a JSON body`);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new RestError(400, `malformed JSON in the ${endpoint} body`, {}, { cause: error });
  }
}

function requestPath(request: IncomingMessage): string {
  try {
    return new URL(request.url ?? '/', 'http://localhost').pathname;
  } catch (error) {
    throw new RestError(400, `malformed request target ${request.url}`, {}, { cause: error });
  }
}

/** A whole HTTP response for a connection the parser gave up on (no IncomingMessage exists). */
function rawErrorResponse(status: number, message: string): string {
  const body = JSON.stringify([message]);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** The request handler, separate from any socket so it can be driven directly. */
export function createApiHandler(vmm: Vmm, options: ApiServerOptions = {}): (request: IncomingMessage, response: ServerResponse) => void {
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = options.log ?? (() => {});
  return (request, response) => {
    void (async () => {
      let fds: number[] = [];
      let fdsTaken = false;
      try {
        const raw = await readBody(request, limit);
        // Descriptors come with the request's first bytes: all of them are here once its body is.
        if (request.socket instanceof FdPassingSocket) fds = request.socket.takeFds();
        const pathname = requestPath(request);
        const { name, endpoint } = route(request.method ?? '', pathname);
        const body = endpoint.body === 'json' ? parseJsonBody(raw, name) : undefined;
        const reply = await endpoint.handle(vmm, body, fds);
        fdsTaken = endpoint.takesFds === true;
        if (reply.status === 204) {
          response.writeHead(204, endpoint.afterReply ? { Connection: 'close' } : {});
          response.end(() => endpoint.afterReply?.(vmm));
        } else {
          sendJson(response, reply.status, reply.body);
        }
        log(`api: ${request.method} ${pathname} → ${reply.status}`);
      } catch (error) {
        const reply = errorReply(error);
        log(`api: ${request.method} ${request.url} → ${reply.status} ${reply.body.join(': ')}`);
        sendError(response, error);
      } finally {
        if (!fdsTaken) closeFds(fds);
      }
    })();
  };
}

export class ApiServer {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly server: Server,
    private readonly socket: BoundSocket,
    private readonly log: (message: string) => void,
  ) {}

  /** The socket file, when nodevmm created it (path=P). */
  get path(): string | undefined {
    return this.socket.path;
  }

  /**
   * Serves the REST API for `vmm` on a Unix socket, until close() or until the VMM exits. Throws
   * VmmError('invalid-config') when the socket cannot be set up (path in use, bad fd).
   */
  static async start(vmm: Vmm, target: ApiSocketTarget, options: ApiServerOptions = {}): Promise<ApiServer> {
    const log = options.log ?? (() => {});
    const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    const handler = createApiHandler(vmm, options);
    const server = createServer(
      // A Unix socket has no host to name: clients that send no Host header are served too.
      { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, requireHostHeader: false },
      handler,
    );
    readWithFdPassing(server);
    // A client that half-closes after its requests (curl does, so does a pipelining one) still gets
    // every answer: the server ends its side after the last response, not at the client's end.
    // (Node sets this internally for net.Socket connections; the fd-passing wrapper needs it said.)
    (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
      // Expect: 100-continue lets a client learn of a 413 before it sends the body.
      try {
        checkDeclaredLength(request, limit);
      } catch (error) {
        // The client will not send the body it announced: this connection cannot carry another request.
        response.setHeader('Connection', 'close');
        sendError(response, error);
        return;
      }
      response.writeContinue();
      handler(request, response);
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      // Bytes that are not HTTP, oversized headers, a stalled request: answer if still possible, then
      // drop that connection only.
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const reason = error.code ?? error.message;
      const timedOut = reason === 'ERR_HTTP_REQUEST_TIMEOUT';
      const status = reason === 'HPE_HEADER_OVERFLOW' ? 431 : timedOut ? 408 : 400;
      log(`api: bad request (${reason}) → ${status}`);
      socket.end(rawErrorResponse(status, timedOut ? 'the request did not arrive in time' : `malformed HTTP request (${reason})`));
    });
    const socket = await listenOnSocket(server, target);
    const api = new ApiServer(server, socket, log);
    log(`api: listening on ${'path' in target ? target.path : `fd ${target.fd}`}`);
    void vmm.exited.then(() => api.close());
    return api;
  }

  /** Stops accepting, lets requests in flight finish (briefly), removes the socket file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const cut = setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS);
      this.server.close(() => {
        clearTimeout(cut);
        this.socket.release();
        this.log('api: closed');
        resolve();
      });
      this.server.closeIdleConnections();
      // The file goes at once: a client must not connect to a VMM that is going away.
      this.socket.release();
    });
    return this.closing;
  }
}
