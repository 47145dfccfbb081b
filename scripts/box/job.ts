// The job file the box's /init runs (scripts/box/init.sh): the caller's working directory and
// environment, then the command. It is written on the host and read by the box through the 9p share,
// so it is plain POSIX sh with every word single-quoted.
import { writeFileSync } from 'node:fs';

/** Where the box keeps sockets and FIFOs: a tmpfs of its own (QEMU's 9p refuses special files). */
export const BOX_TMPDIR = '/run/tmp';

/** Set in every job's environment: tests read it (test/helpers/timing.ts) to scale their time bounds. */
export const IN_BOX_VARIABLE = 'NODEVMM_IN_BOX';

// Variables that describe the caller's shell rather than the job, or that the box sets itself.
const NOT_PASSED = new Set(['PWD', 'OLDPWD', 'SHLVL', '_', 'TMPDIR', 'TMP', 'TEMP', IN_BOX_VARIABLE]);

export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export interface Job {
  cwd: string;
  command: readonly string[];
  env: NodeJS.ProcessEnv;
}

/** The job as a shell script. Status 125 if the working directory is missing in the box. */
export function jobScript(job: Job): string {
  if (job.command.length === 0) throw new Error('no command to run in the box');
  const lines = ['# written by scripts/box/job.ts; run by the box as /bin/sh FILE', `cd ${shellQuote(job.cwd)} || exit 125`];
  for (const [name, value] of Object.entries(job.env)) {
    // The shell cannot export a name with other characters (npm's may have dashes); none matters here.
    if (value === undefined || NOT_PASSED.has(name) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  lines.push(`export TMPDIR=${BOX_TMPDIR} ${IN_BOX_VARIABLE}=1`);
  lines.push(`exec ${job.command.map(shellQuote).join(' ')}`);
  return lines.join('\n') + '\n';
}

export function writeJob(path: string, job: Job): void {
  writeFileSync(path, jobScript(job), { mode: 0o600 });
}
