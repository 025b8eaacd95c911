// GPUs: NVIDIA's `nvidia-smi --query-gpu` CSV, and its pure parser. The columns are named by
// the header when there is one (any number and order of fields, units in the header and in the
// values); without a header they are NVIDIA_SMI_FIELDS in order. A value nvidia-smi cannot give
// ("[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", empty) is null, never 0, and a row whose
// column count differs from the header's is skipped rather than read shifted.
import type { SkippedLine } from './types.ts';
import { failIfNothingRead, lines, skipLine } from './text.ts';

export const NVIDIA_SMI_FIELDS = [
  'index',
  'uuid',
  'name',
  'temperature.gpu',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'power.draw',
  'power.limit',
  'fan.speed',
] as const;

export const NVIDIA_SMI_COMMAND = `nvidia-smi --query-gpu=${NVIDIA_SMI_FIELDS.join(',')} --format=csv,noheader,nounits`;

export interface Gpu {
  index: number | null;
  uuid: string | null;
  name: string | null;
  temperatureC: number | null;
  utilizationPercent: number | null;
  memoryUtilizationPercent: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  powerDrawWatts: number | null;
  powerLimitWatts: number | null;
  /** Percent of the fan's maximum speed; null on fanless (passively cooled) boards. */
  fanPercent: number | null;
}

/** Field names nvidia-smi accepts for the same value (`nvidia-smi --help-query-gpu`). */
const ALIASES: Record<string, string> = {
  gpu_name: 'name',
  gpu_uuid: 'uuid',
  'power.draw.average': 'power.draw',
  'enforced.power.limit': 'power.limit',
};

/** Sizes nvidia-smi prints for memory fields, in bytes per unit. */
const MEMORY_UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** "memory.used [MiB]" → ["memory.used", "MiB"]. */
function headerField(cell: string): [string, string | null] {
  const m = /^(.*?)\s*\[([^\]]*)\]$/.exec(cell.trim());
  const name = (m === null ? cell.trim() : m[1]!).toLowerCase();
  return [ALIASES[name] ?? name, m === null ? null : m[2]!];
}

/** Every cell a query field name ("index", "fan.speed [%]"): an error message never is. */
function isHeader(cells: string[]): boolean {
  return cells.every((c) => /^[a-z0-9_]+(\.[a-z0-9_]+)*$/.test(headerField(c)[0]));
}

/** "627.40 W", "100 %", "52", "32362 MiB" → [number, unit]; anything else (N/A …) → null. */
function measure(cell: string | undefined): [number, string] | null {
  const m = /^(-?\d+(?:\.\d+)?)\s*([A-Za-z%]*)$/.exec((cell ?? '').trim());
  return m === null ? null : [Number(m[1]), m[2]!];
}

function text(cell: string | undefined): string | null {
  const v = (cell ?? '').trim();
  return v === '' || v === 'N/A' || /^\[.*\]$/.test(v) ? null : v;
}

function gpu(cells: string[], columns: Map<string, { at: number; unit: string | null }>): Gpu {
  const cell = (name: string) => {
    const c = columns.get(name);
    return c === undefined ? undefined : cells[c.at];
  };
  const number = (name: string) => measure(cell(name))?.[0] ?? null;
  const bytes = (name: string) => {
    const m = measure(cell(name));
    const unit = m?.[1] || columns.get(name)?.unit || 'MiB';
    const per = MEMORY_UNITS[unit];
    return m === null || per === undefined ? null : m[0] * per;
  };
  const index = number('index');
  return {
    index: index !== null && Number.isInteger(index) ? index : null,
    uuid: text(cell('uuid')),
    name: text(cell('name')),
    temperatureC: number('temperature.gpu'),
    utilizationPercent: number('utilization.gpu'),
    memoryUtilizationPercent: number('utilization.memory'),
    memoryUsedBytes: bytes('memory.used'),
    memoryTotalBytes: bytes('memory.total'),
    powerDrawWatts: number('power.draw') ?? number('power.draw.instant'),
    powerLimitWatts: number('power.limit'),
    fanPercent: number('fan.speed'),
  };
}

/**
 * `nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]`. "No devices were found" is a
 * host without GPUs: no rows, nothing skipped.
 */
export function parseNvidiaSmi(text: string): { gpus: Gpu[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const gpus: Gpu[] = [];
  const skipped: SkippedLine[] = [];
  let columns: Map<string, { at: number; unit: string | null }> | null = null;
  let width: number = NVIDIA_SMI_FIELDS.length;
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.trim() === '' || line.trim() === 'No devices were found') continue;
    const cells = line.split(',');
    if (columns === null) {
      columns = new Map();
      if (isHeader(cells)) {
        cells.forEach((c, at) => {
          const [name, unit] = headerField(c);
          if (!columns!.has(name)) columns!.set(name, { at, unit });
        });
        width = cells.length;
        continue;
      }
      NVIDIA_SMI_FIELDS.forEach((name, at) => columns!.set(name, { at, unit: null }));
    }
    if (cells.length !== width) {
      skipLine(skipped, i + 1, line, `expected ${width} comma-separated values, as the header says`);
      continue;
    }
    gpus.push(gpu(cells, columns));
  }
  failIfNothingRead(skipped, gpus.length);
  return { gpus, skipped };
}
