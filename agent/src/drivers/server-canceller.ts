/**
 * Turns an abort into a server-side cancel, but only while the server is executing the job's
 * statement: between two fetches the statement is suspended and the driver stops by itself, and
 * after the statement a cancel could hit the ROLLBACK, the session reset or the next job on the
 * same connection. Drivers wait for `settled()` before they touch the connection again.
 */
export interface ServerCanceller {
  /** Runs one round trip in which the server executes the statement; an abort meanwhile cancels it. */
  during<T>(work: () => Promise<T>): Promise<T>;
  /** Resolves once a cancel that was sent has been delivered, or has failed. */
  settled(): Promise<void>;
  /** True when a cancel was needed but could not be delivered (the database was unreachable). */
  readonly failed: boolean;
  dispose(): void;
}

export function serverCanceller(
  signal: AbortSignal | undefined,
  cancel: () => Promise<void>,
): ServerCanceller {
  let inFlight = false;
  let sent: Promise<void> | undefined;
  let failed = false;
  const onAbort = (): void => {
    if (!inFlight || sent !== undefined) return;
    // Best effort with a backstop: a cancel that cannot be delivered leaves the statement to its
    // own timeout, and the driver then reports the timeout rather than a cancel.
    sent = cancel().catch(() => {
      failed = true;
    });
  };
  signal?.addEventListener("abort", onAbort);
  return {
    async during(work) {
      inFlight = true;
      try {
        return await work();
      } finally {
        inFlight = false;
      }
    },
    settled: () => sent ?? Promise.resolve(),
    get failed() {
      return failed;
    },
    dispose: () => signal?.removeEventListener("abort", onAbort),
  };
}
