// Reading the box's kernel log (its first serial port): when the box is up, when its /init gave up,
// and when its kernel reports a lock-up or a crash, which must end the run as a failure, never a pass.

/** What scripts/box/init.sh prints once /dev/kvm exists and the job starts. */
export const UP_MARKER = 'nodevmm-box: up:';
const INIT_FAILED = /nodevmm-box: FAILED: (.*)/;

export interface Trouble {
  kind: 'lockup' | 'crash' | 'init-failed';
  /** the kernel's line that says so */
  line: string;
}

// Linux's own words for a CPU or task that stopped making progress, and for a kernel that failed.
const LOCKUPS = [
  /watchdog: BUG: soft lockup - CPU#\d+ stuck for \d+s!.*/,
  /watchdog: Watchdog detected hard LOCKUP on cpu \d+.*/,
  /rcu: INFO: rcu_\w+ (self-)?detected stalls? on CPUs?.*/,
  /INFO: task .+ blocked for more than \d+ seconds\..*/,
];
const CRASHES = [/Kernel panic - not syncing.*/, /BUG: unable to handle .*/, /general protection fault.*/, /Oops: .*/];

/** The first trouble in `log`, in the order it appears. */
export function findTrouble(log: string): Trouble | null {
  const found: Array<Trouble & { at: number }> = [];
  const look = (kind: Trouble['kind'], pattern: RegExp, group = 0): void => {
    const match = pattern.exec(log);
    if (match) found.push({ kind, line: match[group].trim(), at: match.index });
  };
  LOCKUPS.forEach((pattern) => look('lockup', pattern));
  CRASHES.forEach((pattern) => look('crash', pattern));
  look('init-failed', INIT_FAILED, 1);
  if (found.length === 0) return null;
  const { kind, line } = found.reduce((a, b) => (b.at < a.at ? b : a));
  return { kind, line };
}

/** The last `lines` lines of the log, for a failure report. */
export function logTail(log: string, lines = 30): string {
  return log.replace(/\r/g, '').trimEnd().split('\n').slice(-lines).join('\n');
}
