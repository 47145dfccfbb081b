// Runs Intel's ACPI tools from Debian's acpica-tools package on table bytes: iasl (compiler and
// disassembler) and acpiexec (the ACPICA interpreter in user space, to run AML methods).
// Both exit 0 even when a table is broken, so callers judge their console output and .dsl text.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const IASL_MISSING =
  'iasl is not installed: the ACPI disassembly tests need it. Install it with ' +
  '`apt-get install -y acpica-tools` (the CI script installs it).';

let available: boolean | undefined;

/** Throws IASL_MISSING unless iasl and acpiexec run, so each such test fails loudly instead of passing. */
export function requireIasl(): void {
  available ??= ['iasl', 'acpiexec'].every((tool) => spawnSync(tool, ['-v'], { encoding: 'utf8' }).error === undefined);
  if (!available) throw new Error(IASL_MISSING);
}

function run(args: string[], cwd: string, tool = 'iasl'): string {
  const result = spawnSync(tool, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (result.error !== undefined) throw new Error(`${IASL_MISSING} (${result.error.message})`);
  return `${result.stdout}${result.stderr}`;
}

function inTempDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'nodevmm-iasl-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Disassembly {
  /** iasl's console output */
  log: string;
  /** the disassembled table (.dsl) */
  dsl: string;
}

/** `iasl -d` on one table. */
export function disassemble(table: Uint8Array): Disassembly {
  requireIasl();
  return inTempDir((dir) => {
    writeFileSync(join(dir, 'table.dat'), table);
    const log = run(['-vs', '-d', 'table.dat'], dir);
    let dsl: string;
    try {
      dsl = readFileSync(join(dir, 'table.dsl'), 'utf8');
    } catch {
      throw new Error(`iasl -d wrote no disassembly:\n${log}`);
    }
    return { log, dsl };
  });
}

/** Problems iasl reported while disassembling: its warnings and errors, and checksum complaints. */
export function disassemblyProblems({ log, dsl }: Disassembly): string[] {
  const logProblems = log.split('\n').filter((line) => /warning|error|incorrect|invalid|AE_/i.test(line));
  const dslProblems = dsl.split('\n').filter((line) => /incorrect checksum|\*\*\*\*|unknown|invalid/i.test(line));
  return [...logProblems, ...dslProblems];
}

export interface Compilation {
  log: string;
  /** the compiled output (AML, or a data table's binary) */
  output: Uint8Array;
}

/**
 * Compiles ASL (a DefinitionBlock) or a data table's source with iasl, name-path optimization off (-on)
 * so names stay exactly as written; throws with iasl's log unless it reports 0 errors and 0 warnings.
 */
export function compile(source: string): Compilation {
  requireIasl();
  return inTempDir((dir) => {
    writeFileSync(join(dir, 'source.asl'), source);
    const log = run(['-vs', '-on', '-p', 'out', 'source.asl'], dir);
    if (!/Compilation successful\.\s+0 Errors, 0 Warnings/.test(log)) throw new Error(`iasl did not compile cleanly:\n${log}`);
    return { log, output: new Uint8Array(readFileSync(join(dir, 'out.aml'))) };
  });
}

/** The body of a compiled DefinitionBlock: everything after the 36-byte table header. */
export function compileBody(asl: string): Uint8Array {
  const block = `DefinitionBlock ("", "SSDT", 2, "NODEVM", "TEST", 1)\n{\n${asl}\n}\n`;
  return compile(block).output.subarray(36);
}

/**
 * Loads a DSDT into acpiexec and runs `commands` (acpiexec batch syntax, e.g. "execute \\_SB.GED._EVT 5").
 * Every byte of every operation region starts as `regionFill`; -vr logs each region access.
 */
export function acpiexec(dsdt: Uint8Array, commands: string, regionFill: number): string {
  requireIasl();
  return inTempDir((dir) => {
    writeFileSync(join(dir, 'dsdt.dat'), dsdt);
    return run(['-vr', '-fv', String(regionFill), '-b', commands, 'dsdt.dat'], dir, 'acpiexec');
  });
}
