/**
 * Wakes agents' long polls when work is dispatched, so the time from the last approval to the
 * agent's claim is a network round trip, not a polling interval.
 */
export class JobSignal {
  private waiters = new Set<() => void>();

  /**
   * `publish` tells every instance sharing the store (their long polls wake through `wake`);
   * without it, this process is the only one.
   */
  constructor(private readonly publish?: () => void) {}

  /** Resolves on the next `notify()`, or after `ms`, or at once if `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Work was dispatched: wake the long polls here and, through `publish`, on other instances. */
  notify(): void {
    if (this.publish === undefined) this.wake();
    else this.publish();
  }

  /** Wakes this process's long polls. */
  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  get waiting(): number {
    return this.waiters.size;
  }
}
