// `infrapulse parse hwmon <dir>`: reads a directory laid out as a host's `/` into the very text
// HWMON_COMMAND prints on that host (same files, same order, same "grep -H ." lines), so the
// parse kind and the collector share one parser and give the same JSON. I/O lives here, not in
// sensors.ts, which stays pure.
import { readdir, readFile, stat } from 'node:fs/promises';
import { HWMON_ATTRIBUTE_GLOBS } from './sensors.ts';

/** Byte order, as the shell sorts glob matches under LC_ALL=C. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort(byteOrder);
  } catch {
    return [];
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/\*/g, '[^/]*')}$`);
}

const GLOBS = HWMON_ATTRIBUTE_GLOBS.map(globToRegExp);

/** What `grep -H . <file>` prints for one file: nothing when it is empty or cannot be read. */
async function grepLines(path: string, shown: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `${shown}:${l}`);
}

export async function readHwmonTree(root: string): Promise<string> {
  const base = `${root.replace(/\/+$/, '')}/sys/class/hwmon`;
  if (!(await isDirectory(base))) return '@@ip:no-hwmon\n';
  const out: string[] = [];
  for (const d of await entries(base)) {
    if (!d.startsWith('hwmon') || !(await isDirectory(`${base}/${d}`))) continue;
    for (const p of [d, `${d}/device`]) {
      const names = await entries(`${base}/${p}`);
      for (const glob of GLOBS) {
        for (const name of names.filter((n) => glob.test(n))) {
          out.push(...(await grepLines(`${base}/${p}/${name}`, `${p}/${name}`)));
        }
      }
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
