/**
 * A time-series chart on uPlot: each series is its bucket averages as a line, optionally with
 * the min–max band around it. The figure's accessible name is its title ("CPU", "Memory": the
 * labels browser tests look for) and `data-points` says how many points it drew.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export type Values = (number | null)[];

export interface ChartSeries {
  label: string;
  color: string;
  avg: Values;
  /** With both, a band is drawn between them. */
  min?: Values;
  max?: Values;
}

export interface ChartProps {
  title: string;
  /** Seconds since the epoch, ascending. */
  times: number[];
  series: ChartSeries[];
  format: (v: number) => string;
  /** Fixed y range top (percentages); otherwise from the data. */
  yMax?: number;
  /** The x range shown (seconds), so an empty stretch reads as "no data" rather than being cut. */
  from: number;
  to: number;
}

const HEIGHT = 180;

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function toData(p: ChartProps): uPlot.AlignedData {
  const cols: Values[] = [];
  for (const s of p.series) {
    cols.push(s.avg);
    if (s.min && s.max) cols.push(s.max, s.min);
  }
  return [p.times, ...cols] as uPlot.AlignedData;
}

function options(p: ChartProps, width: number): uPlot.Options {
  const muted = cssVar('--muted', '#64748b');
  const grid = cssVar('--grid', 'rgba(127,127,127,0.15)');
  const series: uPlot.Series[] = [{}];
  const bands: uPlot.Band[] = [];
  for (const s of p.series) {
    series.push({ label: s.label, stroke: s.color, width: 1.5, points: { show: false } });
    if (s.min && s.max) {
      const maxIdx = series.length;
      series.push({ label: `${s.label} max`, stroke: 'transparent', width: 0, points: { show: false } });
      series.push({ label: `${s.label} min`, stroke: 'transparent', width: 0, points: { show: false } });
      bands.push({ series: [maxIdx, maxIdx + 1], fill: `${s.color}33` });
    }
  }
  const yMax = p.yMax;
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    series,
    bands,
    scales: {
      x: { time: true, range: () => [p.from, p.to] },
      y: { range: (_u, _min, max) => [0, yMax ?? (max > 0 ? max * 1.1 : 1)] },
    },
    axes: [
      { stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid } },
      {
        stroke: muted,
        grid: { stroke: grid },
        ticks: { stroke: grid },
        values: (_u, splits) => splits.map((v) => p.format(v)),
        // As wide as the longest label ("19.1 MiB/s"), so none is cut.
        size: (_u, values) => (values ? Math.max(...values.map((v) => String(v).length)) : 4) * 7 + 18,
      },
    ],
  };
}

/** The latest non-null value of a series, for the legend. */
function latest(values: Values): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i]!;
  return null;
}

export function TimeChart(props: ChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const current = useRef(props);
  current.current = props;
  const shape = props.series.map((s) => `${s.label}:${s.min ? 'band' : 'line'}`).join('|');

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const u = new uPlot(options(current.current, el.clientWidth || 600), toData(current.current), el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      if (el.clientWidth > 0 && el.clientWidth !== u.width) u.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, props.yMax]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    // The x range is a function of the latest props; setData re-evaluates it.
    u.setData(toData(props));
  }, [props.times, props.series, props.from, props.to]);

  return (
    <figure class="chart" aria-label={props.title} data-points={props.times.length}>
      <figcaption>
        <span class="title">{props.title}</span>
        <span class="legend">
          {props.series.map((s) => {
            const v = latest(s.avg);
            return (
              <span key={s.label} class="key">
                <i style={{ background: s.color }} />
                {s.label} {v === null ? '–' : props.format(v)}
              </span>
            );
          })}
        </span>
      </figcaption>
      <div ref={holder} class="plot" />
    </figure>
  );
}
