import { suite } from "uvu";
import * as assert from "uvu/assert";
import { insertJobs, prepareJob, type JobSpec } from "../src/engine/insert.js";
import { insertUnique, normaliseUnique, uniqueLockKey, uniqueMatch, type UniqueOptions } from "../src/engine/unique.js";
import { SCHEMA_KINDS, useSchema } from "./support/schemas.js";

/**
 * Unique inserts against every schema kind: the lookup runs on each one's columns, types and
 * indexes (Elixir's nullable meta, Oban.py's smallints and missing GIN indexes).
 */
for (const kind of SCHEMA_KINDS) {
  const test = suite(`unique jobs on ${kind} schema`);
  const db = useSchema(test, kind);

  const job = (args: Record<string, unknown>, over: Partial<JobSpec> = {}) => prepareJob({ worker: "Unique.Worker", args, ...over });
  const insert = async (args: Record<string, unknown>, unique: UniqueOptions = {}, over: Partial<JobSpec> = {}) =>
    (await insertUnique(db.pool, db.prefix, [job(args, over)], normaliseUnique(unique)))[0];
  const rows = async () => (await db.pool.query(`SELECT id::text, state::text, args, meta FROM "${db.prefix}".oban_jobs ORDER BY id`)).rows;
  const sql = (text: string, params: unknown[] = []) => db.pool.query(text.replaceAll("{jobs}", `"${db.prefix}".oban_jobs`), params);

  test("a match within the period is returned with conflict = true and nothing is inserted", async () => {
    const first = await insert({ id: 1 }, {}, { meta: { source: "a" }, tags: ["x"] });
    assert.is(first.conflict, false);
    assert.is(first.job.state, "available");
    const second = await insert({ id: 1 }, {}, { meta: { source: "b" }, priority: 5 });
    assert.is(second.conflict, true);
    assert.is(second.job.id, first.job.id);
    assert.equal(second.job.meta, { source: "a" }, "the existing job is returned as stored");
    assert.equal(second.job.tags, ["x"]);
    assert.equal(second.job.errors, []);
    const stored = await rows();
    assert.is(stored.length, 1);
    // Pro's keys (COMPAT §9) are never written by the port
    assert.equal(stored[0].meta, { source: "a" });
  });

  test("different args, queue or worker are not matches by default; arg order does not matter", async () => {
    const first = await insert({ a: 1, b: { c: [1, 2] } });
    assert.is((await insert({ b: { c: [1, 2] }, a: 1 })).job.id, first.job.id, "jsonb-equal args match whatever their key order");
    assert.is((await insert({ a: 1, b: { c: [2, 1] } })).conflict, false);
    assert.is((await insert({ a: 1 })).conflict, false, "a subset of the args is not equal args");
    assert.is((await insert({ a: 1, b: { c: [1, 2] } }, {}, { queue: "other" })).conflict, false);
    assert.is((await insert({ a: 1, b: { c: [1, 2] } }, {}, { worker: "Other.Worker" })).conflict, false);
    assert.is((await rows()).length, 5);
  });

  test("after the period a new job is inserted; infinity never expires; timestamp picks the column", async () => {
    const first = await insert({ id: 1 });
    await sql(`UPDATE {jobs} SET inserted_at = inserted_at - interval '120 seconds'`);
    assert.is((await insert({ id: 1 }, { period: 300 })).job.id, first.job.id, "still inside a 300 s period");
    assert.is((await insert({ id: 1 }, { period: "infinity" })).conflict, true);
    const after = await insert({ id: 1 });
    assert.is(after.conflict, false, "120 s old is outside the default 60 s period");

    // A job scheduled an hour ahead but inserted long ago: recent by scheduled_at, old by inserted_at.
    await sql(`DELETE FROM {jobs}`);
    const later = await insert({ id: 2 }, {}, { scheduleIn: 3600 });
    assert.is(later.job.state, "scheduled");
    await sql(`UPDATE {jobs} SET inserted_at = inserted_at - interval '1 day'`);
    assert.is((await insert({ id: 2 }, { timestamp: "scheduled_at" })).job.id, later.job.id);
    assert.is((await insert({ id: 2 }, { timestamp: "inserted_at" })).conflict, false);
  });

  test("only rows in the unique states count: groups and lists", async () => {
    const existing = await insert({ id: 1 });
    const setState = (state: string) => sql(`UPDATE {jobs} SET state = $2::text::"${db.prefix}".oban_job_state WHERE id = $1`, [existing.job.id, state]);
    await setState("completed");
    assert.is((await insert({ id: 1 })).job.id, existing.job.id, "the default group, successful, includes completed");
    assert.is((await insert({ id: 1 }, { states: "all" })).conflict, true);
    const fresh = await insert({ id: 1 }, { states: "incomplete" });
    assert.is(fresh.conflict, false, "incomplete leaves completed out");
    await sql(`DELETE FROM {jobs} WHERE id = $1`, [fresh.job.id]);

    for (const [state, group, matches] of [
      ["discarded", "successful", false], ["cancelled", "successful", false], ["cancelled", "all", true],
      ["suspended", "incomplete", true], ["executing", "incomplete", true], ["retryable", "incomplete", true],
      ["available", "scheduled", false],
    ] as const) {
      await setState(state);
      const result = await insert({ id: 1 }, { states: group });
      assert.is(result.conflict, matches, `${state} in group ${group}`);
      if (!result.conflict) await sql(`DELETE FROM {jobs} WHERE id = $1`, [result.job.id]);
    }
    await setState("retryable");
    assert.is((await insert({ id: 1 }, { states: ["retryable"] })).conflict, true, "an explicit list");
    assert.is((await insert({ id: 1 }, { states: ["available", "scheduled"] })).conflict, false);
  });

  test("fields: compare only what is named; meta compares like args", async () => {
    await insert({ id: 1 }, {}, { queue: "a", meta: { tenant: 1 } });
    assert.is((await insert({ id: 2 }, { fields: ["worker"] }, { queue: "b" })).conflict, true, "one job per worker");
    assert.is((await insert({ id: 2 }, { fields: ["worker", "queue"] }, { queue: "b" })).conflict, false);
    assert.is((await insert({ id: 1 }, { fields: ["args"] }, { worker: "Another.Worker" })).conflict, true, "args alone, any worker");
    assert.is((await insert({ id: 9 }, { fields: ["meta"] }, { meta: { tenant: 1 } })).conflict, true);
    assert.is((await insert({ id: 9 }, { fields: ["meta", "worker"] }, { meta: { tenant: 2 } })).conflict, false);
  });

  test("keys: only those keys of args/meta are compared, and a key absent here must be absent there", async () => {
    const first = await insert({ id: 1, at: "09:00" });
    assert.is((await insert({ id: 1, at: "10:00" }, { keys: ["id"] })).job.id, first.job.id);
    assert.is((await insert({ id: 2, at: "09:00" }, { keys: ["id"] })).conflict, false);
    assert.is((await insert({ at: "09:00" }, { keys: ["id", "at"] })).conflict, false, "the new job has no id: the stored one does");
    assert.is((await insert({ id: 1, at: "09:00", extra: true }, { keys: ["id", "at"] })).conflict, true);
    await insert({ list: [1, 2, 3], n: 1 });
    assert.is((await insert({ list: [1, 2], n: 2 }, { keys: ["list"] })).conflict, false, "a contained array is not an equal one");
    assert.is((await insert({ list: [1, 2, 3], n: 3 }, { keys: ["list"] })).conflict, true);
    await insert({ id: 5 }, {}, { meta: { region: "eu", trace: "x" } });
    assert.is((await insert({ id: 6 }, { fields: ["meta"], keys: ["region"] }, { meta: { region: "eu", trace: "y" } })).conflict, true);
    assert.is((await insert({ id: 6 }, { fields: ["meta"], keys: ["region"] }, { meta: { region: "us" } })).conflict, false);
  });

  if (kind === "elixir" || kind === "obanpy_on_elixir") {
    test("an Elixir row with NULL meta matches empty meta", async () => {
      const first = await insert({ id: 1 });
      await sql(`UPDATE {jobs} SET meta = NULL WHERE id = $1`, [first.job.id]);
      const again = await insert({ id: 1 }, { fields: ["args", "meta"] });
      assert.is(again.job.id, first.job.id);
      assert.equal(again.job.meta, {});
    });
  }

  test("bulk: each job is checked in input order, a later duplicate conflicts with an earlier one", async () => {
    const [existing] = await insertJobs(db.pool, db.prefix, [job({ id: 0 })]);
    const spec = normaliseUnique({});
    const results = await insertUnique(db.pool, db.prefix, [job({ id: 1 }), job({ id: 0 }), job({ id: 2 }), job({ id: 1 })], spec);
    assert.equal(results.map((r) => r.conflict), [false, true, false, true]);
    assert.is(results[1].job.id, existing.id);
    assert.is(results[3].job.id, results[0].job.id);
    assert.equal((await rows()).map((r) => r.args.id), [0, 1, 2]);
  });

  test.run();
}

const test = suite("unique lock keys");

test("equal matches share a lock key; any compared difference changes it", () => {
  const spec = normaliseUnique({});
  const key = (args: Record<string, unknown>, over: Partial<JobSpec> = {}, s = spec, prefix = "public") =>
    uniqueLockKey(prefix, s, uniqueMatch(prepareJob({ worker: "W", args, ...over }), s));
  assert.is(key({ a: 1, b: [1, { y: 2, x: 1 }] }), key({ b: [1, { x: 1, y: 2 }], a: 1 }));
  assert.is.not(key({ a: 1 }), key({ a: 2 }));
  assert.is.not(key({ a: 1 }), key({ a: 1 }, { queue: "other" }));
  assert.is.not(key({ a: 1 }), key({ a: 1 }, {}, spec, "other_prefix"));
  const byId = normaliseUnique({ keys: ["id"] });
  assert.is(key({ id: 1, t: 1 }, {}, byId), key({ id: 1, t: 2 }, {}, byId));
  assert.is(key({ id: 1 }, { queue: "x" }, normaliseUnique({ fields: ["args"] })), key({ id: 1 }, { queue: "y" }, normaliseUnique({ fields: ["args"] })));
});

test("bad options are refused with a message naming the option", () => {
  const cases: [unknown, RegExp][] = [
    [{ fields: ["args", "priority"] }, /unique\.fields: unknown field "priority"/],
    [{ fields: [] }, /unique\.fields: must be a non-empty list/],
    [{ states: ["available", "running"] }, /unique\.states: unknown state "running"/],
    [{ states: "finished" }, /unique\.states: unknown state group "finished"/],
    [{ period: -1 }, /unique\.period: must be a positive number of seconds or "infinity" \(got -1\)/],
    [{ period: 0 }, /unique\.period: must be a positive number/],
    [{ period: "forever" }, /unique\.period: .*got "forever"/],
    [{ timestamp: "updated_at" }, /unique\.timestamp: must be "inserted_at" or "scheduled_at"/],
    [{ keys: "id" }, /unique\.keys: must be a list/],
    [{ peroid: 60 }, /unique\.peroid: unknown option/],
    [60, /unique: must be an object/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => normaliseUnique(options), (error: Error & { code?: string }) => error.code === "invalid_input" && message.test(error.message), JSON.stringify(options));
  }
  assert.equal(normaliseUnique({}), {
    period: 60, fields: ["args", "queue", "worker"], keys: [], timestamp: "inserted_at",
    states: ["available", "suspended", "scheduled", "executing", "retryable", "completed"],
  });
  assert.is(normaliseUnique({ period: "infinity" }).period, null);
});

test.run();
