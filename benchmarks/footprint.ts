// Footprint: the peak RSS (the kernel's maxrss from wait4) of each system running the 1-exit PIO
// guest with 64 MiB of guest RAM. The guest touches a few pages, so this is the VMM's own footprint.
import { summarize, type Summary } from './lib/stats.js';
import { runSystem, type SystemName } from './lib/systems.js';

export interface FootprintResult {
  /** peak RSS in KiB by system */
  maxRssKib: Partial<Record<SystemName, Summary>>;
}

export async function measureFootprint(systems: SystemName[], runs: number): Promise<FootprintResult> {
  const values: Partial<Record<SystemName, number[]>> = {};
  for (let run = 0; run < runs; run++) {
    for (const system of systems) {
      const result = await runSystem(system, 'pio', 1);
      (values[system] ??= []).push(result.maxRssKib);
    }
  }
  const maxRssKib: FootprintResult['maxRssKib'] = {};
  for (const system of systems) maxRssKib[system] = summarize(values[system] ?? []);
  return { maxRssKib };
}
