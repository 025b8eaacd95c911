/** The DATA_DIR owner lock (src/db/owner.ts): who counts as a running owner, and takeover of stale locks. */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { acquireOwnerLock, currentOwner, DataDirBusyError } from '../../../src/db/owner.ts';

const dirs: string[] = [];
const dir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const lockOf = (d: string) => path.join(d, 'infrapulse.lock');

describe('owner lock', () => {
  test('a lock held by a running process is reported, with its port; release removes it', () => {
    const d = dir();
    const sleeper = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(lockOf(d), JSON.stringify({ pid: sleeper.pid, command: 'serve', processStart: null, postgresPort: 5555 }));
      expect(currentOwner(d)).toMatchObject({ pid: sleeper.pid, command: 'serve', postgresPort: 5555 });
      expect(() => acquireOwnerLock(d, 'token create')).toThrow(DataDirBusyError);
      expect(() => acquireOwnerLock(d, 'token create')).toThrow(`DATA_DIR ${d} is in use by a running infrapulse serve (pid ${sleeper.pid}); stop it first or use another DATA_DIR`);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  test('locks of a process that is gone, of a recycled pid or torn by a crash are taken over', () => {
    const d = dir();
    const gone = spawnSync('true').pid;
    const stat = fs.readFileSync('/proc/1/stat', 'utf8');
    const notPid1Start = `${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}9`;
    const stale = [
      JSON.stringify({ pid: gone, command: 'serve', processStart: null, postgresPort: null }),
      // pid 1 is running, but it is not the process that wrote the lock: its start time differs.
      JSON.stringify({ pid: 1, command: 'serve', processStart: notPid1Start, postgresPort: null }),
      '{"pid": 12',
    ];
    for (const content of stale) {
      fs.writeFileSync(lockOf(d), content);
      expect(currentOwner(d)).toBeUndefined();
      const lock = acquireOwnerLock(d, 'serve');
      lock.recordPort(4321);
      expect(JSON.parse(fs.readFileSync(lockOf(d), 'utf8'))).toMatchObject({ pid: process.pid, command: 'serve', postgresPort: 4321 });
      lock.release();
      expect(fs.existsSync(lockOf(d))).toBe(false);
    }
  });
});
