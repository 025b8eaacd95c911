// Sensors: temperatures and fans from the kernel's hwmon class (/sys/class/hwmon/hwmon*), read
// in one exec as a dump of "<hwmonN>[/device]/<attribute>:<value>" lines, and its pure parser.
// The attribute names and units are the kernel's (Documentation/hwmon/sysfs-interface.rst):
// temperatures in millidegrees Celsius, fan speeds in RPM.
import type { SkippedLine } from './types.ts';
import { failIfNothingRead, lines, skipLine } from './text.ts';

/** The attributes read, in the order the command reads them. */
export const HWMON_ATTRIBUTE_GLOBS = [
  'name', 'temp*_input', 'temp*_label', 'temp*_max', 'temp*_crit', 'fan*_input', 'fan*_label', 'fan*_min',
] as const;

/**
 * `grep -H .` prints "<file>:<line>" for every non-empty line, so empty attribute files (some
 * drivers leave labels empty) and files whose read fails (a sensor that answers EIO) print
 * nothing. Drivers before Linux 2.6.3x kept their attributes in hwmonN/device/, so both are read.
 * `root` exists for tests, which point it at a directory laid out as a host's `/`.
 */
export function hwmonCommand(root = ''): string {
  const dir = `${root}/sys/class/hwmon`.replace(/'/g, `'\\''`);
  const files = HWMON_ATTRIBUTE_GLOBS.map((g) => `"$p"/${g}`).join(' ');
  // A subshell, so that the cd does not move a script this command is joined into.
  return [
    '(',
    'LC_ALL=C; export LC_ALL',
    `if cd '${dir}' 2>/dev/null; then`,
    '  for d in hwmon*; do',
    '    [ -d "$d" ] || continue',
    '    for p in "$d" "$d/device"; do',
    `      grep -H . ${files} 2>/dev/null`,
    '    done',
    '  done',
    // grep exits 2 whenever a glob matched nothing, which is normal here.
    '  :',
    'else echo @@ip:no-hwmon; fi',
    ')',
  ].join('\n');
}

export const HWMON_COMMAND = hwmonCommand();

export interface Temperature {
  /** The attribute stem: temp1, temp2, … */
  sensor: string;
  /** tempN_label, else the stem. */
  label: string;
  celsius: number | null;
  maxCelsius: number | null;
  critCelsius: number | null;
}

export interface Fan {
  sensor: string;
  label: string;
  /** 0 is a stopped fan (or one without a tachometer signal). */
  rpm: number | null;
  minRpm: number | null;
}

export interface HwmonChip {
  /** hwmonN: numbers follow probe order and may change across reboots. */
  id: string;
  /** The driver's chip name (coretemp, k10temp, nvme, nct6779, …). */
  name: string | null;
  temperatures: Temperature[];
  fans: Fan[];
}

const LINE = /^(?:.*\/)?(hwmon\d+)\/(device\/)?([A-Za-z0-9_]+):(.*)$/;
const SENSOR = /^(temp|fan)(\d+)_(input|label|max|crit|min)$/;
const INTEGER = /^-?\d+$/;
/** NVMe drives report a threshold they do not have as 65535 K, which reads 65261.85 °C. */
const NO_THRESHOLD_MILLI = 65_261_850;

type Attrs = Map<string, string>;

/** hwmon2 before hwmon10, temp2 before temp10: the order globs do not give. */
function natural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function chip(id: string, own: Attrs, device: Attrs): HwmonChip {
  const get = (attr: string) => own.get(attr) ?? device.get(attr);
  const stems = new Map<string, 'temp' | 'fan'>();
  for (const attr of [...own.keys(), ...device.keys()]) {
    const m = SENSOR.exec(attr);
    // A sensor whose input file was empty or unreadable still shows, with a null reading.
    if (m !== null) stems.set(`${m[1]}${m[2]}`, m[1] as 'temp' | 'fan');
  }
  const int = (attr: string): number | null => {
    const v = get(attr);
    return v !== undefined && INTEGER.test(v) ? Number(v) : null;
  };
  const celsius = (attr: string, threshold = false): number | null => {
    const milli = int(attr);
    return milli === null || (threshold && milli >= NO_THRESHOLD_MILLI) ? null : milli / 1000;
  };
  const temperatures: Temperature[] = [];
  const fans: Fan[] = [];
  for (const [stem, kind] of [...stems].sort((a, b) => natural(a[0], b[0]))) {
    const label = get(`${stem}_label`) || stem;
    if (kind === 'temp') {
      temperatures.push({ sensor: stem, label, celsius: celsius(`${stem}_input`), maxCelsius: celsius(`${stem}_max`, true), critCelsius: celsius(`${stem}_crit`, true) });
    } else {
      fans.push({ sensor: stem, label, rpm: int(`${stem}_input`), minRpm: int(`${stem}_min`) });
    }
  }
  return { id, name: get('name') ?? null, temperatures, fans };
}

/**
 * The dump HWMON_COMMAND prints (or `infrapulse parse hwmon <dir>` builds from a directory):
 * chips with their temperatures (°C) and fans (RPM). A value of hwmonN/ wins over the same
 * attribute under hwmonN/device/. Lines that are not "<hwmonN>/<attribute>:<value>" are skipped.
 */
export function parseHwmonDump(text: string): { chips: HwmonChip[]; skipped: SkippedLine[] } {
  const ls = lines(text);
  const own = new Map<string, Attrs>();
  const device = new Map<string, Attrs>();
  const skipped: SkippedLine[] = [];
  let recognised = 0;
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line === '@@ip:no-hwmon') {
      recognised++;
      continue;
    }
    const m = LINE.exec(line);
    const attr = m?.[3];
    if (m === null || attr === undefined || (attr !== 'name' && !SENSOR.test(attr))) {
      skipLine(skipped, i + 1, line, 'expected "hwmonN/<attribute>:<value>" (name, tempN_*, fanN_*)');
      continue;
    }
    const value = m[4]!.trim();
    if (attr !== 'name' && !attr.endsWith('_label') && !INTEGER.test(value)) {
      skipLine(skipped, i + 1, line, `expected an integer in ${attr}`);
      continue;
    }
    recognised++;
    const id = m[1]!;
    const into = m[2] === undefined ? own : device;
    if (!own.has(id)) own.set(id, new Map());
    if (!device.has(id)) device.set(id, new Map());
    // A multi-line file prints one line per line of it; its first line is the value.
    if (!into.get(id)!.has(attr)) into.get(id)!.set(attr, value);
  }
  failIfNothingRead(skipped, recognised);
  const chips = [...own.keys()].sort(natural).map((id) => chip(id, own.get(id)!, device.get(id)!));
  return { chips, skipped };
}
