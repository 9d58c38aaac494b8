import type pg from "pg";
import { withTransaction, type Queryable } from "../db/pool.js";
import { run } from "../db/sql.js";
import { insertJobs, type PreparedJob } from "./insert.js";
import type { Job } from "./job.js";

export interface LeaseClock {
  /** The database's now (or the pinned time), as the lease row was locked. */
  now: Date;
  /** When this holder's current lease began (oban_peers.started_at). */
  leaderSince: Date;
}

export interface CronInsert {
  clock: LeaseClock;
  jobs: Job[];
}

/**
 * Inserts the jobs `pick` chooses for the clock, in one transaction that holds the leader lease row
 * locked (leader_hold), so no other instance can become leader between the check and the insert.
 * Returns undefined, inserting nothing, when `node` does not hold the lease `name`. `now` pins the
 * clock for tests; the lease itself is always checked against the real database clock.
 */
export async function insertWhileLeading(
  pool: pg.Pool,
  prefix: string,
  lease: { name: string; node: string },
  pick: (clock: LeaseClock) => PreparedJob[],
  now?: Date,
): Promise<CronInsert | undefined> {
  return withTransaction(pool, async (client) => {
    const [row] = await run<{ now: Date; started_at: Date }>(client, prefix, "leader_hold", {
      name: lease.name,
      node: lease.node,
      now: now ? now.toISOString() : null,
    });
    if (!row) return undefined;
    const clock = { now: row.now, leaderSince: row.started_at };
    const jobs = await insertJobs(client, prefix, pick(clock));
    return { clock, jobs };
  });
}

/** The database clock, and the scheduled minute of the latest kept job of each named cron entry. */
export async function latestCronJobs(db: Queryable, prefix: string, names: string[]): Promise<{ now: Date; latest: Map<string, Date> }> {
  const [row] = await run<{ now: Date; latest: Record<string, string> }>(db, prefix, "job_cron_latest", { names });
  // json_object_agg writes timestamps without a zone; they are UTC.
  return { now: row.now, latest: new Map(Object.entries(row.latest).map(([name, at]) => [name, new Date(`${at}Z`)])) };
}
