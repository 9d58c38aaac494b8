import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Oban, ObanError, defineWorker, type Worker } from "../src/index.js";
import { drainQueue, assertEnqueued, refuteEnqueued, allEnqueued } from "../src/testing.js";
import { channel } from "../src/engine/job.js";
import { stageJobs } from "../src/engine/stage.js";
import { listen } from "./support/listen.js";
import { testDatabaseUrl } from "./support/schemas.js";
import { Outcomes, executingCount, rejection, rowOf, useInstance, type Kind } from "./support/testing.js";
import { sleep, waitFor } from "./support/wait.js";

/** oban-ts/testing drainQueue: a queue's jobs run here and now, through the real engine. */
const test = suite("testing: drainQueue");
const db = useInstance(test);
const row = (id: string) => rowOf(db, id);

test("drainQueue runs the available jobs through the engine, counts each outcome and leaves nothing executing", async () => {
  const events: string[] = [];
  const listener = (e: { event: string }) => events.push(e.event);
  db.oban.on("job", listener);
  try {
    const kinds: Kind[] = ["ok", "ok", "record", "snooze", "cancel", "discard", "throw"];
    const jobs = await Outcomes.enqueueMany(kinds.map((kind) => ({ kind })));
    const lastChance = await Outcomes.enqueue({ kind: "throw" }, { maxAttempts: 1 });
    const later = await Outcomes.enqueue({ kind: "ok" }, { scheduleIn: 3600 });
    const elsewhere = await Outcomes.enqueue({ kind: "ok" }, { queue: "other" });

    const result = await drainQueue({ queue: "outcomes" }); // the last instance started
    assert.equal(
      { ...result, failures: result.failures.length },
      { completed: 3, retryable: 1, discarded: 2, cancelled: 1, snoozed: 1, lost: 0, failures: 2 },
    );
    assert.equal(result.failures.map((f) => (f.error as Error).message).sort(), ["boom on attempt 1", "boom on attempt 1"]);
    assert.is(events.length, 8, "one job event per attempt");
    assert.is(await executingCount(db), 0);
    assert.is(db.oban.producers.size, 0, "no producer was started");

    const [ok, , rec, snoozed, cancelled, discarded, thrown] = await Promise.all(jobs.map((j) => row(j.id)));
    assert.is(ok.state, "completed");
    assert.equal([ok.attempt, ok.attemptedBy[0]], [1, db.oban.node]);
    assert.is(rec.meta.recorded, true);
    assert.equal([snoozed.state, snoozed.attempt, snoozed.meta.snoozed], ["scheduled", 0, 1]);
    assert.equal([cancelled.state, cancelled.errors[0].error], ["cancelled", "not wanted"]);
    assert.equal([discarded.state, discarded.errors[0].error], ["discarded", "bad input"]);
    assert.is(thrown.state, "retryable");
    const delay = (thrown.scheduledAt.getTime() - thrown.attemptedAt!.getTime()) / 1000;
    assert.ok(delay > 6 && delay < 8, `the worker's 7 s backoff (${delay})`);
    assert.is((await row(lastChance.id)).state, "discarded");
    assert.equal([(await row(later.id)).state, (await row(later.id)).attempt], ["scheduled", 0], "not due, not drained");
    assert.is((await row(elsewhere.id)).state, "available", "another queue is left alone");
    assert.equal(await drainQueue({ queue: "outcomes", oban: db.oban }), { completed: 0, retryable: 0, discarded: 0, cancelled: 0, snoozed: 0, lost: 0, failures: [] });
  } finally {
    db.oban.off("job", listener);
  }
});

let flakyRuns = 0;
const Flaky = defineWorker<{ failUntil: number }>({
  name: "Testing.Flaky",
  queue: "flaky",
  maxAttempts: 3,
  perform(job) {
    flakyRuns++;
    if (job.attempt <= job.args.failUntil) throw new Error(`attempt ${job.attempt} fails`);
  },
});

test("withScheduled also runs scheduled and retryable jobs; a Date runs those due by then", async () => {
  const soon = await Flaky.enqueue({ failUntil: 0 }, { scheduleIn: 60 });
  const far = await Flaky.enqueue({ failUntil: 0 }, { scheduleIn: 7200 });
  const retried = await Flaky.enqueue({ failUntil: 1 });

  assert.equal((await drainQueue({ queue: "flaky", oban: db.oban })).retryable, 1, "only the available job ran");
  assert.is((await row(retried.id)).state, "retryable");
  assert.is((await drainQueue({ queue: "flaky", oban: db.oban })).completed, 0, "without withScheduled nothing else runs");

  const byThen = await drainQueue({ queue: "flaky", oban: db.oban, withScheduled: new Date(Date.now() + 3600_000) });
  assert.is(byThen.completed, 2, "the job due in a minute and the retry (due after Oban's ~17 s backoff)");
  assert.is((await row(soon.id)).state, "completed");
  assert.equal([(await row(retried.id)).state, (await row(retried.id)).attempt], ["completed", 2]);
  assert.is((await row(far.id)).state, "scheduled");

  const all = await drainQueue({ queue: "flaky", oban: db.oban, withScheduled: true });
  assert.is(all.completed, 1);
  assert.is((await row(far.id)).state, "completed");
  assert.is(await executingCount(db), 0);
});

test("withScheduled stages without waking producers elsewhere; the stager still wakes them", async () => {
  const listener = await listen(testDatabaseUrl(), [channel(db.prefix, "insert")]);
  try {
    await Flaky.enqueue({ failUntil: 0 }, { scheduleIn: 600 }); // scheduled: its insert notifies nobody
    assert.is((await drainQueue({ queue: "flaky", oban: db.oban, withScheduled: true })).completed, 1);
    await listener.settle(db.pool);
    assert.equal(listener.json(channel(db.prefix, "insert")), [], "the drain claims the jobs itself");
    await Flaky.enqueue({ failUntil: 0 }, { scheduledAt: new Date(Date.now() - 1_000) });
    await db.pool.query(`UPDATE "${db.prefix}".oban_jobs SET state = 'scheduled' WHERE state = 'available'`);
    await listener.settle(db.pool);
    listener.clear(); // the insert's own notification (the job was due, so inserted available)
    assert.equal(await stageJobs(db.pool, db.prefix, ["flaky"]), [{ queue: "flaky", count: 1 }]);
    await listener.settle(db.pool);
    assert.equal(listener.json(channel(db.prefix, "insert")), [{ queue: "flaky" }]);
  } finally {
    await listener.close();
  }
});

const Chain: Worker<{ left: number }> = defineWorker<{ left: number }>({
  name: "Testing.Chain",
  queue: "chain",
  async perform(job) {
    if (job.args.left > 0) await Chain.enqueue({ left: job.args.left - 1 });
  },
});

test("withRecursion drains jobs the drained jobs insert; without it they wait in the queue", async () => {
  await Chain.enqueue({ left: 3 });
  assert.is((await drainQueue({ queue: "chain", oban: db.oban })).completed, 1);
  await assertEnqueued({ worker: Chain, args: { left: 2 } }, { oban: db.oban });
  const rest = await drainQueue({ queue: "chain", oban: db.oban, withRecursion: true });
  assert.is(rest.completed, 3);
  await refuteEnqueued({ worker: Chain }, { oban: db.oban });
  assert.is((await allEnqueued({ worker: Chain, state: "completed" }, { oban: db.oban })).length, 4);
});

test("withScheduled and withRecursion retry a failing job until it is discarded", async () => {
  flakyRuns = 0;
  const job = await Flaky.enqueue({ failUntil: 99 });
  const result = await drainQueue({ queue: "flaky", oban: db.oban, withScheduled: true, withRecursion: true });
  assert.equal([result.retryable, result.discarded, result.completed], [2, 1, 0]);
  assert.equal(result.failures.map((f) => (f.error as Error).message), ["attempt 1 fails", "attempt 2 fails", "attempt 3 fails"]);
  assert.is(flakyRuns, 3);
  const final = await row(job.id);
  assert.equal([final.state, final.attempt, final.errors.length], ["discarded", 3, 3]);
});

const SelfCancel = defineWorker({
  name: "Testing.SelfCancel",
  queue: "selfcancel",
  async perform(job) {
    // As an operator's `oban cancel` would, while the job runs.
    await db.pool.query(`UPDATE "${db.prefix}".oban_jobs SET state = 'cancelled', cancelled_at = now() WHERE id = $1`, [job.id]);
  },
});

test("an outcome the job can no longer take is counted as lost, not as done", async () => {
  const job = await SelfCancel.enqueue({});
  const result = await drainQueue({ queue: "selfcancel", oban: db.oban });
  assert.equal([result.lost, result.completed], [1, 0]);
  assert.is((await row(job.id)).state, "cancelled");
});

test("drainQueue checks its options", async () => {
  for (const [options, field] of [
    [{ queue: "" }, "queue"],
    [{ queue: "q", withScheduled: "soon" }, "withScheduled"],
  ] as const) {
    const error = await rejection(drainQueue({ ...options, oban: db.oban } as any));
    assert.is((error as ObanError).field, field, error.message);
  }
});

let countedRuns: string[] = [];
const Counted = defineWorker({
  name: "Testing.Counted",
  queue: "shared",
  async perform(job) {
    countedRuns.push(job.id);
    await sleep(5);
  },
});

test("drainQueue runs only the instance's own workers, as its producers would", async () => {
  const narrow = await Oban.start({ databaseUrl: testDatabaseUrl(), prefix: db.prefix, queues: {}, workers: [Outcomes], leader: false, notifier: false });
  try {
    const mine = await Outcomes.enqueue({ kind: "ok" }, { queue: "narrow", oban: narrow });
    const other = await Counted.enqueue({}, { queue: "narrow", oban: narrow }); // defined in this process, not in `narrow`
    const result = await drainQueue({ queue: "narrow", oban: narrow });
    assert.is(result.completed, 1);
    assert.is((await row(mine.id)).state, "completed");
    assert.is((await row(other.id)).state, "retryable");
    assert.match(String(result.failures.map((f) => (f.error as Error).message)), /unknown worker "Testing.Counted"/);
  } finally {
    await narrow.stop();
  }
});

test("drainQueue is safe beside a running instance on the same queue: every job runs once", async () => {
  countedRuns = [];
  const busy = await Oban.start({
    databaseUrl: testDatabaseUrl(), prefix: db.prefix, queues: { shared: 1 }, node: "busy-node",
    pollInterval: 20, localBuffer: false, leader: false, notifier: false,
  });
  try {
    let busyCompleted = 0;
    busy.on("job", (e) => e.event === "completed" && e.queue === "shared" && busyCompleted++);
    await waitFor("the busy producer runs", async () => {
      await Counted.enqueue({}, { oban: db.oban });
      return busyCompleted > 0;
    });
    const jobs = await Counted.enqueueMany(Array.from({ length: 60 }, () => ({})), { oban: db.oban });
    const drained = await drainQueue({ queue: "shared", oban: db.oban });
    assert.ok(drained.completed > 0, "the drain ran some");
    await waitFor("all completed", async () => (await allEnqueued({ worker: Counted }, { oban: db.oban })).length === 0);
    await waitFor("busy acks written", async () => (await executingCount(db)) === 0);
    const total = (await allEnqueued({ worker: Counted, state: "completed" }, { oban: db.oban })).length;
    assert.ok(total > jobs.length, "the 60 jobs and the warm-up ones");
    assert.is(countedRuns.length, total, "one run per job");
    assert.is(new Set(countedRuns).size, countedRuns.length, "no job ran twice");
    assert.is(drained.completed + busyCompleted, total, "every job was run by the drain or by the instance");
    assert.ok(busy.producers.get("shared"), "the instance's producer is still there");
  } finally {
    await busy.stop({ grace: 1_000 });
  }
  // The instance started before `busy` still runs, so it is the default again.
  assert.is(Oban.current, db.oban);
  assert.is((await drainQueue({ queue: "shared" })).completed, 0, "nothing left, and no error");
});

test.run();
