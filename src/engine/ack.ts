import type { Queryable } from "../db/pool.js";
import { ackAndFetch } from "./fetch.js";

/** The outcome of one attempt, as written by job_ack_fetch.sql. */
export interface Ack {
  id: string;
  /** The attempt number we fetched: the guard against overwriting a newer attempt. */
  attempt: number;
  /** "released": fetched but never started (a local buffer given back): available again, attempt returned. */
  state: "completed" | "retryable" | "discarded" | "cancelled" | "scheduled" | "available" | "released";
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
  const { lost } = await ackAndFetch(db, prefix, { acks, queue: "", demand: 0, node: "", producer: "" });
  return new Set(acks.map((a) => a.id).filter((id) => !lost.has(id)));
}
