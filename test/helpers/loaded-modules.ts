/** Which modules a fresh Node process loads: a module-loading hook writes down every URL it loads. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every module URL a fresh Node process (sources through tsx, cwd the repository) loads while it runs `script`, an ES module body. */
export function modulesLoadedBy(script: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-modules-'));
  try {
    const list = path.join(dir, 'loaded.txt');
    const hooks = `import fs from 'node:fs';\nexport async function load(url, context, next) { fs.appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, context); }\n`;
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    execFileSync(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    return fs.readFileSync(list, 'utf8').split('\n').filter(Boolean);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Those of `names` (npm packages) that `urls` load anything from. */
export const packagesIn = (urls: string[], names: string[]) => names.filter((n) => urls.some((u) => u.includes(`/node_modules/${n}/`)));
