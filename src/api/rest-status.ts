// HTTP statuses of the REST API (LIFECYCLE.md §4) and the error body every failure carries: a JSON array
// of strings, the error chain top first, as Cloud Hypervisor answers.
import { VmmError, errorChain, type VmmErrorKind } from '../errors.js';

/** What each class of VMM failure means to an HTTP client. */
export const STATUS_OF_KIND: Record<VmmErrorKind, number> = {
  'invalid-config': 400,
  'not-found': 404,
  // ★ Cloud Hypervisor answers 500 for these; they are the client's mistake, and 409 says "retry
  // once the VM is in another state".
  'wrong-state': 409,
  'already-created': 409,
  internal: 500,
};

/** A failure of the HTTP exchange itself (bad path, method, body), before any VMM request. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RestError';
  }
}

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: string[];
}

/** Any thrown value → the status and body to answer; anything unexpected is a 500. */
export function errorReply(error: unknown): ErrorReply {
  if (error instanceof RestError) return { status: error.status, headers: error.headers, body: errorChain(error) };
  if (error instanceof VmmError) return { status: STATUS_OF_KIND[error.kind], headers: {}, body: errorChain(error) };
  return { status: 500, headers: {}, body: ['internal error', ...errorChain(error)] };
}
