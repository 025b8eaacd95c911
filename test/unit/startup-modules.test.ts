/**
 * Issue #16 item 5 (idle server < 100 MB): packages that only some configurations use are
 * imported when first used, not at start. Importing the composition root (src/main.ts, as
 * `infrapulse serve` does) must not load the Redis client (only with REDIS_URL) nor the SMTP
 * library (only when an EMAIL channel sends). Each one resident costs an idle server
 * megabytes of module source, compiled code and objects.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-modules-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every module URL a fresh Node process loads while it imports `entries` (a module-loading hook writes them down). */
function modulesLoadedBy(entries: string[]): string[] {
  const list = path.join(dir, `loaded-${entries.length}.txt`);
  const hooks = `import fs from 'node:fs';\nexport async function load(url, context, next) { fs.appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, context); }\n`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  const script = entries.map((e) => `await import(${JSON.stringify(e)});`).join('\n');
  execFileSync(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  return fs.readFileSync(list, 'utf8').split('\n').filter(Boolean);
}

const packages = (urls: string[], names: string[]) => names.filter((n) => urls.some((u) => u.includes(`/node_modules/${n}/`)));

test('starting the server loads neither the Redis client nor the SMTP library', () => {
  const urls = modulesLoadedBy(['./src/main.ts']);
  // The hook saw the server's own graph (so an empty answer below is not a hook that saw nothing).
  expect(packages(urls, ['graphql-yoga', 'ssh2'])).toEqual(['graphql-yoga', 'ssh2']);
  expect(packages(urls, ['ioredis', '@graphql-yoga/redis-event-target', 'nodemailer'])).toEqual([]);
}, 90_000);
