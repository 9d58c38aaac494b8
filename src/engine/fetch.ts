import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { jobFromRow, type Job, type JobRow } from "./job.js";

export interface FetchRequest {
  queue: string;
  demand: number;
  node: string;
  producer: string;
}

/** Claims up to `demand` jobs in one round trip; see job_fetch.sql for the locking rules. */
export async function fetchJobs(db: Queryable, prefix: string, request: FetchRequest): Promise<Job[]> {
  if (request.demand <= 0) return [];
  const rows = await run<JobRow>(db, prefix, "job_fetch", {
    queue: request.queue,
    demand: request.demand,
    node: request.node,
    producer: request.producer,
  });
  return rows.map((row) => jobFromRow(row));
}
