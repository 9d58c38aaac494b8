import type pg from "pg";
import { run } from "../db/sql.js";
import { inTransaction as transaction, withTransaction, type Queryable } from "../db/pool.js";
import { ObanError } from "../errors.js";
import { jobFromRow, type Job, type JobRow } from "./job.js";
import { insertJobs, isPool, type PreparedJob } from "./insert.js";
import { uniqueLockKey, uniqueMatch, type UniqueMatch, type UniqueSpec } from "./unique-options.js";

export * from "./unique-options.js";

/** A unique insert's outcome: the new job, or the existing match when `conflict` is true. */
export interface UniqueResult {
  job: Job;
  conflict: boolean;
}

/**
 * Inserts jobs under unique options (COMPAT §15 #7), in one READ COMMITTED transaction:
 * 1. a blocking transaction-scoped advisory lock per distinct unique key (prefix + compared
 *    values), taken in sorted order so two bulk inserters cannot deadlock;
 * 2. per job, a lookup for a committed match in the unique states and period, then, only when
 *    there is none, the ordinary insert statement (job_insert, with its notification).
 * A waiter is granted the lock only when the holder's transaction ends, so it sees the holder's
 * row if it committed and inserts its own if it rolled back: no duplicate, no false conflict.
 *
 * Transactions: given a pool, one of our own. Given a client inside the caller's transaction, that
 * transaction: the locks are held until the caller commits, which is what keeps a second inserter
 * from slipping in between our lookup and the caller's commit. Given an idle client, a transaction
 * of our own on it.
 *
 * Bulk: the same rule per job, in input order, so a later job of the same list conflicts with an
 * earlier one exactly as separate calls would. It costs two statements per job (the plain bulk
 * path is one per 5,000 jobs): the price of a per-job answer that the database decides.
 */
export async function insertUnique(db: pg.Pool | Queryable, prefix: string, jobs: PreparedJob[], spec: UniqueSpec): Promise<UniqueResult[]> {
  if (jobs.length === 0) return [];
  const insertAll = async (client: Queryable) => {
    const matches = jobs.map((job) => uniqueMatch(job, spec));
    const keys = [...new Set(matches.map((match) => uniqueLockKey(prefix, spec, match)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const [{ isolation }] = await run<{ isolation: string }>(client, prefix, "unique_lock", { keys: keys.map(String) });
    if (isolation !== "read committed") {
      throw new ObanError(
        "config",
        `unique jobs need a READ COMMITTED transaction (this one is ${isolation.toUpperCase()}): its snapshot would hide a match committed by a concurrent inserter`,
      );
    }
    const results: UniqueResult[] = [];
    for (let i = 0; i < jobs.length; i++) results.push(await insertOne(client, prefix, jobs[i], spec, matches[i]));
    return results;
  };
  // Our own transactions say READ COMMITTED: the server's default isolation may be another.
  if (isPool(db)) return withTransaction(db, insertAll, READ_COMMITTED);
  switch (transactionStatus(db)) {
    case "I": // an idle client: the advisory lock would end with the statement, so open a transaction
      return transaction(db, insertAll, READ_COMMITTED);
    case "T": // the caller's transaction: the locks live until the caller commits or rolls back
    case "E": // an aborted transaction: the next statement reports it
      return insertAll(db);
    default:
      throw new ObanError("config", "unique jobs with { client } need a pg Client or PoolClient (to know whether it is inside a transaction)");
  }
}

/** The committed match of one job, else the job inserted by the ordinary insert statement. */
async function insertOne(client: Queryable, prefix: string, job: PreparedJob, spec: UniqueSpec, match: UniqueMatch): Promise<UniqueResult> {
  const [existing] = await run<JobRow>(client, prefix, "unique_find", {
    states: spec.states,
    queue: match.queue,
    worker: match.worker,
    match_args: match.args === null ? null : JSON.stringify(match.args),
    match_meta: match.meta === null ? null : JSON.stringify(match.meta),
    keys: spec.keys,
    period: spec.period,
    by_scheduled_at: spec.timestamp === "scheduled_at",
  });
  if (existing) return { job: jobFromRow(existing), conflict: true };
  const [inserted] = await insertJobs(client, prefix, [job]);
  return { job: inserted, conflict: false };
}

const READ_COMMITTED = "BEGIN ISOLATION LEVEL READ COMMITTED";

type TransactionStatus = "I" | "T" | "E" | null | undefined;

function transactionStatus(db: Queryable): TransactionStatus {
  const client = db as Queryable & { getTransactionStatus?: () => TransactionStatus };
  return typeof client.getTransactionStatus === "function" ? client.getTransactionStatus() : undefined;
}

