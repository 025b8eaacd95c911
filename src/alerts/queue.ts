/**
 * One worker, jobs in order: the evaluator's batches, status changes, ticks and reloads never
 * interleave, and the poller that queues a batch returns at once. Bounded: past `maxQueue`
 * jobs are dropped with a warning rather than growing without limit behind a slow database.
 */
import type { Logger } from '../log.ts';

export interface SerialQueue {
  /** Queues a job (ignored while stopped); a job that throws is logged with `what`. */
  enqueue(job: () => Promise<void>, what: string): void;
  /** Resolves when every queued job has run. */
  drained(): Promise<void>;
  running: boolean;
  stats(): { queued: number; evaluated: number; dropped: number };
}

export function createSerialQueue(maxQueue: number, log: Logger): SerialQueue {
  const jobs: (() => Promise<void>)[] = [];
  let draining: Promise<void> | null = null;
  let evaluated = 0;
  let dropped = 0;

  const queue: SerialQueue = {
    running: false,
    enqueue(job, what) {
      if (!queue.running) return;
      if (jobs.length >= maxQueue) {
        dropped++;
        log.warn({ queued: jobs.length, dropped }, 'alert evaluation queue full: dropping work');
        return;
      }
      jobs.push(async () => {
        try {
          await job();
        } catch (err) {
          log.error({ err: (err as Error).message, what }, 'alert evaluation failed');
        }
      });
      draining ??= (async () => {
        // Let the poller's caller continue before evaluation starts.
        await new Promise<void>((r) => setImmediate(r));
        for (let next = jobs.shift(); next; next = jobs.shift()) {
          await next();
          evaluated++;
        }
        draining = null;
      })();
    },
    async drained() {
      while (draining) await draining;
    },
    stats: () => ({ queued: jobs.length, evaluated, dropped }),
  };
  return queue;
}
