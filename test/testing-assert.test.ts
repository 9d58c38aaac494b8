import { AssertionError } from "node:assert";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ObanError, defineWorker } from "../src/index.js";
import { drainQueue, assertEnqueued, refuteEnqueued, allEnqueued, type EnqueuedFilter } from "../src/testing.js";
import { rejection, useInstance } from "./support/testing.js";
import { sleep } from "./support/wait.js";

/** oban-ts/testing assertEnqueued, refuteEnqueued, allEnqueued. */
const test = suite("testing: enqueued assertions");
const db = useInstance(test);

const Report = defineWorker<{ id: number; opts?: Record<string, unknown>; list?: number[] }>({
  name: "Testing.Report",
  queue: "reports",
  perform() {},
});
const Other = defineWorker<{ id: number }>({ name: "Testing.Other", queue: "reports", perform() {} });

test("assertEnqueued matches by worker, queue, args and meta subsets, priority, tags and state", async () => {
  const job = await Report.enqueue(
    { id: 7, opts: { a: 1, b: 2 }, list: [1, 2, 3] },
    { meta: { trace: "x", n: 1 }, tags: ["Urgent"], priority: 3 },
  );
  const matching: EnqueuedFilter<any>[] = [
    { worker: Report },
    { worker: "Testing.Report" },
    { queue: "reports" },
    { args: { id: 7 } },
    { args: { opts: { a: 1 } } },
    { args: { list: [2] } },
    { meta: { trace: "x" } },
    { priority: 3 },
    { tags: ["urgent"] },
    { tags: [" URGENT "] },
    { worker: Report, queue: "reports", args: { id: 7 }, meta: { n: 1 }, priority: 3, tags: ["urgent"] },
  ];
  for (const filter of matching) assert.is((await assertEnqueued(filter, { oban: db.oban })).id, job.id, JSON.stringify(filter));
  const notMatching: EnqueuedFilter<any>[] = [
    { worker: Other },
    { worker: "Testing.Report", queue: "default" },
    { args: { id: 8 } },
    { args: { id: "7" } },
    { args: { opts: { a: 2 } } },
    { args: { list: [4] } },
    { meta: { trace: "y" } },
    { priority: 0 },
    { tags: ["urgent", "other"] },
    { worker: Report, state: "completed" },
  ];
  for (const filter of notMatching) await refuteEnqueued(filter, { oban: db.oban });
  const error = await rejection(refuteEnqueued({ args: { id: 7 } }, { oban: db.oban }));
  assert.instance(error, AssertionError);
});

test("by default only jobs waiting to run count: available and scheduled", async () => {
  const scheduled = await Report.enqueue({ id: 1 }, { scheduleIn: 600 });
  assert.is((await assertEnqueued({ worker: Report }, { oban: db.oban })).id, scheduled.id);
  const done = await Report.enqueue({ id: 2 });
  await drainQueue({ queue: "reports", oban: db.oban });
  await refuteEnqueued({ args: { id: 2 } }, { oban: db.oban });
  assert.is((await assertEnqueued({ args: { id: 2 }, state: "completed" }, { oban: db.oban })).id, done.id);
  assert.is((await assertEnqueued({ args: { id: 2 }, state: ["available", "completed"] }, { oban: db.oban })).id, done.id);
});

test("allEnqueued returns every match, oldest first", async () => {
  const [a, , c] = await Report.enqueueMany([{ id: 1 }, { id: 2 }, { id: 1 }]);
  await Other.enqueue({ id: 1 });
  assert.equal((await allEnqueued({ worker: Report, args: { id: 1 } }, { oban: db.oban })).map((j) => j.id), [a.id, c.id]);
  const reports = await allEnqueued({ worker: Report }, { oban: db.oban });
  assert.equal(reports.map((j) => j.args.id), [1, 2, 1]);
  assert.is((await allEnqueued({ queue: "reports" }, { oban: db.oban })).length, 4);
  assert.equal(await allEnqueued({ worker: Report, args: { id: 3 } }, { oban: db.oban }), []);
});

test("a failed assertEnqueued says what it looked for and lists the worker's jobs", async () => {
  await Report.enqueue({ id: 7 }, { tags: ["weekly"] });
  const done = await Report.enqueue({ id: 9 });
  await db.pool.query(`UPDATE "${db.prefix}".oban_jobs SET state = 'completed' WHERE id = $1`, [done.id]);
  await Other.enqueue({ id: 8 });
  const error = await rejection(assertEnqueued({ worker: Report, args: { id: 8 } }, { oban: db.oban }));
  assert.instance(error, AssertionError);
  const message = error.message;
  assert.match(message, 'expected a job matching {"worker":"Testing.Report","args":{"id":8}} in state available or scheduled to be enqueued, found none');
  assert.match(message, "jobs of worker Testing.Report, in any state (2):");
  assert.match(message, /#\d+ available Testing\.Report queue=reports priority=0 args=\{"id":7\} tags=weekly/);
  assert.match(message, /#\d+ completed Testing\.Report queue=reports priority=0 args=\{"id":9\}/);
  assert.not.match(message, "Testing.Other", "only the worker asked about");

  const none = await rejection(assertEnqueued({ worker: "Testing.Nobody", queue: "reports" }, { oban: db.oban }));
  assert.match(none.message, "there are no jobs of worker Testing.Nobody in queue reports in any state");
});

test("a long listing is cut at 20 jobs and counts the rest", async () => {
  await Report.enqueueMany(Array.from({ length: 25 }, (_, i) => ({ id: i })));
  const error = await rejection(assertEnqueued({ worker: Report, args: { id: 99 } }, { oban: db.oban }));
  assert.is(error.message.split("\n").filter((line) => line.startsWith("  #")).length, 20);
  assert.match(error.message, "… and 5 more");
  const refuted = await rejection(refuteEnqueued({ worker: Report }, { oban: db.oban }));
  assert.match(refuted.message, 'expected no job matching {"worker":"Testing.Report"} in state available or scheduled, found 25:');
  assert.match(refuted.message, "… and 5 more");
});

test("with a timeout, assertEnqueued waits for a job enqueued later and refuteEnqueued catches one", async () => {
  const late = sleep(150).then(() => Report.enqueue({ id: 42 }, { oban: db.oban }));
  await rejection(assertEnqueued({ args: { id: 42 } }, { oban: db.oban }));
  assert.is((await assertEnqueued({ args: { id: 42 } }, { oban: db.oban, timeout: 5_000 })).id, (await late).id);

  const later = sleep(150).then(() => Report.enqueue({ id: 43 }, { oban: db.oban }));
  const started = Date.now();
  const error = await rejection(refuteEnqueued({ args: { id: 43 } }, { oban: db.oban, timeout: 5_000 }));
  await later;
  assert.match(error.message, "found 1");
  assert.ok(Date.now() - started < 4_000, "failed as soon as the job appeared");
  const waited = await rejection(assertEnqueued({ args: { id: 44 } }, { oban: db.oban, timeout: 100 }));
  assert.match(waited.message, "to be enqueued within 100 ms, found none");
});

test("filters are checked: an unknown key, a bad state or non-object args are refused, not ignored", async () => {
  await Report.enqueue({ id: 1 });
  for (const [filter, field, text] of [
    [{ wroker: Report }, "filter", /unknown key "wroker"/],
    [{ state: "done" }, "state", /unknown state "done"/],
    [{ state: [] }, "state", /at least one/],
    [{ args: [1] }, "args", /JSON object/],
    [{ priority: -1 }, "priority", /0 to 9/],
    [{ worker: {} }, "worker", /non-empty/],
  ] as const) {
    const error = await rejection(refuteEnqueued(filter as any, { oban: db.oban }));
    assert.instance(error, ObanError, error.message);
    assert.is((error as ObanError).field, field);
    assert.match(error.message, text);
  }
});


test.run();
