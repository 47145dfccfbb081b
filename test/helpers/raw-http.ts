// Raw HTTP/1.1 over a Unix socket, for the API fuzzer: the bytes go out exactly as given (bad framing,
// invalid UTF-8, pipelined requests), and the responses that come back are split by their
// Content-Length, so a test can check every answer the server gave.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  responses: RawResponse[];
  /** the server closed the connection (rather than the client giving up) */
  closed: boolean;
  /** bytes after the last whole response: a malformed or cut-off one */
  rest: Buffer;
}

/** Splits `data` into whole final responses (1xx skipped); HEAD's have no body whatever their Content-Length. */
export function parseResponses(data: Buffer, heads: boolean[] = []): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = data.subarray(at, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!status) break;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const code = Number(status[1]);
    if (code < 200) {
      at = end + 4; // 100 Continue: an interim answer, the real one follows
      continue;
    }
    const length = heads[responses.length] ? 0 : Number(headers['content-length'] ?? 0);
    if (!Number.isSafeInteger(length) || end + 4 + length > data.length) break;
    responses.push({ status: Number(status[1]), headers, body: data.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return { responses, rest: data.subarray(at) };
}

/**
 * Sends `bytes` and collects what comes back until the server closes, `expected` responses have
 * arrived, or `timeoutMs` passes.
 */
export function exchange(socketPath: string, bytes: Buffer, options: { expected?: number; timeoutMs?: number; heads?: boolean[] } = {}): Promise<RawExchange> {
  const expected = options.expected ?? 1;
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponses(Buffer.concat(chunks), options.heads), closed });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 5000);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (parseResponses(Buffer.concat(chunks), options.heads).responses.length >= expected) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // the server may reset a connection it refused; what arrived before counts
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return finish(true);
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}
