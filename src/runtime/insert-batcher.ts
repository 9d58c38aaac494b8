import type pg from "pg";
import { INSERT_CHUNK, INSERT_CHUNK_BYTES, insertJobs, type PreparedJob } from "../engine/insert.js";
import type { Job } from "../engine/job.js";

/** Calls with this many jobs get a statement of their own instead of joining the shared one. */
const ALONE = 1_000;

interface Waiting {
  jobs: PreparedJob[];
  /** Their args JSON length, counted once. */
  bytes: number;
  resolve: (jobs: Job[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces concurrent enqueue calls made outside a transaction into one INSERT statement. The
 * first call goes out at once (no added latency when idle); calls made while a statement is in
 * flight wait for it and then go out together. Each caller's jobs stay all-or-nothing: if a shared
 * statement fails, every caller is retried on its own, so one bad call cannot fail the others.
 *
 * One statement at a time: a second slot split callers into groups that never merged again (one
 * waiting caller took the free slot alone, and its group stayed one caller), and notifying commits
 * are serialised by PostgreSQL anyway. Big calls do not wait behind small ones: they skip the queue.
 */
export class InsertBatcher {
  private waiting: Waiting[] = [];
  /** The shared statement is in flight. */
  private writing = false;
  /** A flush is due on the next turn of the event loop (set when a statement completes). */
  private flushDue = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly prefix: string,
  ) {}

  insert(jobs: PreparedJob[]): Promise<Job[]> {
    // ALONE is below INSERT_CHUNK, so what joins fits one statement by count; size is checked here.
    const bytes = argsLength(jobs);
    if (jobs.length >= ALONE || bytes > INSERT_CHUNK_BYTES) return insertJobs(this.pool, this.prefix, jobs);
    return new Promise((resolve, reject) => {
      this.waiting.push({ jobs, bytes, resolve, reject });
      if (!this.flushDue && !this.writing) void this.flush();
    });
  }

  /**
   * After a statement completes, the next one waits one turn of the event loop: the callers it
   * just answered usually enqueue again at once, and should join it. Sent at once, it would carry
   * only those already waiting and the rest would follow alone, alternating full and tiny
   * statements (measured: 5 jobs a statement with 10 callers, instead of 10).
   */
  private flushSoon(): void {
    if (this.flushDue) return;
    this.flushDue = true;
    setImmediate(() => {
      this.flushDue = false;
      if (!this.writing && this.waiting.length > 0) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    // Callers join the statement while it stays one chunk (by count and by size).
    const batch: Waiting[] = [];
    let rows = 0;
    let bytes = 0;
    const fits = (w: Waiting) => rows + w.jobs.length <= INSERT_CHUNK && bytes + w.bytes <= INSERT_CHUNK_BYTES;
    while (this.waiting.length > 0 && (batch.length === 0 || fits(this.waiting[0]))) {
      const next = this.waiting.shift()!;
      batch.push(next);
      rows += next.jobs.length;
      bytes += next.bytes;
    }
    if (batch.length === 0) return;
    this.writing = true;
    try {
      await this.write(batch);
    } finally {
      this.writing = false;
      this.flushSoon();
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    let inserted: Job[];
    try {
      inserted = await insertJobs(this.pool, this.prefix, batch.flatMap((w) => w.jobs));
    } catch (error) {
      if (batch.length === 1) batch[0].reject(error);
      else await Promise.all(batch.map((w) => insertJobs(this.pool, this.prefix, w.jobs).then(w.resolve, w.reject)));
      return;
    }
    // One statement inserts rows in input order, so each caller's jobs are the next slice.
    let offset = 0;
    for (const w of batch) {
      w.resolve(inserted.slice(offset, offset + w.jobs.length));
      offset += w.jobs.length;
    }
  }
}

function argsLength(jobs: PreparedJob[]): number {
  return jobs.reduce((sum, job) => sum + job.argsJson.length, 0);
}
