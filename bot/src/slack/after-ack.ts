/**
 * The work listeners do after their ack, run a few at a time. Slack gives an ack 3 seconds; under
 * a burst, new requests' acks must not wait behind earlier requests' database work and Slack
 * calls, so that work queues here (bounded) and the event loop stays free to answer Slack. A
 * modal must still open within 3 seconds of the click, so the queue is kept short and drained
 * first in, first out.
 */
import type { Logger } from "pino";

const DEFAULT_CONCURRENCY = 4;
/** Jobs waiting at most (SECURITY.md: bounded queues); past that a job is dropped and logged. */
const MAX_WAITING = 5000;

export class AfterAck {
  private readonly waiting: (() => Promise<void>)[] = [];
  private running = 0;
  private scheduled = false;
  private readonly drained = new Set<() => void>();

  constructor(
    private readonly logger: Logger,
    private readonly concurrency = DEFAULT_CONCURRENCY,
  ) {}

  /** Queues `job`; it never throws into the caller, its failure is logged. */
  run(job: () => Promise<void>): void {
    if (this.waiting.length >= MAX_WAITING) {
      this.logger.error("too much Slack work waiting; dropping a request's work after its ack");
      return;
    }
    this.waiting.push(job);
    this.next();
  }

  /** Resolves once nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.add(resolve));
  }

  /**
   * Starts at most one job per turn of the event loop, from `setImmediate` — after the loop has
   * read what arrived — so a burst of work cannot keep new requests waiting for their ack.
   */
  private next(): void {
    if (this.scheduled || this.running >= this.concurrency || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const job = this.waiting.shift();
      if (job === undefined) return;
      this.running += 1;
      job()
        .catch((err: unknown) => this.logger.error({ err }, "Slack listener work failed"))
        .finally(() => {
          this.running -= 1;
          if (this.running === 0 && this.waiting.length === 0) {
            for (const done of [...this.drained]) done();
            this.drained.clear();
          }
          this.next();
        });
      this.next();
    });
  }
}
