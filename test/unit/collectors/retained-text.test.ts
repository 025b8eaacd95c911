/**
 * Names kept from a command's output must not keep the whole output alive (issue #16 item 5).
 * V8 makes a substring of 13 or more characters a view into its parent string, so a filesystem
 * or interface name sliced out of `df` or /proc/net/dev output held all of it for as long as
 * the sample waited in the write batch: at 1,000 devices about 2 MB of outputs, promoted to the
 * old generation. Each case runs in its own Node process: parse, keep one name, drop the output,
 * write a heap snapshot, look for a line of the output in it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** True when the snapshot still holds the output's second line after only `keep` of the parse result is kept. */
function outputRetained(parser: 'parseDf' | 'parseNetDev', module: string, output: string, keep: string): boolean {
  const script = `
import v8 from 'node:v8';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ${parser} } from ${JSON.stringify(module)};
const id = randomUUID().replaceAll('-', '');
const kept = (() => {
  // As stdout arrives: one flat string, built from bytes; unreachable once this returns.
  const text = Buffer.from(${JSON.stringify(output)}.replace('ID', id)).toString();
  return ((r) => ${keep})(${parser}(text));
})();
const file = v8.writeHeapSnapshot();
const found = fs.readFileSync(file, 'utf8').includes('other' + id + ' ');
fs.rmSync(file);
console.log(kept.length > 0 && found ? 'retained' : 'free');
`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
  return out.trim() === 'retained';
}

test('a filesystem name and mount point from df keep none of its output', () => {
  const df = 'Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/mapper/vg0-long-root 1000 500 500 50% /srv/some/long/mount\n/dev/otherID 100 50 50 50% /data\n';
  expect(outputRetained('parseDf', './src/collectors/df.ts', df, 'r.filesystems[0].filesystem + "|" + r.filesystems[0].mount')).toBe(false);
}, 60_000);

test('an interface name from /proc/net/dev keeps none of its output', () => {
  const netdev = 'Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\nveth1a2b3c4d5e6f: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\notherID 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n';
  expect(outputRetained('parseNetDev', './src/collectors/proc.ts', netdev, 'r.interfaces[0].name')).toBe(false);
}, 60_000);
