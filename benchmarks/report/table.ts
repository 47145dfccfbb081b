// Plain-text tables for the terminal (and Markdown-compatible, so they paste into docs).
import type { Summary } from '../lib/stats.js';

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [fmt(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(fmt)].join('\n');
}

/** "8.12 µs [8.05–8.20] ±0.9 %" from a summary in ns. */
export function micros(s: Summary | undefined, digits = 2): string {
  if (!s || !Number.isFinite(s.median)) return '–';
  const f = (ns: number): string => (ns / 1000).toFixed(digits);
  return `${f(s.median)} [${f(s.q1)}–${f(s.q3)}] ±${s.spreadPct.toFixed(1)}%`;
}

export function millis(s: Summary | undefined, digits = 1): string {
  if (!s || !Number.isFinite(s.median)) return '–';
  const f = (ns: number): string => (ns / 1e6).toFixed(digits);
  return `${f(s.median)} [${f(s.q1)}–${f(s.q3)}] (n=${s.n})`;
}

export function ratio(s: Summary | undefined, ofMedians?: number): string {
  if (!s || !Number.isFinite(s.median)) return '–';
  return `${s.median.toFixed(3)} [${s.q1.toFixed(3)}–${s.q3.toFixed(3)}]${ofMedians !== undefined ? ` (of medians ${ofMedians.toFixed(3)})` : ''}`;
}
