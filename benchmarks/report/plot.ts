// The results as an SVG: one horizontal row per (system, exit kind). The bar is the median per-exit
// cost, the whisker spans the rounds' min..max, and each dot is one round (the distribution). Rows
// are grouped by panel: whole-process cost of each system, then the inner and inside-nodevmm levels.
// The value axis does not start at zero (differences of a few percent are the point); it says so.
import { circle, document, line, niceScale, rect, text } from './svg.js';

export interface PlotRow {
  label: string;
  /** per-exit cost per round, ns */
  rounds: number[];
  median: number;
  color: string;
}

export interface PlotPanel {
  title: string;
  rows: PlotRow[];
}

const WIDTH = 860;
const LABEL_WIDTH = 250;
const RIGHT = 40;
const ROW = 26;
const PANEL_GAP = 46;

export function plotPerExit(title: string, subtitle: string, panels: PlotPanel[]): string {
  const all = panels.flatMap((p) => p.rows.flatMap((r) => [...r.rounds, r.median])).filter(Number.isFinite);
  // The axis starts near the smallest value (a few percent matter here), at a tick, and says so.
  const low = Math.min(...all) / 1000;
  const high = Math.max(...all, 1) / 1000;
  const { step } = niceScale((high - low * 0.9) || 1);
  const min = Math.max(0, Math.floor((low * 0.9) / step) * step);
  const max = Math.ceil(high / step) * step;
  const plotWidth = WIDTH - LABEL_WIDTH - RIGHT;
  const x = (ns: number): number => LABEL_WIDTH + ((Math.min(Math.max(ns / 1000, min), max) - min) / (max - min)) * plotWidth;

  const body: string[] = [text(16, 26, title, { 'font-size': 16, 'font-weight': 'bold' }), text(16, 44, subtitle, { fill: '#555' })];
  let y = 70;
  for (const panel of panels) {
    body.push(text(16, y, panel.title, { 'font-weight': 'bold' }));
    y += 10;
    const top = y;
    for (const row of panel.rows) {
      const mid = y + ROW / 2;
      body.push(text(LABEL_WIDTH - 8, mid + 4, row.label, { 'text-anchor': 'end' }));
      body.push(rect(LABEL_WIDTH, y + 5, x(row.median) - LABEL_WIDTH, ROW - 10, { fill: row.color, 'fill-opacity': 0.35 }));
      const finite = row.rounds.filter(Number.isFinite);
      if (finite.length) body.push(line(x(Math.min(...finite)), mid, x(Math.max(...finite)), mid, { 'stroke-width': 1 }));
      for (const v of finite) body.push(circle(x(v), mid, 3, { fill: row.color, 'fill-opacity': 0.8 }));
      body.push(line(x(row.median), y + 3, x(row.median), y + ROW - 3, { stroke: row.color, 'stroke-width': 2.5 }));
      body.push(text(WIDTH - RIGHT + 4, mid + 4, (row.median / 1000).toFixed(2), { 'font-size': 11, fill: '#333' }));
      y += ROW;
    }
    for (let v = min; v <= max + 1e-9; v += step) {
      const px = LABEL_WIDTH + ((v - min) / (max - min)) * plotWidth;
      body.push(line(px, top, px, y, { stroke: '#ccc', 'stroke-width': 0.5 }));
      body.push(text(px, y + 14, v.toFixed(step < 1 ? 1 : 0), { 'text-anchor': 'middle', 'font-size': 10, fill: '#555' }));
      if (v === min && min > 0) body.push(text(px, y + 26, '(axis starts here)', { 'text-anchor': 'middle', 'font-size': 9, fill: '#888' }));
    }
    body.push(text(LABEL_WIDTH + plotWidth / 2, y + 28, 'µs per exit (bar: median, dots: rounds, line: min..max)', { 'text-anchor': 'middle', 'font-size': 11, fill: '#555' }));
    y += PANEL_GAP;
  }
  return document(WIDTH, y, body);
}
