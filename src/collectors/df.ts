// Pure parser for `df -P` style output: `df -PTB1` (what the system collector runs), and
// the 1K-blocks / 1024-blocks variants (busybox, plain GNU df), with or without a Type column.
import { ParseError, type SkippedLine } from './types.ts';
import { failIfNothingRead, fields, lines, ownString, skipLine, uint } from './text.ts';

export interface DfEntry {
  filesystem: string;
  fsType: string | null;
  mount: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  /** used / (used + available), as df computes it (reserved blocks excluded), unrounded. */
  usedPercent: number;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

function blockSize(token: string): number | null {
  if (!token.endsWith('-blocks')) return null;
  const spec = token.slice(0, -'-blocks'.length);
  const unit = spec.slice(-1);
  const hasUnit = unit in UNITS && unit !== '';
  const n = uint(hasUnit ? spec.slice(0, -1) : spec);
  return Number.isNaN(n) || n === 0 ? null : n * (UNITS[hasUnit ? unit : ''] ?? 1);
}

/** Token positions, so the mount point keeps its inner spaces. */
function tokenStarts(line: string): number[] {
  const out: number[] = [];
  let inToken = false;
  for (let i = 0; i < line.length; i++) {
    const space = line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9;
    if (!space && !inToken) out.push(i);
    inToken = !space;
  }
  return out;
}

const DF_LINE = 'expected "filesystem [type] size used available capacity mount" line';

/** Rows that do not read as numbers (a df warning mixed into stdout, a mangled line) are skipped. */
export function parseDf(text: string): { filesystems: DfEntry[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const headerIdx = ls.findIndex((l) => l.trim() !== '');
  const header = fields(ls[headerIdx] ?? '');
  const hasType = header[1] === 'Type';
  const block = blockSize(header[hasType ? 2 : 1] ?? '');
  if (headerIdx < 0 || header[0] !== 'Filesystem' || block === null) {
    throw new ParseError(
      'expected df header "Filesystem [Type] <N>-blocks Used Available Capacity Mounted on"',
      Math.max(headerIdx, 0) + 1,
    );
  }
  const numbersAt = hasType ? 2 : 1;
  const filesystems: DfEntry[] = [];
  const skipped: SkippedLine[] = [];
  let pending = '';
  let pendingLine = 0;
  for (let i = headerIdx + 1; i < ls.length; i++) {
    const raw = ls[i]!;
    if (raw.trim() === '') continue;
    // Non-POSIX df wraps a long filesystem name onto a line of its own.
    const line = pending === '' ? raw : `${pending} ${raw.trimStart()}`;
    const lineNo = pending === '' ? i + 1 : pendingLine;
    const starts = tokenStarts(line);
    if (starts.length < numbersAt + 5 && pending === '' && starts.length <= numbersAt) {
      pending = line.trimEnd();
      pendingLine = i + 1;
      continue;
    }
    pending = '';
    const entry = starts.length < numbersAt + 5 ? null : dfEntry(line, starts, numbersAt, hasType, block);
    if (entry === null) skipLine(skipped, lineNo, line, DF_LINE);
    else filesystems.push(entry);
  }
  if (pending !== '') skipLine(skipped, pendingLine, pending, 'expected the rest of a wrapped df line');
  failIfNothingRead(skipped, filesystems.length);
  return { filesystems, skipped };
}

function dfEntry(line: string, starts: number[], numbersAt: number, hasType: boolean, block: number): DfEntry | null {
  const t = fields(line);
  const size = uint(t[numbersAt]);
  const used = uint(t[numbersAt + 1]);
  const avail = uint(t[numbersAt + 2]);
  const capacity = t[numbersAt + 3]!;
  if (Number.isNaN(size) || Number.isNaN(used) || Number.isNaN(avail) || !(capacity === '-' || capacity.endsWith('%'))) {
    return null;
  }
  const usedBytes = used * block;
  const availableBytes = avail * block;
  return {
    filesystem: ownString(t[0]!),
    fsType: hasType ? ownString(t[1]!) : null,
    mount: ownString(line.slice(starts[numbersAt + 4]!).trimEnd()),
    sizeBytes: size * block,
    usedBytes,
    availableBytes,
    usedPercent: usedBytes + availableBytes > 0 ? (usedBytes / (usedBytes + availableBytes)) * 100 : 0,
  };
}
