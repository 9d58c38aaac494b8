import { suite } from "uvu";
import * as assert from "uvu/assert";
import { assertGuarantees } from "./chaos/assert.js";
import { ChaosServer, openCtx, type Ctx } from "./chaos/harness.js";
import * as s from "./chaos/scenarios.js";

/**
 * The fault suite, CI versions, part 1: real `oban work` processes killed with SIGKILL, stopped with
 * SIGTERM inside and past their grace, eight of them competing for one queue, enqueue inside
 * application transactions, four `oban migrate` at once. Runs on an embedded PostgreSQL of its own
 * (.oban-test/chaos-ci-N). The long versions: `npm run chaos`.
 */
const test = suite("chaos (CI): processes");
let server: ChaosServer;

test.before(async () => {
  server = await ChaosServer.acquire("ci");
});
test.after(async () => {
  await server.release();
});

async function withCtx<T>(fn: (ctx: Ctx) => Promise<T>): Promise<T> {
  const ctx = await openCtx(server.url, server);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

test("kill -9 a random worker every 3 s for 20 s under load, restarting it: nothing lost, duplicates only of jobs in flight at a kill", async () => {
  const f = await withCtx((ctx) => s.killNine(ctx, "ci"));
  assertGuarantees(f);
  assert.ok(f.faults >= 5, `${f.faults} kills`);
  assert.ok(f.jobs > 200, `${f.jobs} jobs under load`);
});

test("SIGTERM with enough grace: running jobs finish, nothing is fetched after the signal, exit 0", async () => {
  const f = await withCtx((ctx) => s.sigtermWithinGrace(ctx, "ci"));
  assertGuarantees(f, { duplicatesAllowed: false });
  const n = f.notes as Record<string, number>;
  assert.is(n.exitCode, 0);
  assert.is(n.fetchedAfterSignal, 0, "jobs fetched after SIGTERM");
  assert.is(n.interruptedRuns, 0, "runs cut short");
  assert.is(n.completedByStoppedNode, 4, "the 4 running jobs completed on the stopped node");
  assert.is(n.executingAfterExit, 0);
  assert.ok(n.exitMs < n.grace + 5_000, `exited ${n.exitMs} ms after SIGTERM`);
});

test("SIGTERM past the grace: the process exits on time and its jobs go back to the queue", async () => {
  const f = await withCtx((ctx) => s.sigtermPastGrace(ctx, "ci"));
  assertGuarantees(f);
  const n = f.notes as Record<string, number>;
  assert.is(n.exitCode, 0);
  assert.ok(n.exitMs < n.grace + 6_000, `exited ${n.exitMs} ms after SIGTERM (grace ${n.grace} ms)`);
  assert.is(n.executingAfterExit, 0);
  assert.is(n.returnedWithShutdownError, 4);
});

test("eight producers on one queue: no job is ever executed twice, let alone by two at once", async () => {
  const f = await withCtx((ctx) => s.eightProducers(ctx, "ci"));
  assertGuarantees(f, { duplicatesAllowed: false });
  assert.is((f.notes.runsPerNode as number[]).length, 8, "every producer got work");
});

test("enqueue inside transactions, 30% rolled back, workers killed: a job exists exactly when its transaction committed", async () => {
  const f = await withCtx((ctx) => s.transactionalEnqueue(ctx, "ci"));
  assertGuarantees(f);
  assert.equal(f.mismatch, { committedWithoutJob: 0, jobWithoutCommit: 0, rolledBackButJobExists: 0, rolledBackButRan: 0, ordersNotCommittedByUs: 0 });
  assert.ok(f.faults >= 2, `${f.faults} kills during the transactions`);
  assert.ok((f.notes.rolledBack as number) > 0);
});

test("four `oban migrate` at once on an empty database: all succeed, the migration is applied once", async () => {
  const f = await withCtx((ctx) => s.concurrentMigrate(ctx, "ci"));
  console.log(`figures: ${JSON.stringify(f.notes)}`);
  assert.equal(f.runs.map((r) => r.code), [0, 0, 0, 0], f.runs.map((r) => r.stderr).join("\n"));
  const applied = (f.notes.applied as number[][]).flat();
  assert.equal(applied, [...new Set(applied)], "no migration applied twice");
  assert.ok(applied.length > 0, "the migrations were applied");
  assert.is(f.notes.checkExit, 0, "migrate --check afterwards: up to date");
  for (const table of ["oban_jobs", "oban_peers", "oban_producers", "oban_ts_migrations"]) assert.ok((f.notes.tables as string[]).includes(table), table);
});

test.run();
