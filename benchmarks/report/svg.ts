// A few SVG primitives as strings: enough for bar-and-dot charts, no dependencies.

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number): string => (Math.round(v * 10) / 10).toString();

export type Attrs = Record<string, string | number>;

const attrs = (a: Attrs): string =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : escape(v)}"`)
    .join('');

export const rect = (x: number, y: number, w: number, h: number, a: Attrs = {}): string =>
  `<rect${attrs({ x, y, width: Math.max(0, w), height: h, ...a })}/>`;
export const line = (x1: number, y1: number, x2: number, y2: number, a: Attrs = {}): string =>
  `<line${attrs({ x1, y1, x2, y2, stroke: '#333', ...a })}/>`;
export const circle = (cx: number, cy: number, r: number, a: Attrs = {}): string => `<circle${attrs({ cx, cy, r, ...a })}/>`;
export const text = (x: number, y: number, content: string, a: Attrs = {}): string =>
  `<text${attrs({ x, y, 'font-family': 'sans-serif', 'font-size': 12, ...a })}>${escape(content)}</text>`;

export function document(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    rect(0, 0, width, height, { fill: 'white' }),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** A "nice" axis maximum and tick step above `max`. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  return { max: Math.ceil(max / step) * step, step };
}
