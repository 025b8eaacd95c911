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
 *
 * The schedule comes first: while `pressed()` says polls are waiting for a concurrency slot,
 * one request executes at a time (the queue stays as it is, so a dashboard's burst of queries
 * waits its turn rather than failing). Under query load a
 * poll's SSH round trips wait for the same loop turns as the queries (bench `schedule`: a
 * collector's run took 18 ms without API load and 250 ms at 200 queries/s with 4 executing),
 * so the slots the poller needs come back only as fast as the API leaves the loop free.
 */
export interface Admission {
  /** True: go ahead, and call leave() when done. False: refused (the queue is full). */
  enter(): Promise<boolean>;
  leave(): void;
  stats(): { active: number; queued: number; rejected: number };
}

export function createAdmission(concurrent: number, queued: number, pressed: () => boolean = () => false): Admission {
  let active = 0;
  let rejected = 0;
  const waiting: Array<() => void> = [];
  const limits = (): { run: number; queue: number } => {
    if (concurrent === 0) return { run: Infinity, queue: Infinity };
    const queue = queued === 0 ? Infinity : queued;
    return { run: pressed() ? 1 : concurrent, queue };
  };
  return {
    enter() {
      const limit = limits();
      if (active < limit.run) {
        active++;
        return Promise.resolve(true);
      }
      if (waiting.length >= limit.queue) {
        rejected++;
        return Promise.resolve(false);
      }
      return new Promise<boolean>((resolve) => waiting.push(() => resolve(true)));
    },
    leave() {
      active = Math.max(0, active - 1);
      const run = limits().run;
      while (waiting.length > 0 && active < run) {
        active++;
        waiting.shift()!();
      }
    },
    stats: () => ({ active, queued: waiting.length, rejected }),
  };
}
