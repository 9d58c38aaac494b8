import { suite } from "uvu";
import * as assert from "uvu/assert";
import type pg from "pg";
import { createPool } from "../src/db/pool.js";
import { Oban, defineWorker, job, snooze, cancel, discard, record, getJob, type Job } from "../src/index.js";
import { decodeRecorded } from "../src/codec/etf.js";
import { createSchema, testDatabaseUrl } from "./support/schemas.js";
import { sleep, waitFor } from "./support/wait.js";

const test = suite("runtime");
let pool: pg.Pool;
let prefix: string;
let drop: () => Promise<void>;
let oban: Oban | undefined;

test.before(async () => {
  pool = createPool(testDatabaseUrl(), { max: 4 });
  ({ prefix, drop } = await createSchema(pool, "ours"));
});
test.after(async () => {
  await drop();
  await pool.end();
});
test.after.each(async () => {
  await oban?.stop({ grace: 0 });
  oban = undefined;
  await pool.query(`DELETE FROM "${prefix}".oban_jobs`);
});

const start = (queues: Record<string, number>, extra: Record<string, unknown> = {}) =>
  Oban.start({ databaseUrl: testDatabaseUrl(), prefix, queues, node: "test-node", pollInterval: 200, stageInterval: 100, ...extra });
const row = async (id: string) => (await getJob(pool, prefix, id))!;
const stateOf = async (id: string) => (await row(id)).state;

let running = 0;
let maxRunning = 0;
const Slow = defineWorker<{ ms: number }>({
  name: "Test.Slow",
  queue: "limited",
  async perform(j) {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(j.args.ms);
    running--;
  },
});

test("a queue never runs more than its limit on a node, and every job completes", async () => {
  oban = await start({ limited: 3 });
  const jobs = await Slow.enqueueMany(Array.from({ length: 24 }, () => ({ ms: 20 })));
  await waitFor("all completed", async () => (await pool.query(`SELECT count(*)::int AS n FROM "${prefix}".oban_jobs WHERE state = 'completed'`)).rows[0].n === 24);
  assert.is(jobs.length, 24);
  assert.is(maxRunning, 3);
});

const failures: number[] = [];
const Flaky = defineWorker<{ tag: string }>({
  name: "Test.Flaky",
  queue: "flaky",
  maxAttempts: 3,
  backoff: () => 0,
  async perform(j) {
    failures.push(j.attempt);
    throw new Error(`failure ${j.attempt}`);
  },
});

test("a job that throws is retried, then discarded after its last attempt with one error per attempt", async () => {
  oban = await start({ flaky: 2 });
  const inserted = await Flaky.enqueue({ tag: "x" });
  await waitFor("discarded", async () => (await stateOf(inserted.id)) === "discarded");
  const final = await row(inserted.id);
  assert.is(final.attempt, 3);
  assert.equal(final.errors.map((e) => e.attempt), [1, 2, 3]);
  assert.match(final.errors[2].error, /Error: failure 3/);
  assert.ok(final.discardedAt);
});

const Once = defineWorker({ name: "Test.FailsOnce", queue: "backoff", async perform() { throw new Error("nope"); } });

test("the default backoff schedules the retry 17 to 18.7 seconds out after the first attempt", async () => {
  oban = await start({ backoff: 1 });
  const inserted = await Once.enqueue({});
  await waitFor("retryable", async () => (await stateOf(inserted.id)) === "retryable");
  const r = await row(inserted.id);
  const delay = (r.scheduledAt.getTime() - r.attemptedAt!.getTime()) / 1000;
  assert.ok(delay >= 16.9 && delay <= 18.8, `delay ${delay}`);
});

let sawAbort = false;
const Hangs = defineWorker({
  name: "Test.Hangs",
  queue: "hangs",
  timeout: 150,
  maxAttempts: 1,
  async perform(_j, { signal }) {
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    sawAbort = true;
    await sleep(10_000); // ignores the abort: the attempt must end anyway
  },
});

test("a job past its timeout fails its attempt and its signal aborts", async () => {
  oban = await start({ hangs: 1 });
  const inserted = await Hangs.enqueue({});
  await waitFor("discarded", async () => (await stateOf(inserted.id)) === "discarded");
  assert.ok(sawAbort);
  assert.match((await row(inserted.id)).errors[0].error, /TimeoutError: job timed out after 150 ms/);
});

let lateSignal: AbortSignal | undefined;
const NeverLooks = defineWorker({
  name: "Test.NeverLooks",
  queue: "hangs",
  timeout: 100,
  maxAttempts: 1,
  async perform(_j, ctx) {
    await sleep(400); // never reads the signal while it runs
    lateSignal = ctx.signal; // read only after the timeout ended the attempt
  },
});

test("a job that never reads its signal still ends at its timeout, and a signal read later is already aborted", async () => {
  oban = await start({ hangs: 1 });
  const inserted = await NeverLooks.enqueue({});
  await waitFor("discarded", async () => (await stateOf(inserted.id)) === "discarded");
  assert.match((await row(inserted.id)).errors[0].error, /TimeoutError: job timed out after 100 ms/);
  await waitFor("the late read", async () => lateSignal !== undefined);
  assert.ok(lateSignal!.aborted);
  assert.is((lateSignal!.reason as Error).name, "TimeoutError");
});

const Results = job<{ kind: string }>({ name: "Test.Results", queue: "results" }, async ({ kind }, { job: j }) => {
  if (kind === "snooze") return j.meta.snoozed ? undefined : snooze(0);
  if (kind === "cancel") return cancel("not wanted");
  if (kind === "discard") return discard("bad input");
  if (kind === "record") return record({ total: 42, items: ["a", "b"] });
});

test("snooze, cancel, discard and record each end the attempt as Oban does", async () => {
  oban = await start({ results: 4 });
  const [s, c, d, r] = await Results.enqueueMany([{ kind: "snooze" }, { kind: "cancel" }, { kind: "discard" }, { kind: "record" }]);
  await waitFor("all final", async () => {
    const states = await Promise.all([s, c, d, r].map((x) => stateOf(x.id)));
    return states.join() === "completed,cancelled,discarded,completed";
  });
  const snoozed = await row(s.id);
  assert.is(snoozed.attempt, 1, "the snooze gave its attempt back");
  assert.is(snoozed.meta.snoozed, 1);
  assert.is((await row(c.id)).errors[0].error, "not wanted");
  assert.is((await row(d.id)).errors[0].error, "bad input");
  const recorded = await row(r.id);
  assert.is(recorded.meta.recorded, true);
  assert.equal(decodeRecorded(recorded.meta.return as string), { total: 42, items: ["a", "b"] });
});

test("a job whose worker this node does not know fails with a clear error", async () => {
  oban = await start({ unknown: 1 });
  const [inserted] = await Oban.current!.pool.query(
    `INSERT INTO "${prefix}".oban_jobs (state, queue, worker, args, max_attempts) VALUES ('available', 'unknown', 'Nobody.Knows', '{}', 1) RETURNING id`,
  ).then((r) => r.rows);
  await waitFor("discarded", async () => (await stateOf(inserted.id)) === "discarded");
  assert.match((await row(inserted.id)).errors[0].error, /unknown worker "Nobody\.Knows"/);
});

let longStarted = 0;
const Long = defineWorker<{ ms: number }>({
  name: "Test.Long",
  queue: "long",
  async perform(j, { signal }) {
    longStarted++;
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, j.args.ms);
      signal.addEventListener("abort", () => clearTimeout(timer));
    });
  },
});

test("stop within the grace period lets running jobs finish", async () => {
  oban = await start({ long: 2 });
  const jobs = await Long.enqueueMany([{ ms: 300 }, { ms: 300 }]);
  await waitFor("both running", async () => (await Promise.all(jobs.map((j) => stateOf(j.id)))).every((s) => s === "executing"));
  await oban.stop({ grace: 5_000 });
  assert.equal(await Promise.all(jobs.map((j) => stateOf(j.id))), ["completed", "completed"]);
});

test("stop past the grace period returns unfinished jobs to the queue with an error entry", async () => {
  oban = await start({ long: 2 });
  const jobs = await Long.enqueueMany([{ ms: 60_000 }, { ms: 60_000 }]);
  await waitFor("both running", async () => (await Promise.all(jobs.map((j) => stateOf(j.id)))).every((s) => s === "executing"));
  const before = Date.now();
  await oban.stop({ grace: 200 });
  assert.ok(Date.now() - before < 5_000, "stop returned soon after the grace period");
  for (const j of jobs) {
    const r = await row(j.id);
    assert.is(r.state, "available");
    assert.is(r.errors.length, 1);
    assert.match(r.errors[0].error, /ShutdownError/);
  }
  const executing = await pool.query(`SELECT count(*)::int AS n FROM "${prefix}".oban_jobs WHERE state = 'executing'`);
  assert.is(executing.rows[0].n, 0);
});

test("an insert notification wakes the producer without waiting for the poll", async () => {
  oban = await start({ long: 1 }, { pollInterval: 60_000 });
  await sleep(300); // let the LISTEN connection settle and the first (empty) fetch pass
  const started = longStarted;
  await Long.enqueue({ ms: 1 });
  await waitFor("job started by notification", () => longStarted > started, 5_000);
});

let gatedRunning = 0;
let gatedMax = 0;
let gateAborted = 0;
const Gated = defineWorker<{ ms: number }>({
  name: "Test.Gated",
  queue: "gated",
  async perform(j, { signal }) {
    gatedRunning++;
    gatedMax = Math.max(gatedMax, gatedRunning);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, j.args.ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          gateAborted++;
          reject(signal.reason);
        });
      });
    } finally {
      gatedRunning--;
    }
  },
});

test("signals from any node: pause and resume a queue, scale its limit, pkill a running job", async () => {
  oban = await start({ gated: 1 }, { pollInterval: 100 });
  await sleep(300); // LISTEN connected
  const { sendSignal, queueSignal, cancelJobs } = await import("../src/engine/control.js");
  await sendSignal(pool, prefix, queueSignal("pause", "gated") as any);
  await sleep(200);
  const paused = await Gated.enqueue({ ms: 1 });
  await sleep(500);
  assert.is(await stateOf(paused.id), "available", "a paused queue fetches nothing");
  await sendSignal(pool, prefix, queueSignal("resume", "gated") as any);
  await waitFor("resumed", async () => (await stateOf(paused.id)) === "completed");

  gatedMax = 0;
  await sendSignal(pool, prefix, queueSignal("scale", "gated", { limit: 3 }) as any);
  await sleep(200);
  const scaled = await Gated.enqueueMany([{ ms: 300 }, { ms: 300 }, { ms: 300 }, { ms: 300 }]);
  await waitFor("scaled jobs done", async () => (await Promise.all(scaled.map((j) => stateOf(j.id)))).every((st) => st === "completed"));
  assert.is(gatedMax, 3, "the new limit applies");

  const long = await Gated.enqueue({ ms: 60_000 });
  await waitFor("long job running", async () => (await stateOf(long.id)) === "executing");
  await cancelJobs(pool, prefix, { ids: [long.id] });
  await waitFor("aborted by pkill", () => gateAborted === 1, 5_000);
  await sleep(100);
  const final = await row(long.id);
  assert.is(final.state, "cancelled", "the late outcome does not undo the cancel");
});

test("enqueue inside the caller's transaction: the job exists only if it commits", async () => {
  oban = await start({});
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const rolledBack = await Long.enqueue({ ms: 1 }, { client });
    await client.query("ROLLBACK");
    await client.query("BEGIN");
    const committed = await Long.enqueue({ ms: 1 }, { client });
    await client.query("COMMIT");
    assert.is(await getJob(pool, prefix, rolledBack.id), null);
    assert.ok(await getJob(pool, prefix, committed.id));
  } finally {
    client.release();
  }
});

test("concurrent enqueue calls share INSERT statements; one failing call does not fail the others", async () => {
  oban = await start({});
  const listener = await pool.connect();
  const seen: string[] = [];
  listener.on("notification", (m) => seen.push(m.payload ?? ""));
  await listener.query(`LISTEN "${prefix}.oban_insert"`);
  await pool.query(`ALTER TABLE "${prefix}".oban_jobs ADD CONSTRAINT test_no_poison CHECK (args->>'poison' IS NULL)`);
  try {
    const calls = Array.from({ length: 30 }, (_, i) => Long.enqueue(i === 17 ? ({ ms: 1, poison: true } as any) : { ms: 1 }, { queue: "shared" }));
    const results = await Promise.allSettled(calls);
    assert.is(results.filter((r) => r.status === "fulfilled").length, 29);
    assert.is(results[17].status, "rejected");
    assert.match(String((results[17] as PromiseRejectedResult).reason), /test_no_poison/);
    const ids = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.id] : []));
    assert.is(new Set(ids).size, 29, "every caller got its own job back");
    const rows = await pool.query(`SELECT id FROM "${prefix}".oban_jobs WHERE queue = 'shared'`);
    assert.equal(rows.rows.map((r) => r.id).sort(), [...ids].sort());
    seen.length = 0;
    await Promise.all(Array.from({ length: 30 }, () => Long.enqueue({ ms: 1 }, { queue: "shared" })));
    await sleep(100);
    // One notification per statement per queue: 30 calls in at most a handful of statements.
    assert.ok(seen.length <= 5, `${seen.length} notifications for 30 concurrent calls`);
  } finally {
    await pool.query(`ALTER TABLE "${prefix}".oban_jobs DROP CONSTRAINT test_no_poison`);
    listener.release();
  }
});

test("callers that enqueue again as soon as they are answered keep sharing statements", async () => {
  oban = await start({});
  // 10 loops, each awaiting its call before the next: the shape of a web server under load.
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let i = 0; i < 20; i++) await Long.enqueue({ ms: 1 }, { queue: "loops" });
    }),
  );
  // Every statement has its own clock, so distinct inserted_at values count statements. All 10
  // callers join each statement (21 to 26 for 200 jobs here); sending as soon as one completes made
  // statements alternate between the waiting callers and the one just answered (64 here).
  const { rows } = await pool.query(`SELECT count(*)::int AS jobs, count(DISTINCT inserted_at)::int AS statements FROM "${prefix}".oban_jobs WHERE queue = 'loops'`);
  assert.is(rows[0].jobs, 200);
  assert.ok(rows[0].statements <= 40, `${rows[0].statements} statements for 200 jobs from 10 callers`);
});

test("Oban.current falls back to the instance started before the one that stopped", async () => {
  const first = await start({});
  const second = await start({});
  try {
    assert.is(Oban.current, second);
    await second.stop();
    assert.is(Oban.current, first, "the earlier instance still runs");
    const enqueued = await Long.enqueue({ ms: 1 }, { queue: "fallback" });
    assert.ok(await getJob(pool, prefix, enqueued.id));
  } finally {
    await second.stop();
    await first.stop();
  }
  assert.is(Oban.current, undefined);
});

const Unstorable = defineWorker({
  name: "Test.Unstorable",
  queue: "unstorable",
  maxAttempts: 2,
  backoff: () => 3_600,
  async perform() {
    return record({ fn: () => 1 }); // a function has no Erlang term
  },
});

test("a result that cannot be recorded fails the attempt with the worker's own backoff", async () => {
  oban = await start({ unstorable: 1 });
  const inserted = await Unstorable.enqueue({});
  await waitFor("retryable", async () => (await stateOf(inserted.id)) === "retryable");
  const failed = await row(inserted.id);
  const storedBackoff = (failed.scheduledAt.getTime() - failed.attemptedAt!.getTime()) / 1000;
  assert.ok(storedBackoff > 3_500 && storedBackoff < 3_700, `retry ${storedBackoff} s out, not the worker's 3,600`);
  assert.match(failed.errors[0].error, /cannot encode/);
});

test("enqueue rejects bad input before writing anything", async () => {
  oban = await start({});
  const bad: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [{ ms: "\u0000" }, {}, /args\.ms: contains \\u0000/],
    [{ ms: "\ud800" }, {}, /lone UTF-16 surrogate/],
    [{ ms: 1 }, { priority: 10 }, /priority: must be an integer from 0 to 9/],
    [{ ms: 1 }, { maxAttempts: 0 }, /maxAttempts: must be an integer from 1 to 32767/],
    [{ ms: 1 }, { scheduledAt: "yesterday-ish" }, /scheduledAt: must be a date/],
    [{ ms: 1 }, { queue: 'bad"queue' }, /queue: .* must not contain quotes/],
    [{ big: "x".repeat(1024 * 1024 + 1) }, {}, /above the limit of 1048576/],
    [{ ms: 1 }, { meta: [] }, /meta: must be a JSON object \(got an? array/],
    [{ ms: 1 }, { meta: "x" }, /meta: must be a JSON object/],
  ];
  for (const [args, options, message] of bad) {
    try {
      await Long.enqueue(args as any, options);
      assert.unreachable(`accepted ${JSON.stringify(options)}`);
    } catch (error) {
      assert.instance(error, Error);
      assert.is((error as { code?: string }).code, "invalid_input", (error as Error).message);
      assert.match((error as Error).message, message);
    }
  }
  const count = await pool.query(`SELECT count(*)::int AS n FROM "${prefix}".oban_jobs`);
  assert.is(count.rows[0].n, 0);
});

test.run();
