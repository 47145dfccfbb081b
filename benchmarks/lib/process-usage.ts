// A process's open fds, threads and resident memory, from /proc: what must stay flat while a VMM
// runs VM after VM (the churn benchmark, the stress tests).
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessUsage {
  fds: number;
  threads: number;
  rssKiB: number;
}

export function processUsage(pid: number | 'self' = 'self'): ProcessUsage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    fds: readdirSync(`/proc/${pid}/fd`).length,
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]),
    rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]),
  };
}
