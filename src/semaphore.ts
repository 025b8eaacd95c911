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

/**
 * A class, not a literal of closures and getters: every SSH runner holds one for as long as its
 * device is polled, and the literal (five closures, a context, getters that put it in dictionary
 * mode) took ≈ 890 bytes of heap against ≈ 90 for an instance.
 */
class FifoSemaphore implements Semaphore {
  private free: number;
  private readonly waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(private readonly limit: number) {
    this.free = limit;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve();
    else this.free++;
  }

  failAll(error: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  get inUse(): number {
    return this.limit - this.free;
  }

  get waiting(): number {
    return this.waiters.length;
  }
}

export function createSemaphore(limit: number): Semaphore {
  return new FifoSemaphore(limit);
}
