// Small hand-written scanners shared by the parsers. A system poll of a big host is a few
// hundred lines; splitting on spaces by hand and checking digits in a loop keeps that well
// under a millisecond, where a regex per token would not.
import { ParseError, type SkippedLine } from './types.ts';

/** Splits on runs of spaces and tabs (never yields empty tokens). */
export function fields(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      if (start >= 0) {
        out.push(line.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(line.slice(start));
  return out;
}

/**
 * Reads whitespace-separated non-negative integers from `line` starting at `from` into `out`
 * (cleared first), without allocating a substring per token. Returns false when a token is
 * not all digits.
 */
export function readUints(line: string, from: number, out: number[]): boolean {
  out.length = 0;
  let n = 0;
  let inToken = false;
  for (let i = from; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      if (inToken) {
        out.push(n);
        n = 0;
        inToken = false;
      }
    } else {
      const d = c - 48;
      if (d < 0 || d > 9) return false;
      n = n * 10 + d;
      inToken = true;
    }
  }
  if (inToken) out.push(n);
  return true;
}

/** Index just past the first whitespace-delimited token at or after `from` (and the token). */
export function nextToken(line: string, from: number): { token: string; end: number } {
  let i = from;
  while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
  const start = i;
  while (i < line.length && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
  return { token: line.slice(start, i), end: i };
}

/** A non-negative decimal integer, or NaN when the token is anything else. */
export function uint(token: string | undefined): number {
  if (token === undefined || token.length === 0 || token.length > 20) return Number.NaN;
  let n = 0;
  for (let i = 0; i < token.length; i++) {
    const d = token.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A plain decimal number such as "0.21" or "16072645.20"; NaN otherwise. */
export function decimal(token: string | undefined): number {
  if (token === undefined || !DECIMAL.test(token)) return Number.NaN;
  return Number(token);
}

/** Records `line` (1-based) as left out, with what the parser expected there. */
export function skipLine(skipped: SkippedLine[], line: number, text: string, reason: string): void {
  skipped.push({ line, text: text.length > 200 ? `${text.slice(0, 200)}…` : text, reason });
}

/**
 * Skipping is for the odd line among readable ones: text that had lines but not one readable
 * record is unreadable, and its first bad line says why.
 */
export function failIfNothingRead(skipped: readonly SkippedLine[], records: number): void {
  const first = skipped[0];
  if (records === 0 && first !== undefined) throw new ParseError(first.reason, first.line);
}

/** The first non-blank line, trimmed: what a failed command said, for a one-line reason. */
export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}

export function lines(text: string): string[] {
  const out = text.split('\n');
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** JSON.parse whose failures are ParseErrors carrying the line of the fault when known. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(msg);
    let line = 1;
    if (pos?.[1] !== undefined) {
      const at = Number(pos[1]);
      for (let i = 0; i < at && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
    }
    throw new ParseError(`expected ${what}`, line);
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, key: string): JsonObject | undefined {
  if (!isObject(v)) return undefined;
  const x = v[key];
  return isObject(x) ? x : undefined;
}

export function num(v: unknown, key: string): number | null {
  if (!isObject(v)) return null;
  const x = v[key];
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

export function str(v: unknown, key: string): string | null {
  if (!isObject(v)) return null;
  const x = v[key];
  return typeof x === 'string' ? x : null;
}

/**
 * Splits the output of a command that printed `@@ip:<name> [args]` marker lines into the
 * text between markers. Markers are ours; no /proc file or df line starts with "@@ip:".
 */
export interface Section {
  name: string;
  args: string;
  body: string;
}

export const MARKER = '@@ip:';

export function splitSections(output: string): Section[] {
  const out: Section[] = [];
  let pos = output.startsWith(MARKER) ? 0 : output.indexOf('\n' + MARKER);
  if (pos < 0) return out;
  if (pos > 0 || !output.startsWith(MARKER)) pos += 1;
  while (pos >= 0 && pos < output.length) {
    const eol = output.indexOf('\n', pos);
    const header = output.slice(pos + MARKER.length, eol < 0 ? output.length : eol);
    const space = header.indexOf(' ');
    const name = space < 0 ? header : header.slice(0, space);
    const args = space < 0 ? '' : header.slice(space + 1);
    if (eol < 0) {
      out.push({ name, args, body: '' });
      break;
    }
    const next = output.indexOf('\n' + MARKER, eol - 1);
    const bodyEnd = next < 0 ? output.length : next + 1;
    out.push({ name, args, body: output.slice(eol + 1, bodyEnd) });
    pos = next < 0 ? -1 : next + 1;
  }
  return out;
}

/**
 * `s` as a string of its own. V8 makes a substring of 13 or more characters a view into its
 * parent, so a name kept from a command's output would keep the whole output alive for as long
 * as its sample waits to be written (issue #16: at 1,000 devices, megabytes promoted to the old
 * generation). Shorter substrings are copies already.
 */
export function ownString(s: string): string {
  // Concatenating makes a cons string; slicing it flattens it into a fresh copy. (No Buffer:
  // the dashboard's type check reaches this module through the collectors' shared types.)
  return s.length < 13 ? s : (' ' + s).slice(1);
}
