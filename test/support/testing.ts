import type pg from "pg";
import type { Test } from "uvu";
import { Oban, defineWorker, snooze, cancel, discard, record, getJob, type Job } from "../../src/index.js";
import { testDatabaseUrl, useSchema } from "./schemas.js";
import { sleep } from "./wait.js";

/** Shared by the oban-ts/testing suites (test/testing-*.test.ts). */

/**
 * A fresh schema and, as the README tells users to set up, an instance with no queues: the
 * helpers' default database. Read the fields inside tests.
 */
export function useInstance(test: Test): { pool: pg.Pool; prefix: string; oban: Oban } {
  const context = useSchema(test, "ours") as { pool: pg.Pool; prefix: string; oban: Oban };
  test.before(async () => {
    context.oban = await Oban.start({ databaseUrl: testDatabaseUrl(), prefix: context.prefix, queues: {}, leader: false, notifier: false });
  });
  test.after(async () => {
    await context.oban.stop({ grace: 0 });
  });
  return context;
}

/** The error a promise rejects with (uvu's assert.throws is synchronous only). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

export const rowOf = async (db: { pool: pg.Pool; prefix: string }, id: string): Promise<Job> => (await getJob(db.pool, db.prefix, id))!;

export const executingCount = async (db: { pool: pg.Pool; prefix: string }): Promise<number> =>
  (await db.pool.query(`SELECT count(*)::int AS n FROM "${db.prefix}".oban_jobs WHERE state = 'executing'`)).rows[0].n;

export type Kind = "ok" | "record" | "snooze" | "cancel" | "discard" | "throw" | "hang";

/** What Outcomes saw: how many times perform ran, and the signal of the last "hang". */
export const probe = { performed: 0, lastSignal: undefined as AbortSignal | undefined };

/** One worker for every way an attempt can end, chosen by args.kind. */
export const Outcomes = defineWorker<{ kind: Kind; n?: number }>({
  name: "Testing.Outcomes",
  queue: "outcomes",
  maxAttempts: 3,
  timeout: 150,
  backoff: () => 7,
  async perform(job, ctx) {
    probe.performed++;
    switch (job.args.kind) {
      case "record":
        return record({ total: 42, items: ["a", "b"] });
      case "snooze":
        return snooze(30);
      case "cancel":
        return cancel("not wanted");
      case "discard":
        return discard("bad input");
      case "throw":
        throw new Error(`boom on attempt ${job.attempt}`);
      case "hang":
        probe.lastSignal = ctx.signal;
        await sleep(2_000);
    }
  },
});
