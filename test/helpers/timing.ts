// The one place where the tests' time bounds are scaled. Inside the nested-KVM box everything the
// guest and node do is emulated (a PIO exit ~50 µs, a node start in seconds), so every deadline a test
// waits against is multiplied by TIME_SCALE there. Natively it is 1: no bound is widened there.
// NODEVMM_TIME_SCALE overrides it (a slow machine, a debugger).

/** Set in every command the box runs (scripts/box/job.ts). */
const IN_BOX = process.env.NODEVMM_IN_BOX === '1';
/** Measured: the suite's slowest waits in the box took ~3× their native time; 5 leaves margin. */
export const BOX_SCALE = 5;

function scaleFromEnvironment(): number {
  const value = process.env.NODEVMM_TIME_SCALE;
  if (value === undefined || value === '') return IN_BOX ? BOX_SCALE : 1;
  const scale = Number(value);
  if (!Number.isFinite(scale) || scale < 1) throw new Error(`NODEVMM_TIME_SCALE must be a number ≥ 1, not '${value}'`);
  return scale;
}

export const TIME_SCALE = scaleFromEnvironment();

/** A deadline of `ms` on a native run, scaled for the box. */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}
