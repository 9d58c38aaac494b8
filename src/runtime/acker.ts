import type pg from "pg";
import type { Ack } from "../engine/ack.js";
import { ackAndFetch } from "../engine/fetch.js";
import { isConnectionError } from "../db/pool.js";

/**
 * Buffers job outcomes and writes them in batches. Producers take the buffered outcomes along with
 * their next fetch (one statement, one commit); whatever no fetch takes within `delay` ms is written
 * on its own. If the database is unreachable a batch is kept and retried with backoff, so a restart
 * loses no outcome.
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

  private get batchSize(): number {
    return this.options.batchSize ?? 500;
  }

  push(ack: Ack): void {
    this.buffer.push(ack);
    this.flushSoon(this.buffer.length >= this.batchSize ? 0 : (this.options.delay ?? 5));
  }

  /** Hands buffered outcomes to a producer's fetch; it must call `settle` or `giveBack`. */
  take(): Ack[] {
    return this.failures > 0 ? [] : this.buffer.splice(0, this.batchSize);
  }

  /** The outcomes were written, except `lost` ones, which were no longer ours. */
  settle(batch: Ack[], lost: Set<string>): void {
    this.failures = 0;
    if (lost.size > 0) this.options.onLost?.(batch.filter((a) => lost.has(a.id)));
    this.wake();
  }

  /** The statement carrying `batch` failed: keep the outcomes if the database may come back. */
  giveBack(batch: Ack[], error: unknown): void {
    if (batch.length === 0) return;
    if (isConnectionError(error)) {
      this.buffer.unshift(...batch);
      this.flushSoon(this.options.delay ?? 5);
    } else {
      // Any other error (a bad row) drops the batch: the jobs stay executing for the lifeline.
      this.options.onError?.(error);
    }
    this.wake();
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

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }

  private flush(): Promise<void> {
    if (this.flushing || this.buffer.length === 0) return this.flushing ?? Promise.resolve();
    const batch = this.buffer.splice(0, this.batchSize);
    this.flushing = (async () => {
      try {
        const { lost } = await ackAndFetch(this.pool, this.prefix, { acks: batch, queue: "", demand: 0, node: "", producer: "" });
        this.settle(batch, lost);
      } catch (error) {
        this.options.onError?.(error);
        if (isConnectionError(error)) {
          this.buffer.unshift(...batch);
          this.failures++;
          await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6))));
        }
      } finally {
        this.flushing = undefined;
        this.wake();
        if (this.buffer.length > 0) this.flushSoon(0);
      }
    })();
    return this.flushing;
  }
}
