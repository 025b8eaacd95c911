/**
 * A FIFO counting semaphore: the poller's cap on devices polled at once, and an SSH
 * connection's cap on open session channels. Waiters can be failed all at once (a runner
 * that closes); a released permit passes straight to the oldest waiter.
 */
export interface Semaphore {
  acquire(): Promise<void>;
  release(): void;
  /** Fails every waiter with `error`; permits already held are unaffected. */
  failAll(error: Error): void;
  readonly inUse: number;
  readonly waiting: number;
}

export function createSemaphore(limit: number): Semaphore {
  let free = limit;
  const waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    acquire(): Promise<void> {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    release(): void {
      const next = waiters.shift();
      if (next) next.resolve();
      else free++;
    },
    failAll(error: Error): void {
      for (const w of waiters.splice(0)) w.reject(error);
    },
    get inUse(): number {
      return limit - free;
    },
    get waiting(): number {
      return waiters.length;
    },
  };
}
