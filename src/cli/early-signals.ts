// SIGTERM and SIGINT must end nodevmm in order (exit 0, `vmm/shutdown` reason "signal") however early
// they come. Loading the VMM's modules takes ~300 ms, and a signal then would take its default action
// (status 143). So the bin installs this gate first, with no imports of its own, and loads the rest
// after; a signal that comes before the VMM can act on it is held and delivered once it can.

type SignalHandler = (signal: NodeJS.Signals) => void;

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
let installed = false;
let handler: SignalHandler | null = null;
const held: NodeJS.Signals[] = [];

function gate(signal: NodeJS.Signals): void {
  if (handler) handler(signal);
  else held.push(signal);
}

/** Takes SIGTERM and SIGINT from now on; until a handler is set they are held. Idempotent. */
export function holdSignals(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) process.on(signal, gate);
}

/**
 * Sends the signals to `next` from now on, the held ones first; `null` holds them again (the VMM is
 * already on its way out, so a late signal must neither kill the process nor start a second exit).
 */
export function handleSignals(next: SignalHandler | null): void {
  holdSignals();
  handler = next;
  if (next) for (const signal of held.splice(0)) next(signal);
}
