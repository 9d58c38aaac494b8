import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import type { Ack } from "./ack.js";
import type { Job, JobRow } from "./job.js";

export interface FetchRequest {
  queue: string;
  demand: number;
  node: string;
  producer: string;
  /** Outcomes to write in the same statement (see job_ack_fetch.sql). */
  acks?: Ack[];
}

type FetchedRow = Omit<JobRow, "state" | "attempted_by" | "completed_at" | "discarded_at" | "cancelled_at">;

export interface AckFetchResult {
  jobs: Job[];
  /** Ids of the acks that were no longer ours to write (cancelled, rescued or deleted meanwhile). */
  lost: Set<string>;
}

/** Writes `acks` and claims up to `demand` jobs, in one round trip and one commit. */
export async function ackAndFetch(db: Queryable, prefix: string, request: FetchRequest): Promise<AckFetchResult> {
  const acks = request.acks ?? [];
  const rows = await run<FetchedRow & { lost: string[] }>(db, prefix, "job_ack_fetch", {
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
    jobs: rows.filter((row) => row.id !== null).map((row) => fetchedJob(row, [request.node, request.producer])),
    lost: new Set(rows[0]?.lost ?? []),
  };
}

/**
 * A job as the fetch left it: executing, attempted by this producer, not ended. Mirrors jobFromRow
 * without building a full row first: this runs once per job on the hot path.
 */
function fetchedJob(row: FetchedRow, attemptedBy: string[]): Job {
  return {
    id: row.id,
    state: "executing",
    queue: row.queue,
    worker: row.worker,
    args: row.args,
    meta: row.meta ?? {},
    tags: row.tags ?? [],
    errors: row.errors ?? [],
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    priority: row.priority,
    attemptedBy: [...attemptedBy],
    insertedAt: row.inserted_at,
    scheduledAt: row.scheduled_at,
    attemptedAt: row.attempted_at,
    completedAt: null,
    discardedAt: null,
    cancelledAt: null,
  };
}

/** Claims up to `demand` jobs in one round trip. */
export async function fetchJobs(db: Queryable, prefix: string, request: Omit<FetchRequest, "acks">): Promise<Job[]> {
  if (request.demand <= 0) return [];
  return (await ackAndFetch(db, prefix, request)).jobs;
}
