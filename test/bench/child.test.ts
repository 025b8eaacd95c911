/** bench/child.ts: a part that fails while a child is still starting must not leave it running (the bench would never exit). */
import { expect, test } from 'vitest';
import { Child, stopLeftoverChildren } from '../../bench/child.ts';

test('a child that never answered is stopped by stopLeftoverChildren, which counts it', { timeout: 30_000 }, async () => {
  const child = new Child<{ type: 'start' }, { type: 'ready' }>('../test/bench/silent-child.ts', 'silent');
  await expect(child.next('ready', 1000)).rejects.toThrow('silent: no "ready" message within 1000 ms');
  expect(child.proc.exitCode).toBeNull();
  expect(child.proc.signalCode).toBeNull();
  expect(await stopLeftoverChildren()).toBe(1);
  expect(child.proc.signalCode).toBe('SIGTERM');
  expect(await stopLeftoverChildren()).toBe(0);
});
