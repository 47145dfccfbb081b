// A migration that cannot go on: bad bytes from the peer, a refusal, a lost connection, a timeout.
// The VMM turns it into vm/migration-failed or vm/migration-receive-failed; it never ends the VMM.
export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
  }
}
