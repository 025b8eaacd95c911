/**
 * `npm ci` compiles the server into dist/ (scripts/build.ts, the prepare script) and
 * bin/infrapulse.js runs it only while it is newer than every source (bin/fresh.js), so the
 * production start has no TypeScript transform (issue 16, item 5) and an edit never runs stale code.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { compiledIsFresh } from '../../../bin/fresh.js';
import { SERVER_DIST, buildServer } from '../../../scripts/build.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-build-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('which tree bin/infrapulse.js runs', () => {
  const root = path.join(tmp, 'tree');
  const source = path.join(root, 'src', 'db', 'index.ts');
  const stamp = path.join(root, 'dist', '.build.json');
  const at = (file: string, seconds: number) => fs.utimesSync(file, seconds, seconds);

  test('none without a build, the build while it is newest, the sources after any edit', () => {
    fs.mkdirSync(path.dirname(source), { recursive: true });
    fs.writeFileSync(source, 'export {};\n');
    at(source, 1_000);
    expect(compiledIsFresh(root)).toBe(false);

    fs.mkdirSync(path.dirname(stamp), { recursive: true });
    fs.writeFileSync(stamp, '{}\n');
    at(stamp, 2_000);
    expect(compiledIsFresh(root)).toBe(true);

    at(source, 3_000); // an edit two folders down
    expect(compiledIsFresh(root)).toBe(false);
  });
});

describe('the compiled server', () => {
  test('mirrors src/ module for module and runs with plain Node, no tsx', { timeout: 120_000 }, async () => {
    const built = await buildServer();
    const sources = fs.readdirSync(path.resolve(SERVER_DIST, '../src'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f));
    expect(built.files).toBe(sources.length);
    for (const f of sources) expect(fs.existsSync(path.join(SERVER_DIST, f.replace(/\.tsx?$/, '.js'))), f).toBe(true);
    expect(compiledIsFresh()).toBe(true);

    // `schema check` loads every GraphQL type and what they import (storage, poller, alerts,
    // events) and compares the printed schema with schema.graphql: the whole module graph resolves.
    const r = spawnSync(process.execPath, [path.join(SERVER_DIST, 'cli.js'), 'schema', 'check'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: tmp } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(SERVER_DIST, 'cli.js'), 'utf8')).not.toMatch(/from "\.[^"]*\.ts"/);
  });
});
