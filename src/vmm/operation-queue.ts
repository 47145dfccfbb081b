// The VMM's one line of work: requests and lifecycle actions run one after another, each when the one
// before has settled, whatever its outcome. A failure that is not a VmmError (a transition that broke
// halfway) is handed to onBroken, which ends the VMM.
import { VmmError } from '../errors.js';

export class OperationQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly onBroken: (error: unknown) => void) {}

  /** Runs `operation` after everything queued before it. */
  run<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.tail.then(operation, operation);
    this.tail = run.catch(() => {});
    return run.catch((error: unknown) => {
      if (!(error instanceof VmmError)) this.onBroken(error);
      throw error;
    });
  }

  /** Operations queued from now on wait until `work` settles too. */
  holdUntil(work: Promise<unknown>): void {
    this.tail = this.tail.then(() => work).catch(() => {});
  }
}
