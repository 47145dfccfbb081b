// Two "hosts" for a migration test: network namespaces joined by a veth pair, each with its own
// address, made with iproute2's `ip` (root only; the box runs its jobs as root). A VMM started with
// `exec(side)` as its prefix lives in that namespace; unix sockets on the file system still reach it.
import { execFileSync } from 'node:child_process';

export interface NamespacePair {
  a: { name: string; address: string };
  b: { name: string; address: string };
  /** the prefix that runs a command in a side's namespace */
  exec(side: 'a' | 'b'): string[];
  remove(): void;
}

/** Why namespaces cannot be made here, or null. */
export function namespaceProblem(): string | null {
  if (process.getuid?.() !== 0) return 'making network namespaces needs root: run it as root, or with `npm test`, which runs it in the nested-KVM box as root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return "iproute2's `ip` is not installed (apt-get install iproute2)";
  }
  return null;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function makeNamespacePair(tag: string): NamespacePair {
  const pair: NamespacePair = {
    a: { name: `nodevmm-${tag}-a`, address: '10.77.0.1' },
    b: { name: `nodevmm-${tag}-b`, address: '10.77.0.2' },
    exec: (side) => ['ip', 'netns', 'exec', pair[side].name],
    remove: () => {
      for (const side of [pair.a, pair.b]) {
        try {
          ip('netns', 'del', side.name); // takes its end of the veth with it
        } catch {
          // not made, or gone already
        }
      }
    },
  };
  try {
    const ends = { a: `nv${tag}a`.slice(0, 15), b: `nv${tag}b`.slice(0, 15) };
    ip('netns', 'add', pair.a.name);
    ip('netns', 'add', pair.b.name);
    ip('link', 'add', ends.a, 'type', 'veth', 'peer', 'name', ends.b);
    for (const side of ['a', 'b'] as const) {
      const ns = pair[side].name;
      ip('link', 'set', ends[side], 'netns', ns);
      ip('-n', ns, 'addr', 'add', `${pair[side].address}/24`, 'dev', ends[side]);
      ip('-n', ns, 'link', 'set', ends[side], 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (error) {
    pair.remove();
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`could not make the network namespaces: ${stderr || (error as Error).message}`);
  }
  return pair;
}
