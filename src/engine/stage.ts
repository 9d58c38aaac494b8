import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { channel } from "./job.js";

export interface StagedQueue {
  queue: string;
  count: number;
}

/** Moves due scheduled/retryable jobs of `queues` to available, at most `limit` per call. */
export async function stageJobs(db: Queryable, prefix: string, queues: string[], limit = 5_000): Promise<StagedQueue[]> {
  if (queues.length === 0) return [];
  return run<StagedQueue>(db, prefix, "job_stage", { queues, limit, channel: channel(prefix, "insert") });
}
