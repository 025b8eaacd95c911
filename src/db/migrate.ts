import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { scrubText } from '../log.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PRISMA_CLI = path.join(ROOT, 'node_modules/prisma/build/index.js');

const applied = (out: string) => [...out.matchAll(/└─ (\d+_\w+)\//g)].map((m) => m[1] ?? '');

/**
 * `prisma migrate deploy` through the JS schema engine (prisma.config.ts). Idempotent: applied
 * migrations are skipped. Returns the names it applied; throws with Prisma's own error text.
 */
export function migrateDeploy(databaseUrl: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PRISMA_CLI, 'migrate', 'deploy'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let done = false;
    // The CLI's wasm schema engine leaves a 10 s timer pending after it has finished, so the
    // process lingers; once it has printed its verdict the migration is committed and over.
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!done && /No pending migrations to apply|All migrations have been successfully applied/.test(out)) {
        done = true;
        child.kill('SIGTERM');
        resolve(applied(out));
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (done) return;
      if (code === 0) {
        resolve(applied(out));
        return;
      }
      const reason = out.split('\n').filter((l) => /error|Error|ERROR|P\d{4}/.test(l)).slice(0, 4).join(' | ');
      reject(new Error(`database migration failed: ${scrubText(reason || out.trim().slice(-500))}`));
    });
  });
}
