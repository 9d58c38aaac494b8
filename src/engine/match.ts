import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { jobFromRow, type Job, type JobRow, type JobState } from "./job.js";

/** A validated filter for job_list_matching.sql: absent fields match anything. */
export interface JobMatch {
  states: readonly JobState[];
  worker?: string;
  queue?: string;
  /** Serialised JSON object: the row's args must contain it (`@>`). */
  argsJson?: string;
  /** Serialised JSON object: the row's meta must contain it (`@>`). */
  metaJson?: string;
  priority?: number;
  /** Every one of these must be among the row's tags. */
  tags?: string[];
}

/** Matching jobs oldest first, at most `limit` of them (all without one), and how many match in all. */
export async function matchJobs(db: Queryable, prefix: string, match: JobMatch, limit?: number): Promise<{ jobs: Job[]; total: number }> {
  const rows = await run<JobRow & { total: string }>(db, prefix, "job_list_matching", {
    states: match.states,
    worker: match.worker ?? null,
    queue: match.queue ?? null,
    args: match.argsJson ?? null,
    meta: match.metaJson ?? null,
    priority: match.priority ?? null,
    tags: match.tags ?? null,
    limit: limit ?? null,
  });
  return { jobs: rows.map((row) => jobFromRow(row)), total: rows.length === 0 ? 0 : Number(rows[0].total) };
}
