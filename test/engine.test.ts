import { suite } from "uvu";
import * as assert from "uvu/assert";
import pg from "pg";
import { withTransaction } from "../src/db/pool.js";
import { insertJobs, prepareJob } from "../src/engine/insert.js";
import { ackAndFetch, fetchJobs } from "../src/engine/fetch.js";
import { ackJobs } from "../src/engine/ack.js";
import { stageJobs } from "../src/engine/stage.js";
import { getJob } from "../src/engine/jobs.js";
import { useSchema, testDatabaseUrl, type SchemaKind } from "./support/schemas.js";

const KINDS: SchemaKind[] = ["ours", "elixir", "obanpy", "obanpy_on_elixir"];

for (const kind of KINDS) {
  const test = suite(`engine on ${kind} schema`);

  const schema = useSchema(test, kind, 4);

  const spec = (over: Record<string, unknown> = {}) => prepareJob({ worker: "Test.Worker", args: { n: 1 }, ...over } as any);
  const fetch = (queue = "default", demand = 10) => fetchJobs(schema.pool, schema.prefix, { queue, demand, node: "node-a", producer: "00000000-0000-4000-8000-000000000001" });

  test("insert writes a row every implementation can read", async () => {
    const [job] = await insertJobs(schema.pool, schema.prefix, [spec({ tags: [" Alpha", "alpha", "", "Beta ", 'q"u,o\\te {x}'], meta: { m: 1 }, priority: 3, maxAttempts: 5 })]);
    assert.is(job.state, "available");
    const row = await getJob(schema.pool, schema.prefix, job.id);
    assert.ok(row);
    assert.equal(row!.tags, ["alpha", "beta", 'q"u,o\\te {x}']);
    assert.equal(job.tags, row!.tags);
    assert.equal(job.insertedAt, row!.insertedAt, "the returned job carries the database's times");
    assert.equal(row!.meta, { m: 1 });
    assert.equal(row!.args, { n: 1 });
    assert.equal(row!.errors, []);
    assert.equal(row!.attemptedBy, []);
    assert.is(row!.attempt, 0);
    assert.is(row!.priority, 3);
    assert.is(row!.maxAttempts, 5);
    const raw = await schema.pool.query(`SELECT attempted_by, meta FROM "${schema.prefix}".oban_jobs WHERE id = $1`, [job.id]);
    assert.equal(raw.rows[0].attempted_by, [], "attempted_by is written as an empty array, never NULL");
  });

  test("a future scheduledAt inserts a scheduled job; the stager makes it available when due", async () => {
    const [later] = await insertJobs(schema.pool, schema.prefix, [spec({ scheduleIn: 3600 })]);
    const [soon] = await insertJobs(schema.pool, schema.prefix, [spec({ scheduleIn: 0.3 })]);
    assert.is(later.state, "scheduled");
    assert.is(soon.state, "scheduled");
    assert.equal(await stageJobs(schema.pool, schema.prefix, ["default"]), []);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await stageJobs(schema.pool, schema.prefix, ["default"]), [{ queue: "default", count: 1 }]);
    assert.is((await getJob(schema.pool, schema.prefix, soon.id))!.state, "available");
    assert.is((await getJob(schema.pool, schema.prefix, later.id))!.state, "scheduled");
  });

  test("bulk insert sends one notification per queue, not per row", async () => {
    const listener = new pg.Client({ connectionString: testDatabaseUrl() });
    await listener.connect();
    const seen: string[] = [];
    listener.on("notification", (m) => seen.push(m.payload ?? ""));
    await listener.query(`LISTEN "${schema.prefix}.oban_insert"`);
    try {
      await insertJobs(schema.pool, schema.prefix, [spec(), spec(), spec({ queue: "mail" }), spec({ queue: "later", scheduleIn: 60 })]);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(seen.map((p) => JSON.parse(p).queue).sort(), ["default", "mail"]);
    } finally {
      await listener.end();
    }
  });

  test("inside a transaction the job exists only if the caller commits", async () => {
    await withTransaction(schema.pool, async (client) => {
      await insertJobs(client, schema.prefix, [spec({ args: { kept: true } })]);
    });
    await schema.pool.connect().then(async (client) => {
      try {
        await client.query("BEGIN");
        await insertJobs(client, schema.prefix, [spec({ args: { kept: false } })]);
        await client.query("ROLLBACK");
      } finally {
        client.release();
      }
    });
    const rows = await schema.pool.query(`SELECT args FROM "${schema.prefix}".oban_jobs`);
    assert.equal(rows.rows.map((r) => r.args), [{ kept: true }]);
  });

  test("fetch claims by demand in priority order and marks the attempt", async () => {
    await insertJobs(schema.pool, schema.prefix, [spec({ priority: 5, args: { n: 5 } }), spec({ priority: 0, args: { n: 0 } }), spec({ priority: 9, args: { n: 9 } })]);
    const jobs = await fetch("default", 2);
    assert.equal(jobs.map((j) => j.args.n), [0, 5]);
    for (const job of jobs) {
      assert.is(job.state, "executing");
      assert.is(job.attempt, 1);
      assert.equal(job.attemptedBy, ["node-a", "00000000-0000-4000-8000-000000000001"]);
      assert.ok(job.attemptedAt instanceof Date);
    }
    assert.is((await fetch("default", 10)).length, 1);
    assert.is((await fetch("default", 10)).length, 0);
  });

  test("an available row with exhausted attempts neither fails the fetch nor takes a slot", async () => {
    const [poison, good] = await insertJobs(schema.pool, schema.prefix, [spec({ maxAttempts: 1, priority: 0 }), spec({ priority: 1 })]);
    await schema.pool.query(`UPDATE "${schema.prefix}".oban_jobs SET attempt = max_attempts WHERE id = $1`, [poison.id]);
    const jobs = await fetch("default", 1);
    assert.equal(jobs.map((j) => j.id), [good.id]);
  });

  test("acks: complete, retry with an error entry, discard, cancel, snooze", async () => {
    const inserted = await insertJobs(schema.pool, schema.prefix, [spec(), spec(), spec({ maxAttempts: 1 }), spec(), spec()]);
    const jobs = await fetch("default", 10);
    const [a, b, c, d, e] = inserted.map((ins) => jobs.find((j) => j.id === ins.id)!);
    await schema.pool.query(`UPDATE "${schema.prefix}".oban_jobs SET meta = ${kind === "obanpy" ? "'{}'" : "NULL"} WHERE id = $1`, [e.id]);
    const written = await ackJobs(schema.pool, schema.prefix, [
      { id: a.id, attempt: a.attempt, state: "completed" },
      { id: b.id, attempt: b.attempt, state: "retryable", delay: 30, error: "Error: boom" },
      { id: c.id, attempt: c.attempt, state: "discarded", error: "Error: last" },
      { id: d.id, attempt: d.attempt, state: "cancelled", error: "no longer needed" },
      { id: e.id, attempt: e.attempt, state: "scheduled", delay: 60 },
    ]);
    assert.is(written.size, 5);
    const [ra, rb, rc, rd, re] = await Promise.all([a, b, c, d, e].map((j) => getJob(schema.pool, schema.prefix, j.id)));
    assert.is(ra!.state, "completed");
    assert.ok(ra!.completedAt);
    assert.is(rb!.state, "retryable");
    assert.is(rb!.errors.length, 1);
    assert.is(rb!.errors[0].attempt, 1);
    assert.is(rb!.errors[0].error, "Error: boom");
    assert.match(rb!.errors[0].at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const delay = (rb!.scheduledAt.getTime() - Date.now()) / 1000;
    assert.ok(delay > 25 && delay < 35, `retry scheduled about 30 s ahead (got ${delay})`);
    assert.is(rc!.state, "discarded");
    assert.ok(rc!.discardedAt);
    assert.is(rd!.state, "cancelled");
    assert.ok(rd!.cancelledAt);
    assert.is(rd!.errors[0].error, "no longer needed");
    assert.is(re!.state, "scheduled");
    assert.is(re!.attempt, 0, "snooze gives the attempt back");
    assert.equal(re!.meta, { snoozed: 1 });
  });

  test("a released job (claimed into a local buffer, never started) goes back in line untouched", async () => {
    const [ins] = await insertJobs(schema.pool, schema.prefix, [spec()]);
    const before = await getJob(schema.pool, schema.prefix, ins.id);
    const [job] = await fetch();
    const written = await ackJobs(schema.pool, schema.prefix, [{ id: job.id, attempt: job.attempt, state: "released" }]);
    assert.equal([...written], [job.id]);
    const after = (await getJob(schema.pool, schema.prefix, ins.id))!;
    assert.is(after.state, "available");
    assert.is(after.attempt, 0);
    assert.equal(after.errors, []);
    assert.equal(after.scheduledAt, before!.scheduledAt, "keeps its place in line");
  });

  test("ack and fetch share one statement; lost outcomes are reported", async () => {
    const [a, b] = await insertJobs(schema.pool, schema.prefix, [spec({ priority: 0 }), spec({ priority: 1 })]);
    const [first] = await fetch("default", 1);
    assert.is(first.id, a.id);
    const result = await ackAndFetch(schema.pool, schema.prefix, {
      queue: "default", demand: 5, node: "node-a", producer: "00000000-0000-4000-8000-000000000001",
      acks: [{ id: first.id, attempt: first.attempt, state: "completed" }, { id: "999999999", attempt: 1, state: "completed" }],
    });
    assert.equal(result.jobs.map((j) => j.id), [b.id]);
    assert.equal([...result.lost], ["999999999"]);
    assert.is((await getJob(schema.pool, schema.prefix, a.id))!.state, "completed");
  });

  test("a second error appends exactly one more entry", async () => {
    const [ins] = await insertJobs(schema.pool, schema.prefix, [spec()]);
    for (let attempt = 1; attempt <= 2; attempt++) {
      await schema.pool.query(`UPDATE "${schema.prefix}".oban_jobs SET state = 'available' WHERE id = $1`, [ins.id]);
      const [job] = await fetch();
      await ackJobs(schema.pool, schema.prefix, [{ id: job.id, attempt: job.attempt, state: "retryable", delay: 1, error: `fail ${attempt}` }]);
    }
    const row = await getJob(schema.pool, schema.prefix, ins.id);
    assert.equal(row!.errors.map((e) => [e.attempt, e.error]), [[1, "fail 1"], [2, "fail 2"]]);
  });

  test("an ack for a stale attempt or a cancelled job writes nothing", async () => {
    const [ins1, ins2] = await insertJobs(schema.pool, schema.prefix, [spec(), spec()]);
    const jobs = await fetch();
    const first = jobs.find((j) => j.id === ins1.id)!;
    const second = jobs.find((j) => j.id === ins2.id)!;
    // first: rescued and fetched again, so the row is attempt 2 now
    await schema.pool.query(`UPDATE "${schema.prefix}".oban_jobs SET state = 'available' WHERE id = $1`, [first.id]);
    const [again] = await fetch();
    assert.is(again.attempt, 2);
    // second: cancelled while running
    await schema.pool.query(`UPDATE "${schema.prefix}".oban_jobs SET state = 'cancelled', cancelled_at = now() WHERE id = $1`, [second.id]);
    const written = await ackJobs(schema.pool, schema.prefix, [
      { id: first.id, attempt: first.attempt, state: "completed" },
      { id: second.id, attempt: second.attempt, state: "completed" },
    ]);
    assert.is(written.size, 0);
    assert.is((await getJob(schema.pool, schema.prefix, first.id))!.state, "executing");
    assert.is((await getJob(schema.pool, schema.prefix, second.id))!.state, "cancelled");
  });

  test.run();
}
