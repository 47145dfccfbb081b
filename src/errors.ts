// Errors the VMM reports to its callers, each with the class of failure a client can act on. The REST
// API maps `kind` to an HTTP status; the CLI maps it to an exit status.

export type VmmErrorKind =
  | 'invalid-config' // the request or config is wrong: 400 / exit 2
  | 'not-found' // no VM (config) to act on: 404
  | 'wrong-state' // not allowed in the VM's current state: 409
  | 'already-created' // a VM config exists already: 409
  | 'internal'; // the VMM failed: 500 / exit 1

export class VmmError extends Error {
  constructor(
    readonly kind: VmmErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VmmError';
  }
}

/** The error chain, top first: Cloud Hypervisor's error body is this list. */
export function errorChain(error: unknown): string[] {
  const chain: string[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? (current as Error & { cause?: unknown }).cause : undefined;
  }
  return chain;
}
