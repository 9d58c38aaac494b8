import { suite } from "uvu";
import * as assert from "uvu/assert";
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { createPool } from "../src/db/pool.js";
import { insertJobs, prepareJob } from "../src/engine/insert.js";
import { fetchJobs } from "../src/engine/fetch.js";
import { getJob } from "../src/engine/jobs.js";
import { rescueJobs, pruneJobs } from "../src/engine/maintenance.js";
import { beatProducers, deleteProducers } from "../src/engine/producers.js";
import { elect, resign } from "../src/engine/leader.js";
import { createSchema, testDatabaseUrl, type SchemaKind } from "./support/schemas.js";

const KINDS: SchemaKind[] = ["ours", "elixir", "obanpy", "obanpy_on_elixir"];

for (const kind of KINDS) {
  const test = suite(`lifeline, pruner, leader on ${kind} schema`);
  let pool: pg.Pool;
  let prefix: string;
  let drop: () => Promise<void>;
  const t = () => `"${prefix}"`;

  test.before(async () => {
    pool = createPool(testDatabaseUrl(), { max: 4 });
    ({ prefix, drop } = await createSchema(pool, kind));
  });
  test.after(async () => {
    await drop();
    await pool.end();
  });
  test.before.each(async () => {
    await pool.query(`DELETE FROM ${t()}.oban_jobs`);
    await pool.query(`DELETE FROM ${t()}.oban_producers`);
    await pool.query(`DELETE FROM ${t()}.oban_peers`);
  });

  /** A running job claimed by `producer`, started `ageSeconds` ago. */
  async function executingJob(producer: string, ageSeconds: number, maxAttempts = 20) {
    const [job] = await insertJobs(pool, prefix, [prepareJob({ worker: "W", args: {}, maxAttempts, queue: `q_${producer.slice(0, 4)}` })]);
    await fetchJobs(pool, prefix, { queue: job.queue, demand: 1, node: "n", producer });
    await pool.query(`UPDATE ${t()}.oban_jobs SET attempted_at = attempted_at - make_interval(secs => $2) WHERE id = $1`, [job.id, ageSeconds]);
    return job.id;
  }
  const beat = (uuid: string, queue = "q") => beatProducers(pool, prefix, "Oban", "node-x", [{ uuid, queue, startedAt: new Date(), meta: { local_limit: 5, paused: false } }]);
  const age = (uuid: string, seconds: number) => pool.query(`UPDATE ${t()}.oban_producers SET updated_at = updated_at - make_interval(secs => $2) WHERE uuid = $1`, [uuid, seconds]);

  test("jobs of a dead producer are rescued at once, in the statement that removes its row", async () => {
    const dead = randomUUID();
    await beat(dead);
    await age(dead, 120);
    const young = await executingJob(dead, 1);
    const lastAttempt = await executingJob(dead, 1, 1);
    const result = await rescueJobs(pool, prefix, { producerMaxAge: 60, rescueAfter: 3600 });
    assert.is(result.deadProducers, 1);
    assert.is(result.rescued.reduce((s, r) => s + r.count, 0), 2);
    const rescued = (await getJob(pool, prefix, young))!;
    assert.is(rescued.state, "available");
    assert.is(rescued.meta.rescued, 1);
    assert.match(rescued.errors[0].error, /its producer on node node-x stopped heartbeating/);
    const discarded = (await getJob(pool, prefix, lastAttempt))!;
    assert.is(discarded.state, "discarded");
    assert.ok(discarded.discardedAt);
    assert.is((await pool.query(`SELECT count(*)::int AS n FROM ${t()}.oban_producers`)).rows[0].n, 0);
  });

  test("a job whose producer is alive is never rescued, however long it runs", async () => {
    const alive = randomUUID();
    await beat(alive);
    const old = await executingJob(alive, 10 * 24 * 3600);
    const result = await rescueJobs(pool, prefix, { producerMaxAge: 60, rescueAfter: 60 });
    assert.equal(result.rescued, []);
    assert.is((await getJob(pool, prefix, old))!.state, "executing");
  });

  test("jobs of a producer with no row fall back to rescue_after", async () => {
    const unknown = randomUUID();
    const old = await executingJob(unknown, 7200);
    const recent = await executingJob(unknown, 60);
    const dry = await rescueJobs(pool, prefix, { producerMaxAge: 60, rescueAfter: 3600, dryRun: true });
    assert.is(dry.rescued[0].count, 1);
    assert.is((await getJob(pool, prefix, old))!.state, "executing", "dry run changes nothing");
    await rescueJobs(pool, prefix, { producerMaxAge: 60, rescueAfter: 3600 });
    assert.is((await getJob(pool, prefix, old))!.state, "available");
    assert.match((await getJob(pool, prefix, old))!.errors[0].error, /no known producer/);
    assert.is((await getJob(pool, prefix, recent))!.state, "executing");
  });

  test("the pruner deletes finished jobs by their own timestamps, and dry-run deletes nothing", async () => {
    const jobs = await insertJobs(pool, prefix, Array.from({ length: 6 }, () => prepareJob({ worker: "W", args: {} })));
    const [oldDone, newDone, oldCancelled, oldDiscarded, oldScheduledNewDone, available] = jobs.map((j) => j.id);
    const set = (id: string, sql: string) => pool.query(`UPDATE ${t()}.oban_jobs SET ${sql} WHERE id = $1`, [id]);
    await set(oldDone, "state = 'completed', completed_at = timezone('UTC', now()) - interval '2 days'");
    await set(newDone, "state = 'completed', completed_at = timezone('UTC', now()) - interval '1 hour'");
    await set(oldCancelled, "state = 'cancelled', cancelled_at = timezone('UTC', now()) - interval '2 days'");
    await set(oldDiscarded, "state = 'discarded', discarded_at = timezone('UTC', now()) - interval '2 days'");
    // scheduled long ago but completed recently: kept (Elixir prunes by scheduled_at; we do not)
    await set(oldScheduledNewDone, "state = 'completed', scheduled_at = timezone('UTC', now()) - interval '9 days', completed_at = timezone('UTC', now())");
    const preview = await pruneJobs(pool, prefix, { maxAge: 86_400, dryRun: true });
    assert.is(preview.total, 3);
    assert.is((await pool.query(`SELECT count(*)::int AS n FROM ${t()}.oban_jobs`)).rows[0].n, 6);
    const result = await pruneJobs(pool, prefix, { maxAge: 86_400 });
    assert.equal(result.pruned.map((r) => `${r.state}:${r.count}`).sort(), ["cancelled:1", "completed:1", "discarded:1"]);
    const left = (await pool.query(`SELECT id FROM ${t()}.oban_jobs ORDER BY id`)).rows.map((r) => r.id);
    assert.equal(left, [newDone, oldScheduledNewDone, available]);
  });

  test("the pruner works in bounded batches", async () => {
    await insertJobs(pool, prefix, Array.from({ length: 5 }, () => prepareJob({ worker: "W", args: {} })));
    await pool.query(`UPDATE ${t()}.oban_jobs SET state = 'completed', completed_at = timezone('UTC', now()) - interval '2 days'`);
    assert.is((await pruneJobs(pool, prefix, { maxAge: 60, limit: 2 })).total, 2);
    assert.is((await pruneJobs(pool, prefix, { maxAge: 60, limit: 2 })).total, 2);
    assert.is((await pruneJobs(pool, prefix, { maxAge: 60, limit: 2 })).total, 1);
  });

  test("leader lease: one holder, renewals by the holder only, takeover after expiry, resign notifies", async () => {
    const a = await elect(pool, prefix, "Oban.ts", "a:1", 30);
    const b = await elect(pool, prefix, "Oban.ts", "b:1", 30);
    assert.is(a.leader, true);
    assert.is(b.leader, false);
    assert.is(b.holder, "a:1");
    assert.ok(b.expiresIn! > 25 && b.expiresIn! <= 30);
    assert.is((await elect(pool, prefix, "Oban.ts", "a:1", 30)).leader, true, "the holder renews");
    // Elixir's and Oban.py's keys are left alone
    await pool.query(`INSERT INTO ${t()}.oban_peers (name, node, started_at, expires_at) VALUES ('Oban', 'elixir@host', now(), now() + interval '30 seconds')`);
    await pool.query(`UPDATE ${t()}.oban_peers SET expires_at = timezone('UTC', now()) - interval '1 second' WHERE name = 'Oban.ts'`);
    assert.is((await elect(pool, prefix, "Oban.ts", "b:1", 30)).leader, true, "an expired lease is taken over");
    assert.is((await elect(pool, prefix, "Oban.ts", "a:1", 30)).leader, false);
    assert.is(await resign(pool, prefix, "Oban.ts", "a:1"), false, "a non-holder cannot resign");
    assert.is(await resign(pool, prefix, "Oban.ts", "b:1"), true);
    const peers = await pool.query(`SELECT name, node FROM ${t()}.oban_peers ORDER BY name`);
    assert.equal(peers.rows, [{ name: "Oban", node: "elixir@host" }]);
  });

  test("producer heartbeats upsert, merge meta and delete", async () => {
    const uuid = randomUUID();
    await beat(uuid, "mail");
    await pool.query(`UPDATE ${t()}.oban_producers SET meta = meta || '{"foreign": 1}'`);
    await beatProducers(pool, prefix, "Oban", "node-x", [{ uuid, queue: "mail", startedAt: new Date(), meta: { local_limit: 9, paused: true } }]);
    const row = (await pool.query(`SELECT name, node, queue, meta FROM ${t()}.oban_producers`)).rows[0];
    assert.equal(row, { name: "Oban", node: "node-x", queue: "mail", meta: { local_limit: 9, paused: true, foreign: 1 } });
    await deleteProducers(pool, prefix, [uuid]);
    assert.is((await pool.query(`SELECT count(*)::int AS n FROM ${t()}.oban_producers`)).rows[0].n, 0);
  });

  test.run();
}
