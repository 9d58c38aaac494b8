import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import type { Ack } from "./ack.js";
import { jobFromRow, type Job, type JobRow } from "./job.js";

export interface FetchRequest {
  queue: string;
  demand: number;
  node: string;
  producer: string;
  /** Outcomes to write in the same statement (see job_ack_fetch.sql). */
  acks?: Ack[];
}

export interface AckFetchResult {
  jobs: Job[];
  /** Ids of the acks that were no longer ours to write (cancelled, rescued or deleted meanwhile). */
  lost: Set<string>;
}

/** Writes `acks` and claims up to `demand` jobs, in one round trip and one commit. */
export async function ackAndFetch(db: Queryable, prefix: string, request: FetchRequest): Promise<AckFetchResult> {
  const acks = request.acks ?? [];
  const rows = await run<JobRow & { lost: string[] }>(db, prefix, "job_ack_fetch", {
    ids: acks.map((a) => a.id),
    attempts: acks.map((a) => a.attempt),
    states: acks.map((a) => a.state),
    delays: acks.map((a) => a.delay ?? null),
    errors: acks.map((a) => a.error ?? null),
    metas: acks.map((a) => (a.meta ? JSON.stringify(a.meta) : null)),
    queue: request.queue,
    demand: Math.max(0, request.demand),
    node: request.node,
    producer: request.producer,
  });
  return {
    jobs: rows.filter((row) => row.id !== null).map((row) => jobFromRow(row)),
    lost: new Set(rows[0]?.lost ?? []),
  };
}

/** Claims up to `demand` jobs in one round trip. */
export async function fetchJobs(db: Queryable, prefix: string, request: Omit<FetchRequest, "acks">): Promise<Job[]> {
  if (request.demand <= 0) return [];
  return (await ackAndFetch(db, prefix, request)).jobs;
}
