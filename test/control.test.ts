import { suite } from "uvu";
import * as assert from "uvu/assert";
import type pg from "pg";
import { insertJobs, prepareJob } from "../src/engine/insert.js";
import { fetchJobs } from "../src/engine/fetch.js";
import { ackJobs } from "../src/engine/ack.js";
import { JOB_STATES, type JobState } from "../src/engine/job.js";
import { cancelJobs, deleteJobs, previewJobs, queueSignal, retryJobs, sendSignal, type JobFilter } from "../src/engine/control.js";
import { inspectJob, leaderInfo, listJobs, listProducers, queueCounts } from "../src/engine/inspect.js";
import { decodePayload } from "../src/codec/notification.js";
import { ObanError } from "../src/errors.js";
import { useSchema, testDatabaseUrl, SCHEMA_KINDS } from "./support/schemas.js";
import { listen } from "./support/listen.js";

const PRODUCER = "00000000-0000-4000-8000-0000000000aa";

async function rejects(what: Promise<unknown>, code: string, message?: RegExp): Promise<ObanError> {
  try {
    await what;
  } catch (error) {
    assert.instance(error, ObanError);
    assert.is((error as ObanError).code, code, (error as Error).message);
    if (message) assert.match((error as Error).message, message);
    return error as ObanError;
  }
  throw new assert.Assertion({ message: `expected an ObanError ${code}`, operator: "rejects" } as never);
}

for (const kind of SCHEMA_KINDS) {
  const test = suite(`control and inspect on ${kind} schema`);

  const schema = useSchema(test, kind, 4, ["oban_jobs", "oban_producers", "oban_peers"]);

  const jobs = () => `"${schema.prefix}".oban_jobs`;
  const spec = (over: Record<string, unknown> = {}) => prepareJob({ worker: "Test.Worker", args: { n: 1 }, queue: "q", ...over } as any);

  /** Inserts one job and puts it in `state` the way the system would have (timestamps, attempt). */
  async function put(state: JobState, over: Record<string, unknown> = {}): Promise<string> {
    const [job] = await insertJobs(schema.pool, schema.prefix, [spec(over)]);
    if (state === "executing") {
      await schema.pool.query(
        `UPDATE ${jobs()} SET state = 'executing', attempt = 1, attempted_at = timezone('UTC', now()),
           attempted_by = ARRAY['node-a', $2::text] WHERE id = $1`,
        [job.id, PRODUCER],
      );
    } else if (state !== "available") {
      await schema.pool.query(
        `UPDATE ${jobs()} SET state = $2::text::"${schema.prefix}".oban_job_state,
           attempt = CASE WHEN $2 IN ('retryable', 'completed', 'discarded', 'cancelled') THEN 1 ELSE attempt END,
           completed_at = CASE WHEN $2 = 'completed' THEN timezone('UTC', now()) END,
           discarded_at = CASE WHEN $2 = 'discarded' THEN timezone('UTC', now()) END,
           cancelled_at = CASE WHEN $2 = 'cancelled' THEN timezone('UTC', now()) - interval '1 hour' END,
           scheduled_at = CASE WHEN $2 IN ('scheduled', 'retryable') THEN timezone('UTC', now()) + interval '1 hour' ELSE scheduled_at END
         WHERE id = $1`,
        [job.id, state],
      );
    }
    return job.id;
  }

  /** One job per state label, in queue q; returns state → id. */
  async function oneOfEach(): Promise<Record<JobState, string>> {
    const ids = {} as Record<JobState, string>;
    for (const state of JOB_STATES) ids[state] = await put(state);
    return ids;
  }

  const states = async () =>
    Object.fromEntries((await schema.pool.query(`SELECT id, state::text AS state FROM ${jobs()} ORDER BY id`)).rows.map((r) => [r.id, r.state]));
  const row = async (id: string) => (await schema.pool.query(`SELECT *, state::text AS state FROM ${jobs()} WHERE id = $1`, [id])).rows[0];
  const sorted = (list: string[]) => [...list].sort((a, b) => Number(a) - Number(b));

  test("cancel: every unfinished state, executing included, becomes cancelled; one pkill per executing row", async () => {
    const ids = await oneOfEach();
    const secondExecuting = await put("executing");
    const other = await put("available", { queue: "other" });
    const listener = await listen(testDatabaseUrl(), [`${schema.prefix}.oban_signal`]);
    try {
      const before = await row(ids.cancelled);
      const result = await cancelJobs(schema.pool, schema.prefix, { queue: "q" });
      const expected = ["available", "suspended", "scheduled", "executing", "retryable"] as const;
      assert.equal(sorted(result.map((r) => r.id)), sorted([...expected.map((s) => ids[s]), secondExecuting]));
      for (const r of result) assert.is(r.queue, "q");
      assert.is(result.find((r) => r.id === ids.executing)!.previousState, "executing");
      assert.is(result.find((r) => r.id === ids.suspended)!.previousState, "suspended");

      const after = await states();
      for (const s of expected) assert.is(after[ids[s]], "cancelled", `${s} → cancelled`);
      assert.is(after[secondExecuting], "cancelled");
      for (const s of ["completed", "discarded"] as const) assert.is(after[ids[s]], s, `${s} untouched`);
      assert.is(after[other], "available", "another queue is untouched");
      assert.ok((await row(ids.executing)).cancelled_at instanceof Date, "cancelled_at is set");
      assert.equal((await row(ids.cancelled)).cancelled_at, before.cancelled_at, "an already cancelled row keeps its time");

      await listener.settle(schema.pool);
      const signals = listener.json(`${schema.prefix}.oban_signal`);
      assert.equal(
        signals.sort((a, b) => Number(a.job_id) - Number(b.job_id)),
        sorted([ids.executing, secondExecuting]).map((id) => ({ action: "pkill", job_id: Number(id) })),
      );
      for (const h of listener.heard) {
        assert.match(h.payload, /"job_id" ?: ?\d+\s*}$/, "job_id is a JSON integer");
        assert.equal(decodePayload(h.payload).action, "pkill", "our own codec reads it");
      }
    } finally {
      await listener.close();
    }
  });

  test("cancel wins over the running attempt's late ack", async () => {
    const id = await put("executing");
    await cancelJobs(schema.pool, schema.prefix, { ids: [id] });
    const acked = await ackJobs(schema.pool, schema.prefix, [{ id, attempt: 1, state: "completed" }]);
    assert.is(acked.size, 0, "the guarded ack matched no row");
    assert.is((await row(id)).state, "cancelled");
  });

  test("cancel with nothing executing sends no signal", async () => {
    await put("available");
    await put("scheduled");
    const listener = await listen(testDatabaseUrl(), [`${schema.prefix}.oban_signal`]);
    try {
      assert.is((await cancelJobs(schema.pool, schema.prefix, { queue: "q" })).length, 2);
      await listener.settle(schema.pool);
      assert.equal(listener.heard, []);
    } finally {
      await listener.close();
    }
  });

  test("retry: every state but available and executing becomes available now; finish times cleared", async () => {
    const ids = await oneOfEach();
    const result = await retryJobs(schema.pool, schema.prefix, { queue: "q" });
    const expected = ["suspended", "scheduled", "retryable", "completed", "discarded", "cancelled"] as const;
    assert.equal(sorted(result.map((r) => r.id)), sorted(expected.map((s) => ids[s])));
    assert.is(result.find((r) => r.id === ids.discarded)!.previousState, "discarded");
    const now = (await schema.pool.query(`SELECT timezone('UTC', now()) AS now`)).rows[0].now as Date;
    for (const s of expected) {
      const r = await row(ids[s]);
      assert.is(r.state, "available", `${s} → available`);
      assert.ok(r.scheduled_at.getTime() <= now.getTime(), `${s}: scheduled_at is not in the future`);
      assert.is(r.completed_at, null);
      assert.is(r.cancelled_at, null);
      assert.is(r.discarded_at, null);
      assert.equal(r.meta, {}, "meta untouched: no uniq_bmp");
    }
    const after = await states();
    assert.is(after[ids.executing], "executing");
    assert.is(after[ids.available], "available");
  });

  test("retry raises max_attempts only when exhausted, notifies insert once per queue, and the job is fetchable", async () => {
    const exhausted = await put("discarded", { maxAttempts: 1 });
    const spare = await put("discarded", { maxAttempts: 5 });
    const elsewhere1 = await put("cancelled", { queue: "mail" });
    const elsewhere2 = await put("completed", { queue: "mail" });
    await schema.pool.query(`UPDATE ${jobs()} SET attempt = 1 WHERE id = ANY($1::bigint[])`, [[exhausted, spare]]);
    const listener = await listen(testDatabaseUrl(), [`${schema.prefix}.oban_insert`]);
    try {
      const result = await retryJobs(schema.pool, schema.prefix, { ids: [exhausted, spare, elsewhere1, elsewhere2] });
      assert.is(result.length, 4);
      assert.is((await row(exhausted)).max_attempts, 2);
      assert.is((await row(spare)).max_attempts, 5);
      await listener.settle(schema.pool);
      assert.equal(listener.json(`${schema.prefix}.oban_insert`).map((m) => m.queue).sort(), ["mail", "q"]);
    } finally {
      await listener.close();
    }
    const fetched = await fetchJobs(schema.pool, schema.prefix, { queue: "q", demand: 10, node: "n", producer: PRODUCER });
    assert.equal(sorted(fetched.map((j) => j.id)), sorted([exhausted, spare]));
    assert.is(fetched.find((j) => j.id === exhausted)!.attempt, 2);
  });

  test("delete: never an executing row", async () => {
    const ids = await oneOfEach();
    const result = await deleteJobs(schema.pool, schema.prefix, { queue: "q" });
    assert.equal(sorted(result.map((r) => r.id)), sorted(JOB_STATES.filter((s) => s !== "executing").map((s) => ids[s])));
    assert.equal(Object.keys(await states()), [ids.executing]);
    assert.equal(await deleteJobs(schema.pool, schema.prefix, { ids: [ids.executing] }), []);
    assert.equal(await deleteJobs(schema.pool, schema.prefix, { state: "executing" }), []);
    assert.is((await row(ids.executing)).state, "executing");
  });

  test("a filter is required; bad ids, states and limits are refused before anything changes", async () => {
    await oneOfEach();
    const before = await states();
    for (const action of [cancelJobs, retryJobs, deleteJobs, (db: pg.Pool, p: string, f: JobFilter) => previewJobs(db, p, "cancel", f)]) {
      await rejects(action(schema.pool, schema.prefix, {}), "invalid_input", /refusing to act on every job/);
      await rejects(action(schema.pool, schema.prefix, { limit: 5 }), "invalid_input", /refusing/);
      await rejects(action(schema.pool, schema.prefix, undefined as unknown as JobFilter), "invalid_input");
      await rejects(action(schema.pool, schema.prefix, { ids: [] }), "invalid_input", /ids: must be a non-empty list/);
      for (const bad of ["0", "-1", "abc", "1.5", "", "99999999999999999999"]) {
        await rejects(action(schema.pool, schema.prefix, { ids: [bad] }), "invalid_input", /positive integers/);
      }
      await rejects(action(schema.pool, schema.prefix, { state: "done" as JobState }), "invalid_input", /valid states: available, suspended, scheduled/);
      await rejects(action(schema.pool, schema.prefix, { queue: "q", limit: 0 }), "invalid_input", /limit/);
    }
    assert.equal(await states(), before);
  });

  test("filters combine: ids, state, worker, limit (lowest ids first)", async () => {
    const a = await put("available", { worker: "W.A" });
    const b = await put("available", { worker: "W.B" });
    const c = await put("scheduled", { worker: "W.A" });
    const d = await put("available", { worker: "W.A", queue: "other" });
    assert.equal((await cancelJobs(schema.pool, schema.prefix, { worker: "W.A", state: "available", queue: "q" })).map((r) => r.id), [a]);
    assert.equal((await cancelJobs(schema.pool, schema.prefix, { ids: [b, c], state: "scheduled" })).map((r) => r.id), [c]);
    assert.equal((await cancelJobs(schema.pool, schema.prefix, { worker: "W.A", limit: 1 })).map((r) => r.id), [d]);
    assert.is((await row(b)).state, "available");
  });

  test("a preview lists exactly what the action then changes, and changes nothing", async () => {
    const ids = await oneOfEach();
    for (const action of ["cancel", "retry", "delete"] as const) {
      const before = await states();
      const preview = await previewJobs(schema.pool, schema.prefix, action, { queue: "q" });
      assert.equal(await states(), before, `${action} preview changed nothing`);
      const done = await { cancel: cancelJobs, retry: retryJobs, delete: deleteJobs }[action](schema.pool, schema.prefix, { queue: "q" });
      assert.equal(preview, done, `${action}: preview = result`);
      if (action === "retry") await schema.pool.query(`UPDATE ${jobs()} SET state = 'completed', completed_at = timezone('UTC', now()) WHERE id <> $1`, [ids.executing]);
    }
  });

  test("queue counts by state label, lag of the oldest fetchable available job, stuck rows", async () => {
    await oneOfEach();
    await put("available");
    const old = await put("available", { queue: "b" });
    const stuck = await put("available", { queue: "b", maxAttempts: 1 });
    await put("completed", { queue: "b" });
    await schema.pool.query(`UPDATE ${jobs()} SET scheduled_at = timezone('UTC', now()) - interval '120 seconds' WHERE id = $1`, [old]);
    await schema.pool.query(`UPDATE ${jobs()} SET attempt = 1, scheduled_at = timezone('UTC', now()) - interval '2 days' WHERE id = $1`, [stuck]);
    await put("completed", { queue: "c" });
    const counts = await queueCounts(schema.pool, schema.prefix);
    assert.equal(counts.map((c) => c.queue), ["b", "c", "q"]);
    const [b, c, q] = counts;
    assert.equal(b.counts, { available: 2, completed: 1 });
    assert.is(b.total, 3);
    assert.is(b.stuckAttempts, 1);
    assert.ok(b.lag !== null && b.lag >= 120 && b.lag < 86_400, `lag counts the oldest fetchable job only (${b.lag})`);
    assert.equal(c.counts, { completed: 1 }, "only states present");
    assert.is(c.lag, null);
    assert.is(c.stuckAttempts, 0);
    assert.equal(q.counts, Object.fromEntries(JOB_STATES.map((s) => [s, s === "available" ? 2 : 1])));
    assert.is(q.total, 9);
    assert.ok(q.lag !== null && q.lag >= 0);
  });

  test("listJobs: newest first by default, filters, limit default 50 and at most 1000", async () => {
    const inserted = await insertJobs(schema.pool, schema.prefix, Array.from({ length: 60 }, (_, i) => spec({ args: { i }, worker: i % 2 ? "W.Odd" : "W.Even" })));
    const ids = inserted.map((j) => j.id);
    const page = await listJobs(schema.pool, schema.prefix);
    assert.is(page.length, 50);
    assert.equal(page.map((j) => j.id), sorted(ids).reverse().slice(0, 50));
    const oldest = await listJobs(schema.pool, schema.prefix, { order: "oldest", limit: 3, worker: "W.Odd" });
    assert.equal(oldest.map((j) => j.args.i), [1, 3, 5]);
    assert.is((await listJobs(schema.pool, schema.prefix, { state: "completed" })).length, 0);
    assert.is((await listJobs(schema.pool, schema.prefix, { queue: "q", limit: 1000 })).length, 60);
    await rejects(listJobs(schema.pool, schema.prefix, { limit: 1001 }), "invalid_input", /1 to 1000/);
    await rejects(listJobs(schema.pool, schema.prefix, { state: "nope" as JobState }), "invalid_input", /valid states/);
  });

  test("inspectJob returns the job with its errors; an unknown id is not_found", async () => {
    const id = await put("executing");
    await ackJobs(schema.pool, schema.prefix, [{ id, attempt: 1, state: "retryable", delay: 60, error: "Error: boom" }]);
    const job = await inspectJob(schema.pool, schema.prefix, id);
    assert.is(job.state, "retryable");
    assert.is(job.errors.length, 1);
    assert.is(job.errors[0].error, "Error: boom");
    assert.is(job.errors[0].attempt, 1);
    await rejects(inspectJob(schema.pool, schema.prefix, "999999999"), "not_found", /no job with id 999999999/);
    await rejects(inspectJob(schema.pool, schema.prefix, "x"), "invalid_input");
  });

  test("producers and leases are read as written by their services", async () => {
    await schema.pool.query(
      `INSERT INTO "${schema.prefix}".oban_producers (uuid, name, node, queue, meta, started_at, updated_at)
       VALUES ($1, 'Oban', 'web-1', 'mail', '{"local_limit": 5, "paused": false}', timezone('UTC', now()) - interval '1 hour', timezone('UTC', now()) - interval '30 seconds')`,
      [PRODUCER],
    );
    const [producer] = await listProducers(schema.pool, schema.prefix);
    assert.is(producer.uuid, PRODUCER);
    assert.is(producer.node, "web-1");
    assert.is(producer.queue, "mail");
    assert.equal(producer.meta, { local_limit: 5, paused: false });
    assert.ok(producer.heartbeatAge >= 30 && producer.heartbeatAge < 3600, String(producer.heartbeatAge));
    assert.ok(producer.startedAt < producer.updatedAt);

    await schema.pool.query(
      `INSERT INTO "${schema.prefix}".oban_peers (name, node, started_at, expires_at) VALUES
         ('Oban', 'elixir-1', timezone('UTC', now()), timezone('UTC', now()) + interval '30 seconds'),
         ('Oban.ts', 'ts-1', timezone('UTC', now()), timezone('UTC', now()) + interval '30 seconds'),
         ('Custom', 'ts-2', timezone('UTC', now()) - interval '2 minutes', timezone('UTC', now()) - interval '1 minute')`,
    );
    const info = await leaderInfo(schema.pool, schema.prefix);
    assert.is(info.name, "Oban.ts");
    assert.is(info.leader, "ts-1");
    assert.equal(info.peers.map((p) => [p.name, p.node, p.expired, p.ours]), [
      ["Custom", "ts-2", true, false],
      ["Oban", "elixir-1", false, false],
      ["Oban.ts", "ts-1", false, true],
    ]);
    const custom = await leaderInfo(schema.pool, schema.prefix, "Custom");
    assert.is(custom.leader, null, "an expired lease has no leader");
    assert.ok(custom.peers.find((p) => p.ours)!.expiresIn < 0);
  });

  test("queue signals carry exactly the COMPAT §13 keys and are published on oban_signal", async () => {
    const listener = await listen(testDatabaseUrl(), [`${schema.prefix}.oban_signal`]);
    try {
      const sent = [
        queueSignal("pause", "mail"),
        queueSignal("resume", "*", { node: "web-1" }),
        queueSignal("scale", "mail", { limit: 7, node: "web-1", name: "MyOban" }),
      ];
      assert.equal(sent, [
        { action: "pause", queue: "mail", ident: "any" },
        { action: "resume", queue: "*", ident: "Oban.web-1" },
        { action: "scale", queue: "mail", limit: 7, ident: "MyOban.web-1" },
      ]);
      for (const payload of sent) await sendSignal(schema.pool, schema.prefix, payload);
      const big = { action: "pause", queue: "x".repeat(100), ident: "any", note: "y".repeat(600) };
      const result = await sendSignal(schema.pool, schema.prefix, big);
      assert.ok(result.encoded.startsWith("H4sI"), "above 512 bytes: base64 gzip");
      await listener.settle(schema.pool);
      assert.equal(listener.heard.map((h) => decodePayload(h.payload)), [...sent, big]);
      assert.equal(JSON.parse(listener.heard[2].payload), sent[2], "small payloads are plain JSON");
    } finally {
      await listener.close();
    }
    assert.throws(() => queueSignal("scale", "*", { limit: 2 }), /scale needs one queue/);
    assert.throws(() => queueSignal("scale", "mail", { limit: 0 }), /limit: must be a positive integer/);
    assert.throws(() => queueSignal("pause", 'a"b'), /must not contain quotes/);
  });

  test.run();
}
