import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Oban, defineWorker, job, ObanError } from "../src/index.js";
import { testDatabaseUrl, useSchema } from "./support/schemas.js";

/** The library surface: worker defaults, per-enqueue options, the caller's transaction. */
const test = suite("unique jobs through enqueue");
const db = useSchema(test, "ours");
let oban: Oban;

test.before(async () => {
  oban = await Oban.start({ databaseUrl: testDatabaseUrl(), prefix: db.prefix, queues: {}, leader: false, notifier: false });
});
test.after(async () => {
  await oban.stop({ grace: 0 });
});

const count = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM "${db.prefix}".oban_jobs`)).rows[0].n as number;

const Sync = defineWorker<{ account: number; at?: string }>({
  name: "Unique.Sync",
  unique: { period: 600, keys: ["account"], states: "incomplete" },
  async perform() {},
});
const Plain = defineWorker<{ n: number }>({ name: "Unique.Plain", async perform() {} });
const notify = job({ name: "Unique.Notify", unique: { fields: ["worker", "args"] } }, async (_args: { user: number }) => {});

test("a worker's unique default: the second enqueue returns the first job with conflict = true", async () => {
  const first = await Sync.enqueue({ account: 7, at: "09:00" });
  assert.is(first.conflict, false);
  const second = await Sync.enqueue({ account: 7, at: "09:05" });
  assert.is(second.conflict, true);
  assert.is(second.id, first.id);
  assert.equal(second.args, { account: 7, at: "09:00" }, "the existing job, as stored");
  assert.is((await Sync.enqueue({ account: 8 })).conflict, false);
  assert.is(await count(), 2);
});

test("per-enqueue options replace the worker's; unique: false turns them off; plain enqueues carry no flag", async () => {
  await Sync.enqueue({ account: 1, at: "a" });
  assert.is((await Sync.enqueue({ account: 1, at: "b" }, { unique: { period: 600 } })).conflict, false, "all args compared now");
  assert.is((await Sync.enqueue({ account: 1, at: "a" }, { unique: false })).conflict, undefined);
  assert.is(await count(), 3);
  const plain = await Plain.enqueue({ n: 1 });
  assert.ok(!("conflict" in plain), "the ordinary path is untouched");
  assert.is((await Plain.enqueue({ n: 1 }, { unique: {} })).conflict, true, "unique on a worker without a default");
  assert.is((await notify.enqueue({ user: 1 })).conflict, false);
  assert.is((await notify.enqueue({ user: 1 }, { queue: "elsewhere" })).conflict, true, "job() takes unique too; queue not compared");
});

test("enqueueMany applies the rule per job, in order", async () => {
  const jobs = await Sync.enqueueMany([{ account: 1 }, { account: 2 }, { account: 1, at: "later" }]);
  assert.equal(jobs.map((j) => j.conflict), [false, false, true]);
  assert.is(jobs[2].id, jobs[0].id);
  assert.is(await count(), 2);
});

test("inside the caller's transaction: the job exists only if the caller commits", async () => {
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    const inside = await Sync.enqueue({ account: 5 }, { client });
    assert.is(inside.conflict, false);
    assert.is((await Sync.enqueue({ account: 5 }, { client })).id, inside.id, "the caller's own uncommitted job is a match for it");
    await client.query("ROLLBACK");
  } finally {
    client.release();
  }
  assert.is(await count(), 0);
  assert.is((await Sync.enqueue({ account: 5 })).conflict, false, "no false conflict after the rollback");
});

test("bad unique options are refused before anything is written", async () => {
  const refusals: [() => Promise<unknown>, RegExp][] = [
    [() => Plain.enqueue({ n: 1 }, { unique: { fields: ["args", "tags" as any] } }), /unique\.fields: unknown field "tags"/],
    [() => Plain.enqueue({ n: 1 }, { unique: { states: ["done" as any] } }), /unique\.states: unknown state "done"/],
    [() => Plain.enqueue({ n: 1 }, { unique: { period: -5 } }), /unique\.period: must be a positive number/],
  ];
  for (const [call, message] of refusals) {
    const error = await call().then(() => undefined, (e: unknown) => e);
    assert.instance(error, ObanError);
    assert.is((error as ObanError).code, "invalid_input");
    assert.match((error as Error).message, message);
  }
  assert.throws(() => defineWorker({ name: "Unique.Bad", unique: { states: "finished" as any }, async perform() {} }), /Unique\.Bad unique\.states: unknown state group "finished"/);
  assert.is(await count(), 0);
});

test.run();
