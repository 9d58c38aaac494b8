import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { channel } from "./job.js";

export interface StagedQueue {
  queue: string;
  count: number;
}

export interface StageOptions {
  /** At most this many jobs per call (default 5,000). */
  limit?: number;
  /** Stage jobs due by this time instead of now; "infinity" stages them all (drainQueue). */
  until?: Date | "infinity";
  /** Send one `insert` notification per staged queue (default true). */
  notify?: boolean;
}

/** Moves due scheduled/retryable jobs of `queues` to available, at most `limit` per call. */
export async function stageJobs(db: Queryable, prefix: string, queues: string[], options: StageOptions = {}): Promise<StagedQueue[]> {
  if (queues.length === 0) return [];
  const { limit = 5_000, until, notify = true } = options;
  return run<StagedQueue>(db, prefix, "job_stage", {
    queues,
    limit,
    // An ISO string, not a Date: a Date would be sent in the process's local zone, which a
    // `timestamp without time zone` would keep as if it were UTC.
    until: until instanceof Date ? until.toISOString() : (until ?? null),
    notify,
    channel: channel(prefix, "insert"),
  });
}
