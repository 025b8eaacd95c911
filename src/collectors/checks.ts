/**
 * Checks (issue #18): what one run of a check's command means. Pure: the output, exit code and
 * kind in, a status, a message and numeric values out. The command itself is the check's own,
 * stored verbatim; running it is src/poller/checks.ts's job.
 *
 *   EXIT_CODE   Monitoring-Plugins convention: 0 OK, 1 WARNING, 2 CRITICAL, anything else
 *               UNKNOWN; the first line is the message; performance data after `|` (on the
 *               first line and from the long text's `|` on) become values.
 *   PROMETHEUS  the output is Prometheus text exposition (parse-prometheus-text-format);
 *               values keyed `name{label="value",…}`, labels sorted.
 *   JSON        the output is one JSON document; values picked by path (`a.b[0].c`), or every
 *               number in it when the check names no path.
 * For PROMETHEUS and JSON the exit code gives the status as for EXIT_CODE; output that
 * cannot be read is UNKNOWN with the reason as message.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { CheckKind } from '../db/generated/enums.ts';

export type { CheckKind };

/** Every check kind, in the schema's order: the one list, from Prisma's enum. */
export const CHECK_KINDS: readonly CheckKind[] = Object.values(CheckKind);

import type { CheckStatus } from './check-statuses.ts';

export { CHECK_STATUSES, type CheckStatus } from './check-statuses.ts';

/** What a check's definition may hold (src/graphql/types/checks.ts validates against these). */
export const CHECK_LIMITS = {
  intervalMin: 10,
  intervalMax: 86_400,
  intervalDefault: 300,
  timeoutMin: 1,
  timeoutMax: 300,
  timeoutDefault: 10,
  commandMax: 4096,
  jsonPathsMax: 50,
  jsonPathMax: 200,
} as const;

/** Output kept from one run: more is cut off and the result says TRUNCATED. */
export const CHECK_MAX_OUTPUT_BYTES = 64 * 1024;
/** Values kept from one run (a node_exporter textfile can hold thousands of series). */
export const CHECK_MAX_VALUES = 500;
/** Characters of message kept. */
export const CHECK_MAX_MESSAGE = 1024;

export type CheckValues = Record<string, number>;

export interface CheckOutcome {
  status: CheckStatus;
  message: string;
  values: CheckValues;
}

/** What the check's command gave back. */
export interface CheckRun {
  stdout: string;
  stderr: string;
  /** null when the process was killed by a signal. */
  code: number | null;
}

/** Monitoring-Plugins return codes (https://www.monitoring-plugins.org/doc/guidelines.html#AEN78). */
export function statusOfExitCode(code: number | null): CheckStatus {
  switch (code) {
    case 0:
      return 'OK';
    case 1:
      return 'WARNING';
    case 2:
      return 'CRITICAL';
    default:
      return 'UNKNOWN';
  }
}

const clip = (text: string): string => (text.length > CHECK_MAX_MESSAGE ? `${text.slice(0, CHECK_MAX_MESSAGE - 1)}…` : text);

const firstLine = (text: string): string => text.trim().split('\n', 1)[0]?.trim() ?? '';

/** The first non-empty of stdout's and stderr's first lines (a shell's "not found" goes to stderr). */
function fallbackMessage(run: CheckRun): string {
  return firstLine(run.stdout) || firstLine(run.stderr);
}

/* ---------------------------------------------------------------- EXIT_CODE: plugin output */

/**
 * Performance data items: `'label'=value[UOM];[warn];[crit];[min];[max]` separated by spaces.
 * A label with spaces or `=` is single-quoted, a quote inside written twice. A value of `U`
 * (undetermined) or one that is not a number is left out; the unit is dropped (values stay in
 * the plugin's unit, as it printed them).
 */
export function parsePerfdata(text: string, into: CheckValues = {}): CheckValues {
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    let label = '';
    if (text[i] === "'") {
      i++;
      for (;;) {
        if (i >= n) return into;
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            label += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        label += text[i++];
      }
    } else {
      while (i < n && text[i] !== '=' && !/\s/.test(text[i]!)) label += text[i++];
    }
    let item = '';
    while (i < n && !/\s/.test(text[i]!)) item += text[i++];
    if (!item.startsWith('=') || label === '') continue;
    const m = /^=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(item);
    if (!m) continue;
    const value = Number(m[1]);
    if (Number.isFinite(value) && Object.keys(into).length < CHECK_MAX_VALUES) into[label] = value;
  }
  return into;
}

/**
 * Plugin output (https://www.monitoring-plugins.org/doc/guidelines.html#AEN33):
 *
 *   TEXT OUTPUT | OPTIONAL PERFDATA
 *   LONG TEXT LINE 1
 *   LONG TEXT LINE N | PERFDATA LINE 2
 *   PERFDATA LINE 3
 *
 * The message is the first line's text; the long text is not kept.
 */
export function parsePluginOutput(stdout: string): { message: string; values: CheckValues } {
  const lines = stdout.replace(/\r\n/g, '\n').split('\n');
  const first = lines[0] ?? '';
  const bar = first.indexOf('|');
  const message = (bar >= 0 ? first.slice(0, bar) : first).trim();
  const values: CheckValues = {};
  if (bar >= 0) parsePerfdata(first.slice(bar + 1), values);
  let inPerf = false;
  for (const line of lines.slice(1)) {
    if (inPerf) {
      parsePerfdata(line, values);
      continue;
    }
    const at = line.indexOf('|');
    if (at < 0) continue;
    inPerf = true;
    parsePerfdata(line.slice(at + 1), values);
  }
  return { message, values };
}

/* ---------------------------------------------------------------- PROMETHEUS */

type Labels = Record<string, string>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** `name{a="1",b="2"}` with labels sorted, as a series is written in PromQL; `name` alone without labels. */
export function seriesKey(name: string, labels: Labels = {}): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

/** Values of an exposition; NaN and ±Inf are left out (JSON has no such numbers). Throws on text that is not an exposition. */
export function parsePrometheus(text: string): CheckValues {
  let families: ReturnType<typeof parsePrometheusTextFormat>;
  try {
    families = parsePrometheusTextFormat(text);
  } catch (e) {
    throw new CheckOutputError(`not Prometheus text exposition: ${(e as Error).message}`);
  }
  const values: CheckValues = {};
  const put = (key: string, raw: string | undefined): void => {
    // The library reads any word as a value ("not a sample" gives a sample "not" of value "a"); Prometheus would refuse the scrape.
    if (raw === undefined || !PROM_FLOAT.test(raw)) throw new CheckOutputError(`not Prometheus text exposition: ${key} has the value "${String(raw).slice(0, 40)}"`);
    const v = Number(raw);
    if (Number.isFinite(v) && Object.keys(values).length < CHECK_MAX_VALUES) values[key] = v;
  };
  for (const f of families) {
    for (const m of f.metrics) {
      const labels = m.labels ?? {};
      if (m.timestamp_ms !== undefined && !/^-?\d+$/.test(m.timestamp_ms)) throw new CheckOutputError(`not Prometheus text exposition: ${seriesKey(f.name, labels)} has the timestamp "${m.timestamp_ms.slice(0, 40)}"`);
      if (m.buckets) for (const [le, v] of Object.entries(m.buckets)) put(seriesKey(`${f.name}_bucket`, { ...labels, le }), v);
      if (m.quantiles) for (const [quantile, v] of Object.entries(m.quantiles)) put(seriesKey(f.name, { ...labels, quantile }), v);
      if (m.buckets || m.quantiles) {
        if (m.sum !== undefined) put(seriesKey(`${f.name}_sum`, labels), m.sum);
        if (m.count !== undefined) put(seriesKey(`${f.name}_count`, labels), m.count);
      } else put(seriesKey(f.name, labels), m.value);
    }
  }
  // The library also skips lines it cannot read: sample lines and not one family is not an exposition.
  if (families.length === 0 && text.split('\n').some((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))) throw new CheckOutputError('not Prometheus text exposition: no sample could be read');
  return values;
}

/** A sample value as Prometheus writes it (Go's ParseFloat: NaN and ±Inf included). */
const PROM_FLOAT = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[Ii]nf|NaN)$/;

/* ---------------------------------------------------------------- JSON */

/** A path: dot-separated keys with [n] for array elements (`disks[0].temp`, `a.b`); a key may be quoted: `["a.b"]`. */
const PATH_TOKEN = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.[\]]+)/gy;

export function parseJsonPath(path: string): (string | number)[] | null {
  const out: (string | number)[] = [];
  PATH_TOKEN.lastIndex = 0;
  while (PATH_TOKEN.lastIndex < path.length) {
    const at = PATH_TOKEN.lastIndex;
    const m = PATH_TOKEN.exec(path);
    if (!m || m.index !== at) return null;
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(m[2].replace(/\\(.)/g, '$1'));
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out.length > 0 ? out : null;
}

/** A number, or a boolean as 1/0, or a string that is a plain number; anything else is not a value. */
function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function pick(doc: unknown, path: (string | number)[]): unknown {
  let cur: unknown = doc;
  for (const step of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (typeof step !== 'number') return undefined;
      cur = cur[step];
    } else cur = Object.hasOwn(cur, step) ? (cur as Record<string, unknown>)[String(step)] : undefined;
  }
  return cur;
}

/** Every number in the document, keyed by its path (`a.b[0]`), depth first, at most CHECK_MAX_VALUES. */
function allNumbers(doc: unknown, prefix: string, into: CheckValues): void {
  if (Object.keys(into).length >= CHECK_MAX_VALUES) return;
  const n = typeof doc === 'string' ? undefined : numberOf(doc);
  if (n !== undefined) {
    if (prefix) into[prefix] = n;
    return;
  }
  if (Array.isArray(doc)) doc.forEach((v, i) => allNumbers(v, `${prefix}[${i}]`, into));
  else if (doc !== null && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) allNumbers(v, prefix ? `${prefix}.${k}` : k, into);
}

/** Values of a JSON document at `paths` (every number when none); `missing`: paths with no number there. */
export function parseJsonValues(text: string, paths: readonly string[]): { values: CheckValues; missing: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CheckOutputError(`not JSON: ${(e as Error).message}`);
  }
  const values: CheckValues = {};
  if (paths.length === 0) {
    allNumbers(doc, '', values);
    return { values, missing: [] };
  }
  const missing: string[] = [];
  for (const p of paths) {
    const steps = parseJsonPath(p);
    const v = steps ? numberOf(pick(doc, steps)) : undefined;
    if (v === undefined) missing.push(p);
    else values[p] = v;
  }
  return { values, missing };
}

/* ---------------------------------------------------------------- one run */

/** The output of a PROMETHEUS or JSON check cannot be read as its kind. */
export class CheckOutputError extends Error {
  override readonly name = 'CheckOutputError';
}

export interface CheckSpec {
  kind: CheckKind;
  jsonPaths: readonly string[];
}

/** What one completed run of a check says. Never throws. */
export function evaluateCheck(spec: CheckSpec, run: CheckRun): CheckOutcome {
  const status = statusOfExitCode(run.code);
  if (spec.kind === 'EXIT_CODE') {
    const { message, values } = parsePluginOutput(run.stdout);
    return { status, message: clip(message || firstLine(run.stderr) || `exit code ${String(run.code)}`), values };
  }
  try {
    if (spec.kind === 'PROMETHEUS') {
      const values = parsePrometheus(run.stdout);
      return { status, message: clip(run.code === 0 ? `${Object.keys(values).length} values` : fallbackMessage(run) || `exit code ${String(run.code)}`), values };
    }
    const { values, missing } = parseJsonValues(run.stdout, spec.jsonPaths);
    if (missing.length > 0) return { status: 'UNKNOWN', message: clip(`no number at ${missing.join(', ')}`), values };
    return { status, message: clip(run.code === 0 ? `${Object.keys(values).length} values` : firstLine(run.stderr) || `exit code ${String(run.code)}`), values };
  } catch (e) {
    if (!(e instanceof CheckOutputError)) throw e;
    // A failing command that printed nothing readable says why on stderr.
    const why = run.code === 0 ? e.message : `${fallbackMessage(run) || `exit code ${String(run.code)}`} (${e.message})`;
    return { status: run.code === 0 ? 'UNKNOWN' : status, message: clip(why), values: {} };
  }
}
