import type pg from "pg";
import { ackJobs, type Ack } from "../engine/ack.js";
import { isConnectionError } from "../db/pool.js";

/**
 * Buffers job outcomes and writes them in batches: one statement per flush, flushed when the
 * buffer reaches `batchSize` or `delay` ms after the first outcome arrives. If the database is
 * unreachable the batch is kept and retried with backoff, so a restart loses no outcome.
 */
export interface AckerOptions {
  batchSize?: number;
  delay?: number;
  onLost?: (acks: Ack[]) => void;
  onError?: (error: unknown) => void;
}

export class Acker {
  private buffer: Ack[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly prefix: string,
    private readonly options: AckerOptions = {},
  ) {}

  get pending(): number {
    return this.buffer.length;
  }

  push(ack: Ack): void {
    this.buffer.push(ack);
    if (this.buffer.length >= (this.options.batchSize ?? 200)) this.flushSoon(0);
    else this.flushSoon(this.options.delay ?? 2);
  }

  private flushSoon(delay: number): void {
    if (this.flushing) return; // the running flush reschedules itself when it ends
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
  }

  /** Writes everything buffered; resolves once the buffer is empty or the deadline passes. */
  async drain(deadline = Date.now() + 30_000): Promise<void> {
    while (this.buffer.length > 0 || this.flushing) {
      if (Date.now() > deadline) return;
      if (!this.flushing) void this.flush();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private flush(): Promise<void> {
    if (this.flushing || this.buffer.length === 0) return this.flushing ?? Promise.resolve();
    const batch = this.buffer.splice(0, this.options.batchSize ?? 200);
    this.flushing = (async () => {
      try {
        const written = await ackJobs(this.pool, this.prefix, batch);
        this.failures = 0;
        if (written.size < batch.length) this.options.onLost?.(batch.filter((a) => !written.has(a.id)));
      } catch (error) {
        this.options.onError?.(error);
        if (isConnectionError(error)) {
          // Keep the outcomes: they are still valid once the database is back.
          this.buffer.unshift(...batch);
          this.failures++;
          await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6))));
        }
        // Any other error (a bad row) drops the batch: the jobs stay executing for the lifeline.
      } finally {
        this.flushing = undefined;
        const waiters = this.waiters.splice(0);
        waiters.forEach((w) => w());
        if (this.buffer.length > 0) this.flushSoon(0);
      }
    })();
    return this.flushing;
  }
}
