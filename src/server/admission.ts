/**
 * Admission for GraphQL over HTTP: at most `concurrent` requests execute at once, up to
 * `queued` more wait in arrival order, and the rest are refused at once (503, Retry-After).
 *
 * Why: the poller shares this process's event loop. Executing every arriving query at once
 * does not answer them sooner when the CPU is short; it fills the loop with their work (and
 * the heap with their results), and timers, SSH replies and writes wait behind it: polls
 * started seconds late or not at all. Bounded execution keeps the loop's turns short, so the
 * schedule holds while the API answers what the machine can and refuses the excess cheaply.
 * 0 turns either bound off.
 */
export interface Admission {
  /** True: go ahead, and call leave() when done. False: refused (the queue is full). */
  enter(): Promise<boolean>;
  leave(): void;
  stats(): { active: number; queued: number; rejected: number };
}

export function createAdmission(concurrent: number, queued: number): Admission {
  let active = 0;
  let rejected = 0;
  const waiting: Array<() => void> = [];
  return {
    enter() {
      if (concurrent === 0 || active < concurrent) {
        active++;
        return Promise.resolve(true);
      }
      if (queued > 0 && waiting.length >= queued) {
        rejected++;
        return Promise.resolve(false);
      }
      // The slot passes straight from leave() to the next waiter: `active` does not change.
      return new Promise<boolean>((resolve) => waiting.push(() => resolve(true)));
    },
    leave() {
      const next = waiting.shift();
      if (next) next();
      else active = Math.max(0, active - 1);
    },
    stats: () => ({ active, queued: waiting.length, rejected }),
  };
}
