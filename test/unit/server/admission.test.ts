import { describe, expect, it } from 'vitest';
import { createAdmission } from '../../../src/server/admission.ts';

describe('GraphQL admission', () => {
  it('runs at most `concurrent`, queues `queued` in order, refuses the rest at once', async () => {
    const a = createAdmission(2, 2);
    const order: number[] = [];
    const entered = [1, 2, 3, 4, 5].map((i) =>
      a.enter().then((ok) => {
        if (ok) order.push(i);
        return ok;
      }),
    );
    // Two execute, two wait, the fifth is refused without waiting for anyone.
    await expect(entered[4]).resolves.toBe(false);
    expect(a.stats()).toEqual({ active: 2, queued: 2, rejected: 1 });
    expect(order).toEqual([1, 2]);
    a.leave();
    await expect(entered[2]).resolves.toBe(true);
    expect(a.stats()).toMatchObject({ active: 2, queued: 1 });
    a.leave();
    await expect(entered[3]).resolves.toBe(true);
    expect(order).toEqual([1, 2, 3, 4]);
    a.leave();
    a.leave();
    expect(a.stats()).toMatchObject({ active: 0, queued: 0 });
  });

  it('0 turns the bounds off', async () => {
    const a = createAdmission(0, 0);
    const all = await Promise.all(Array.from({ length: 50 }, () => a.enter()));
    expect(all.every(Boolean)).toBe(true);
    expect(a.stats().rejected).toBe(0);
  });

  it('while polls wait for a slot, runs one request at a time and queues the rest; then the full bounds again', async () => {
    let pressed = false;
    const a = createAdmission(3, 2, () => pressed);
    const first = [a.enter(), a.enter()];
    expect(a.stats()).toMatchObject({ active: 2, queued: 0 });
    pressed = true;
    // Two run already, beyond the pressed limit of 1: the next ones queue, and past the queue are refused.
    const queued = [a.enter(), a.enter()];
    await expect(a.enter()).resolves.toBe(false);
    expect(a.stats()).toEqual({ active: 2, queued: 2, rejected: 1 });
    a.leave();
    expect(a.stats()).toMatchObject({ active: 1, queued: 2 });
    a.leave();
    expect(a.stats()).toMatchObject({ active: 1, queued: 1 });
    a.leave();
    expect(a.stats()).toMatchObject({ active: 1, queued: 0 });
    await expect(Promise.all([...first, ...queued])).resolves.toEqual([true, true, true, true]);
    // Pressure gone: up to three run again.
    pressed = false;
    await expect(a.enter()).resolves.toBe(true);
    await expect(a.enter()).resolves.toBe(true);
    expect(a.stats()).toMatchObject({ active: 3, queued: 0 });
  });
});
