/** metric_history: a device's system metrics per time bucket over a range, summarised, paginated. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { effectiveBucketSeconds } from '../../storage/history.ts';
import { num, parseWhen, TIME_HELP } from '../format.ts';
import { fieldsOfType, operation, run, ToolError, type ToolContext } from '../graphql.ts';
import { answer, toolConfig } from './define.ts';
import { findDevice } from './devices.ts';

/** Every avg/min/max metric of MetricBucket: the schema is the list. */
const METRICS = fieldsOfType('MetricBucket', 'MetricStat');
const DEFAULT_METRICS = ['cpuPercent', 'memUsedPercent', 'load1'].filter((m) => METRICS.includes(m));

interface Stat {
  avg: number | null;
  min: number | null;
  max: number | null;
}
type Bucket = { time: string; samples: number } & Record<string, Stat>;

/** Everything a later page needs, fixed at the first call (so "now" does not move under the pages). */
const Cursor = z.object({ d: z.string(), n: z.string(), m: z.array(z.enum(METRICS)).min(1), f: z.string(), t: z.string(), b: z.number().int().nullable(), o: z.number().int().min(0) });
type Cursor = z.infer<typeof Cursor>;

const encode = (c: Cursor): string => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
function decode(text: string): Cursor {
  try {
    return Cursor.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw new ToolError('invalid cursor: pass nextCursor from a previous metric_history answer unchanged');
  }
}

function query(metrics: readonly string[]): string {
  // Metric names come from the validated enum above, so they are safe to splice.
  return `query McpMetricHistory($id: ID!, $from: DateTime!, $to: DateTime, $bucket: Int) {
  metricHistory(deviceId: $id, from: $from, to: $to, bucketSeconds: $bucket) { time samples ${metrics.map((m) => `${m} { avg min max }`).join(' ')} }
}`;
}

// Every metric at once: the widest query this tool can build, for the schema check.
operation(query(METRICS));

/** avg weighted by samples, overall min and max and when the max happened. */
function summarise(buckets: readonly Bucket[], metric: string): Stat & { maxAt: string | null } {
  let sum = 0;
  let weight = 0;
  let min: number | null = null;
  let max: number | null = null;
  let maxAt: string | null = null;
  for (const b of buckets) {
    const s = b[metric];
    if (!s || s.avg === null) continue;
    sum += s.avg * b.samples;
    weight += b.samples;
    if (s.min !== null && (min === null || s.min < min)) min = s.min;
    if (s.max !== null && (max === null || s.max > max)) {
      max = s.max;
      maxAt = b.time;
    }
  }
  return { avg: weight ? sum / weight : null, min, max, maxAt };
}

export function registerHistoryTool(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'metric_history',
    toolConfig({
      title: 'Metric history',
      description: `avg/min/max of system metrics per time bucket for one device, with a summary over the whole range. Metrics: ${METRICS.join(', ')}. Pass nextCursor back as cursor for the next buckets (the other arguments are then ignored).`,
      readOnly: true,
      inputSchema: {
        device: z.string().min(1).max(200).optional().describe('The device\'s id or name (required unless cursor is given)'),
        metrics: z.array(z.enum(METRICS)).min(1).max(METRICS.length).optional().describe(`Default: ${DEFAULT_METRICS.join(', ')}`),
        from: z.string().max(40).default('24h').describe(`Start: ${TIME_HELP}`),
        to: z.string().max(40).optional().describe(`End (default now): ${TIME_HELP}`),
        bucketSeconds: z.number().int().min(1).max(31 * 86_400).optional().describe('Bucket width; default about 300 buckets over the range, widened to keep at most 2000'),
        limit: z.number().int().min(1).max(500).default(100).describe('Buckets per page'),
        cursor: z.string().max(2000).optional().describe('nextCursor of the previous page'),
      },
    }),
    answer(ctx, 'metric_history', async (args) => {
      let c: Cursor;
      if (args.cursor) c = decode(args.cursor);
      else {
        if (!args.device) throw new ToolError('give device (an id or name)');
        const now = Date.now();
        const from = parseWhen(args.from, now);
        const to = args.to ? parseWhen(args.to, now) : new Date(now);
        if (!from) throw new ToolError(`from: expected ${TIME_HELP}`);
        if (!to) throw new ToolError(`to: expected ${TIME_HELP}`);
        if (from >= to) throw new ToolError('from must be before to');
        const { id, name } = await findDevice(ctx, args.device);
        c = { d: id, n: name, m: args.metrics ?? DEFAULT_METRICS, f: from.toISOString(), t: to.toISOString(), b: args.bucketSeconds ?? null, o: 0 };
      }
      const data = await run<{ metricHistory: Bucket[] }>(ctx, query(c.m), { id: c.d, from: c.f, to: c.t, bucket: c.b });
      const all = data.metricHistory;
      const page = all.slice(c.o, c.o + args.limit);
      const next = c.o + page.length < all.length ? encode({ ...c, o: c.o + page.length }) : null;
      const summary = Object.fromEntries(c.m.map((m) => [m, summarise(all, m)]));
      // The width Query.metricHistory used: asked, or its default, widened to at most 2000 buckets.
      const bucketSeconds = effectiveBucketSeconds((Date.parse(c.t) - Date.parse(c.f)) / 1000, c.b ?? undefined);
      const text = [
        `${c.n} (id ${c.d}), ${c.f} to ${c.t}: ${all.length} bucket(s) of ${bucketSeconds} s; buckets ${all.length ? c.o + 1 : 0}–${c.o + page.length} below${next ? ` (more: cursor "${next}")` : ''}`,
        ...c.m.map((m) => {
          const s = summary[m]!;
          return `${m} over the range: avg ${num(s.avg)}, min ${num(s.min)}, max ${num(s.max)}${s.maxAt ? ` (bucket ${s.maxAt})` : ''}`;
        }),
        `time | samples | ${c.m.map((m) => `${m} avg/min/max`).join(' | ')}`,
        ...page.map((b) => `${b.time} | ${b.samples} | ${c.m.map((m) => `${num(b[m]?.avg)}/${num(b[m]?.min)}/${num(b[m]?.max)}`).join(' | ')}`),
      ];
      return {
        text: text.join('\n'),
        structured: { deviceId: c.d, name: c.n, from: c.f, to: c.t, bucketSeconds, metrics: c.m, totalBuckets: all.length, summary, buckets: page, nextCursor: next },
      };
    }),
  );
}
