// Reading a request body with a bound: a client can make the VMM hold at most `limit` bytes. An
// oversized body is drained (so the connection stays usable and the client sees the 413) unless it is
// absurdly large, in which case the connection is closed after the reply.
import type { IncomingMessage } from 'node:http';
import { RestError } from './rest-status.js';

/** Bodies are VmConfig JSON: kilobytes. 1 MiB leaves room for large configs. */
export const DEFAULT_BODY_LIMIT = 1 << 20;
/** Past this multiple of the limit the excess is not drained any more: the connection is cut. */
const DRAIN_FACTOR = 16;

function tooLarge(limit: number, closeConnection: boolean): RestError {
  return new RestError(413, `request body larger than ${limit} bytes`, closeConnection ? { Connection: 'close' } : {});
}

/** The declared Content-Length, if any (NaN when absent or not a number). */
export function declaredLength(request: IncomingMessage): number {
  const header = request.headers['content-length'];
  return header === undefined ? NaN : Number(header);
}

/** Refuses a declared length over the limit before any of the body is read (also for Expect: 100-continue). */
export function checkDeclaredLength(request: IncomingMessage, limit: number): void {
  const declared = declaredLength(request);
  if (declared > limit) throw tooLarge(limit, declared > limit * DRAIN_FACTOR);
}

/** Reads the whole body; throws RestError(413) past `limit`. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = declaredLength(request);
    if (declared > limit * DRAIN_FACTOR) {
      request.resume();
      reject(tooLarge(limit, true));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      outcome();
    };
    request.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total <= limit) chunks.push(chunk);
      else if (total > limit * DRAIN_FACTOR) settle(() => reject(tooLarge(limit, true)));
    });
    request.on('end', () => settle(() => (total > limit ? reject(tooLarge(limit, false)) : resolve(Buffer.concat(chunks, total)))));
    request.on('error', (error) => settle(() => reject(error)));
    request.on('close', () => settle(() => reject(new RestError(400, 'the client closed the connection mid-request'))));
  });
}
