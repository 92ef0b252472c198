// The live loss chart: an SVG drawn by hand (no chart library), redrawn at most once per animation frame. Train
// losses are lines, validation losses dashed lines with dots; run 1 is blue, run 2 red; the legend names each series.
const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#1f77b4', '#d62728'];

export interface ChartSeries {
  /** the legend's text */
  name: string;
  /** 0 or 1: the run, which picks the color */
  run: number;
  kind: 'train' | 'val';
  points: [number, number][];
}

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export class LossChart {
  private series: ChartSeries[] = [];
  private pending = false;
  private readonly W = 720;
  private readonly H = 360;

  constructor(private readonly svg: SVGSVGElement) {
    svg.setAttribute('viewBox', `0 0 ${this.W} ${this.H}`);
    svg.setAttribute('font-family', 'sans-serif');
    svg.setAttribute('font-size', '12');
    this.draw();
  }

  setSeries(series: ChartSeries[]): void {
    this.series = series;
    this.redraw();
  }

  /** Schedules a redraw on the next animation frame (many steps a frame draw once). */
  redraw(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  private draw(): void {
    const { W, H, svg } = this;
    const m = { l: 56, r: 16, t: 16, b: 40 };
    svg.replaceChildren();
    svg.append(el('rect', { width: W, height: H, fill: 'white' }));
    const pts = this.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const x0 = pts.length ? Math.min(...pts.map((p) => p[0])) : 0;
    const x1 = pts.length ? Math.max(...pts.map((p) => p[0])) : 1;
    let y0 = pts.length ? Math.min(...pts.map((p) => p[1])) : 0;
    let y1 = pts.length ? Math.max(...pts.map((p) => p[1])) : 1;
    if (y1 === y0) {
      y0 -= 0.5;
      y1 += 0.5;
    }
    const sx = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
    const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
    for (const t of ticks(x0, x1)) {
      svg.append(el('line', { x1: sx(t), y1: m.t, x2: sx(t), y2: H - m.b, stroke: '#eee' }));
      svg.append(el('text', { x: sx(t), y: H - m.b + 16, 'text-anchor': 'middle' }, String(t)));
    }
    for (const t of ticks(y0, y1)) {
      svg.append(el('line', { x1: m.l, y1: sy(t), x2: W - m.r, y2: sy(t), stroke: '#eee' }));
      svg.append(el('text', { x: m.l - 6, y: sy(t) + 4, 'text-anchor': 'end' }, String(Number(t.toPrecision(3)))));
    }
    svg.append(
      el('rect', { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, fill: 'none', stroke: '#333' }),
    );
    svg.append(el('text', { x: W / 2, y: H - 6, 'text-anchor': 'middle' }, 'step'));
    svg.append(
      el(
        'text',
        { x: 14, y: H / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${H / 2})` },
        'loss (nats/char)',
      ),
    );
    // the legend at the top right, as wide as its longest name (about 6.5 px a character at 12 px)
    const legendWidth = 40 + 6.5 * Math.max(0, ...this.series.map((s) => s.name.length));
    this.series.forEach((s, i) => {
      const color = COLORS[s.run % COLORS.length]!;
      const good = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      const dash = s.kind === 'val' ? '6 4' : 'none';
      if (good.length > 0) {
        const d = good.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
        const path = el('path', {
          d,
          fill: 'none',
          stroke: color,
          'stroke-width': s.kind === 'val' ? 2 : 1.4,
          'stroke-dasharray': dash,
          'data-series': s.name,
          'data-points': good.length,
        });
        svg.append(path);
        if (s.kind === 'val')
          for (const [x, y] of good) svg.append(el('circle', { cx: sx(x), cy: sy(y), r: 3, fill: color }));
      }
      const ly = m.t + 14 + i * 16;
      const lx = W - m.r - legendWidth;
      const legend = el('g', { class: 'legend', 'data-legend': s.name });
      legend.append(el('rect', { x: lx - 6, y: ly - 12, width: legendWidth, height: 16, fill: 'white', opacity: 0.8 }));
      legend.append(
        el('line', {
          x1: lx,
          y1: ly - 4,
          x2: lx + 22,
          y2: ly - 4,
          stroke: color,
          'stroke-width': 2,
          'stroke-dasharray': dash,
        }),
      );
      legend.append(el('text', { x: lx + 28, y: ly }, s.name));
      svg.append(legend);
    });
  }
}
