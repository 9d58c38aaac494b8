import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { jobFromRow, type Job, type JobRow } from "./job.js";

export async function getJob(db: Queryable, prefix: string, id: string | number | bigint): Promise<Job | null> {
  const rows = await run<JobRow>(db, prefix, "job_get", { id: String(id) });
  return rows[0] ? jobFromRow(rows[0]) : null;
}
