/**
 * Every subcommand answers `--help` with its usage (exit 0) and a bad option with one line and
 * the usage (exit 2), never a stack trace (issue 14, item 6). Real CLI processes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '../../../bin/infrapulse.js');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-cli-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const COMMANDS = ['serve', 'parse', 'token', 'simulate', 'mcp', 'schema', 'rotate-key', 'migrate', 'bench'];

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      // DATA_DIR of its own and an unreachable database: a command that wrongly went ahead would fail differently.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none', DATABASE_CONNECT_ATTEMPTS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('CLI usage', () => {
  test.each(COMMANDS)('%s --help prints its usage and exits 0', { timeout: 60_000 }, async (command) => {
    const r = await cli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: infrapulse ${command}\\b`));
    expect(r.stderr).toBe('');
  });

  test.each(COMMANDS)('%s with an unknown option prints one line and its usage and exits 2', { timeout: 60_000 }, async (command) => {
    const r = await cli([command, '--no-such-option']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`infrapulse ${command}: unknown option --no-such-option`);
    expect(lines[1]).toMatch(new RegExp(`^usage: infrapulse ${command}\\b`));
    expect(r.stderr).not.toMatch(/\n\s+at |ERR_PARSE_ARGS/);
  });

  test('-h works as --help and the top-level usage lists every command', { timeout: 60_000 }, async () => {
    const [short, top] = await Promise.all([cli(['token', '-h']), cli(['--help'])]);
    expect(short.code).toBe(0);
    expect(short.stdout).toMatch(/^usage: infrapulse token create/);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(`\n  ${command}`);
  });
});
