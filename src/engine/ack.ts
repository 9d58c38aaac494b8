import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";

/** The outcome of one attempt, as written by job_ack.sql. */
export interface Ack {
  id: string;
  /** The attempt number we fetched: the guard against overwriting a newer attempt. */
  attempt: number;
  state: "completed" | "retryable" | "discarded" | "cancelled" | "scheduled" | "available";
  /** Seconds from now for retryable, scheduled (snooze) and available. */
  delay?: number;
  /** Appended to `errors` as {attempt, at, error}. */
  error?: string;
  /** Merged into meta (never replaces it). */
  meta?: Record<string, unknown>;
}

/** Writes a batch of outcomes in one statement; returns the ids that were still ours to write. */
export async function ackJobs(db: Queryable, prefix: string, acks: Ack[]): Promise<Set<string>> {
  if (acks.length === 0) return new Set();
  const rows = await run<{ id: string }>(db, prefix, "job_ack", {
    ids: acks.map((a) => a.id),
    attempts: acks.map((a) => a.attempt),
    states: acks.map((a) => a.state),
    delays: acks.map((a) => a.delay ?? null),
    errors: acks.map((a) => a.error ?? null),
    metas: acks.map((a) => (a.meta ? JSON.stringify(a.meta) : null)),
  });
  return new Set(rows.map((r) => r.id));
}
