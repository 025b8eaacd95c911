// `infrapulse parse <kind> <file>`: runs one pure parser on captured output and prints its
// JSON, so people can check what infrapulse would read from a host without connecting to it.
import { readFile } from 'node:fs/promises';
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
import { isObject, parseJson } from './text.ts';
import { parseSmartctl, parseSmartctlScan } from './smartctl.ts';
import { ParseError } from './types.ts';

function smartctl(text: string): unknown {
  // A scan (`smartctl --scan -j`) is smartctl output too; anything else is a drive report.
  const j = text.trimStart().startsWith('{') ? parseJson(text, 'smartctl JSON output (smartctl -j)') : null;
  if (isObject(j) && Array.isArray(j.devices)) return { devices: parseSmartctlScan(text) };
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

/** Returns the exit code: 0 printed, 1 unreadable file or input, 2 unknown kind. */
export async function runParse(kind: string, file: string, io: ParseIo = processIo): Promise<number> {
  const parse = Object.hasOwn(PARSE_KINDS, kind) ? PARSE_KINDS[kind] : undefined;
  if (parse === undefined) {
    io.stderr(`unknown kind "${kind}"; ${PARSE_USAGE}\n`);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
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
