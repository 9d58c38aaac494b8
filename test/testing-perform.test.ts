import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ObanError, defineWorker, type Job } from "../src/index.js";
import { performJob } from "../src/testing.js";
import { Outcomes, probe, rejection } from "./support/testing.js";

/** oban-ts/testing performJob: one attempt in this process. No database: this suite opens none. */
const test = suite("testing: performJob");

let seen: Job | undefined;
const Spy = defineWorker<Record<string, unknown>>({
  name: "Testing.Spy",
  queue: "spies",
  maxAttempts: 4,
  priority: 2,
  tags: ["spy"],
  meta: { source: "worker" },
  perform(job) {
    seen = job;
  },
});

// ── performJob ─────────────────────────────────────────────────────────────────────────────────

test("performJob runs perform once with the job enqueue would build, after a JSON round trip", async () => {
  seen = undefined;
  const when = new Date("2030-01-02T03:04:05Z");
  const result = await performJob(Spy, { when, gone: undefined, n: 1 }, { attempt: 2, meta: { trace: "t1" }, tags: [" Extra "] });
  assert.is(result.kind, "completed");
  assert.is(result.state, "completed");
  const got = seen as Job | undefined; // assigned inside perform: TypeScript cannot see it
  assert.ok(got, "perform ran");
  assert.is(result.job, got);
  assert.equal(got!.args, { when: "2030-01-02T03:04:05.000Z", n: 1 }, "as perform would read it from the table");
  assert.not.ok("gone" in got!.args);
  assert.is(got!.worker, "Testing.Spy");
  assert.is(got!.queue, "spies");
  assert.is(got!.priority, 2);
  assert.is(got!.attempt, 2);
  assert.is(got!.maxAttempts, 4);
  assert.equal(got!.tags, ["spy", "extra"]);
  assert.equal(got!.meta, { source: "worker", trace: "t1" });
  assert.is(got!.state, "executing");
  const other = await performJob(Spy, {}, { queue: "elsewhere", priority: 0, maxAttempts: 1 });
  assert.equal([other.job.queue, other.job.priority, other.job.maxAttempts], ["elsewhere", 0, 1]);
});

test("performJob reports every way an attempt ends, as the runtime would write it", async () => {
  const recorded = await performJob(Outcomes, { kind: "record" });
  assert.equal(recorded.kind === "recorded" && recorded.value, { total: 42, items: ["a", "b"] });
  assert.is(recorded.state, "completed");
  const snoozed = await performJob(Outcomes, { kind: "snooze" });
  assert.equal(snoozed.kind === "snoozed" && [snoozed.state, snoozed.seconds], ["scheduled", 30]);
  const cancelled = await performJob(Outcomes, { kind: "cancel" });
  assert.equal(cancelled.kind === "cancelled" && [cancelled.state, cancelled.reason], ["cancelled", "not wanted"]);
  const discarded = await performJob(Outcomes, { kind: "discard" });
  assert.equal(discarded.kind === "discarded" && [discarded.state, discarded.reason], ["discarded", "bad input"]);

  const failed = await performJob(Outcomes, { kind: "throw" });
  if (failed.kind !== "failed") throw new Error(`expected failed, got ${failed.kind}`);
  assert.is(failed.state, "retryable");
  assert.is(failed.retryIn, 7, "the worker's backoff");
  assert.is((failed.error as Error).message, "boom on attempt 1");

  const last = await performJob(Outcomes, { kind: "throw" }, { attempt: 3 });
  if (last.kind !== "failed") throw new Error(`expected failed, got ${last.kind}`);
  assert.is(last.state, "discarded", "the last attempt");
  assert.is(last.retryIn, undefined);
  assert.is((last.error as Error).message, "boom on attempt 3");
  assert.is((await performJob(Outcomes, { kind: "ok" })).kind, "completed");
});

test("performJob enforces the worker's timeout: the attempt fails and its signal aborts", async () => {
  const started = Date.now();
  const result = await performJob(Outcomes, { kind: "hang" });
  assert.ok(Date.now() - started < 1_500, "did not wait for perform");
  if (result.kind !== "failed") throw new Error(`expected failed, got ${result.kind}`);
  assert.is((result.error as Error).name, "TimeoutError");
  assert.is(result.state, "retryable");
  assert.ok(probe.lastSignal?.aborted);
});

test("performJob refuses what enqueue would refuse, before perform runs", async () => {
  const before = probe.performed;
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: [unknown, Record<string, unknown>, string][] = [
    [[1, 2], {}, "args"],
    [{ text: "a\u0000b" }, {}, "args.text"],
    [{ map: new Map() }, {}, "args.map"],
    [{ big: 1n }, {}, "args.big"],
    [cyclic, {}, "args.self"],
    [{ kind: "ok" }, { priority: 10 }, "priority"],
    [{ kind: "ok" }, { meta: { text: "\u0000" } }, "meta.text"],
    [{ kind: "ok" }, { attempt: 0 }, "attempt"],
    [{ kind: "ok" }, { attempt: 4 }, "attempt"],
    [{ kind: "ok" }, { attempt: 2, maxAttempts: 1 }, "attempt"],
  ];
  for (const [args, options, field] of cases) {
    const error = await rejection(performJob(Outcomes, args as any, options as any));
    assert.instance(error, ObanError, `${JSON.stringify(options)}: ${error.message}`);
    assert.is((error as ObanError).code, "invalid_input");
    assert.is((error as ObanError).field, field, error.message);
  }
  assert.is(probe.performed, before, "perform never ran");
});

test("performJob takes a worker's name, and refuses a name no worker has", async () => {
  assert.is((await performJob("Testing.Outcomes", { kind: "cancel" })).kind, "cancelled");
  const error = await rejection(performJob("Testing.Nobody", {}));
  assert.is((error as ObanError).code, "not_found");
  assert.match(error.message, /Testing\.Nobody/);
});

test.run();
