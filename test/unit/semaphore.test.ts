import { describe, expect, it } from 'vitest';
import { createSemaphore } from '../../src/semaphore.ts';

describe('semaphore', () => {
  it('hands a released permit to the oldest waiter, counts permits and waiters, fails waiters only', async () => {
    const s = createSemaphore(1);
    await s.acquire();
    const order: string[] = [];
    const a = s.acquire().then(() => order.push('a'));
    const b = s.acquire().then(() => order.push('b'));
    expect([s.inUse, s.waiting]).toEqual([1, 2]);
    s.release();
    await a;
    expect(order).toEqual(['a']);
    expect([s.inUse, s.waiting]).toEqual([1, 1]);
    s.failAll(new Error('closed'));
    await expect(b).rejects.toThrow('closed');
    expect([s.inUse, s.waiting]).toEqual([1, 0]);
    s.release();
    expect(s.inUse).toBe(0);
  });
});
