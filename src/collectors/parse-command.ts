// `infrapulse parse <kind> <file>`: runs one pure parser on captured output and prints its
// JSON, so people can check what infrapulse would read from a host without connecting to it.
import { readFile, stat } from 'node:fs/promises';
import { parseDf } from './df.ts';
import { parseDockerPs, parseDockerStats } from './docker.ts';
import {
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseUptime,
} from './proc.ts';
import { parseBtrfsDeviceStats, parseMdstat, parseZpoolList, parseZpoolStatus } from './storage.ts';
import { parseHwmonDump } from './sensors.ts';
import { parseNvidiaSmi } from './gpu.ts';
import { parseProcPidStat, parsePs } from './processes.ts';
import { parseSystemctl } from './systemd.ts';
import { readHwmonTree } from './hwmon-tree.ts';
import { isObject, parseJson } from './text.ts';
import { parseSmartctl, parseSmartctlScan } from './smartctl.ts';
import { ParseError } from './types.ts';

function smartctl(text: string): unknown {
  // A scan (`smartctl --scan -j`) is smartctl output too; anything else is a drive report. A
  // scan that found nothing has no "devices" key at all, only its argv says what it was.
  const j = text.trimStart().startsWith('{') ? parseJson(text, 'smartctl JSON output (smartctl -j)') : null;
  const argv = isObject(j) && isObject(j.smartctl) ? j.smartctl.argv : undefined;
  const scan = Array.isArray(argv) && argv.some((a) => a === '--scan' || a === '--scan-open');
  if (isObject(j) && (Array.isArray(j.devices) || scan)) return { devices: parseSmartctlScan(text) };
  return parseSmartctl(text).report;
}

export const PARSE_KINDS: Record<string, (text: string) => unknown> = {
  'proc-stat': parseProcStat,
  meminfo: parseMeminfo,
  loadavg: parseLoadavg,
  uptime: parseUptime,
  'net-dev': parseNetDev,
  diskstats: parseDiskstats,
  df: parseDf,
  smartctl,
  'docker-ps': parseDockerPs,
  'docker-stats': parseDockerStats,
  mdstat: parseMdstat,
  'zpool-status': parseZpoolStatus,
  'zpool-list': parseZpoolList,
  'btrfs-device-stats': parseBtrfsDeviceStats,
  hwmon: parseHwmonDump,
  'nvidia-smi': parseNvidiaSmi,
  ps: parsePs,
  'proc-pid-stat': parseProcPidStat,
  systemctl: parseSystemctl,
};

export const PARSE_USAGE = `usage: infrapulse parse <kind> <file>  (kinds: ${Object.keys(PARSE_KINDS).join(' ')})`;

export interface ParseIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: ParseIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/**
 * Kinds whose input may also be a directory laid out as the host's `/`: it is read into the
 * same text the kind's collector command prints on a host, so both give the same JSON.
 */
const TREE_READERS: Record<string, (root: string) => Promise<string>> = { hwmon: readHwmonTree };

/** The text a kind parses: the file's, or for a tree kind given a directory, that tree's dump. */
export async function readKindInput(kind: string, path: string): Promise<string> {
  const reader = Object.hasOwn(TREE_READERS, kind) ? TREE_READERS[kind] : undefined;
  if (reader !== undefined && (await stat(path)).isDirectory()) return reader(path);
  return readFile(path, 'utf8');
}

/** Returns the exit code: 0 printed, 1 unreadable file or input, 2 unknown kind. */
export async function runParse(kind: string, file: string, io: ParseIo = processIo): Promise<number> {
  const parse = Object.hasOwn(PARSE_KINDS, kind) ? PARSE_KINDS[kind] : undefined;
  if (parse === undefined) {
    io.stderr(`unknown kind "${kind}"; ${PARSE_USAGE}\n`);
    return 2;
  }
  let text: string;
  try {
    text = await readKindInput(kind, file);
  } catch (err) {
    const code = isObject(err) && typeof err.code === 'string' ? err.code : 'error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code;
    io.stderr(`${file}: cannot read: ${why}\n`);
    return 1;
  }
  try {
    io.stdout(`${JSON.stringify(parse(text), null, 2)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const where = err.line > 0 ? `${file}:${err.line}` : file;
    io.stderr(`${where}: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
}
