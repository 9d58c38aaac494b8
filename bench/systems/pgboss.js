// pg-boss (v10: the last major whose `engines` allow Node 20).
// Concurrency 10 = ten `work()` subscriptions (v10 has no per-worker concurrency option).
// default: batchSize 1, pollingIntervalSeconds 2 (its defaults);
// fast: batchSize 1000 and the minimum pollingIntervalSeconds 0.5 (batch fetch is its documented throughput knob).
import { createRequire } from "node:module";
import PgBoss from "pg-boss";
import { ident, measureLatency, now, range, recreateSchema, runInFlight, sleep, waitUntil, withClient } from "../lib.js";

export const name = "pg-boss";
export const description = "pg-boss (PostgreSQL)";

const SCHEMA = "bench_pgboss";
const S = ident(SCHEMA);
const QUEUE = "bench";

const DEFAULT = { label: "default (10 x work(), batchSize 1, poll 2 s)", work: {} };
const FAST = { label: "10 x work(), batchSize 1000, poll 0.5 s", work: { batchSize: 1000, pollingIntervalSeconds: 0.5 } };
export const variants = {
  enqueueOne: [{ label: "send(), 10 in flight" }],
  enqueueBulk: [{ label: "insert() (one call)" }],
  process: [DEFAULT, FAST],
  latency: [DEFAULT, FAST],
};

let ctx;
let boss;

const newBoss = () => {
  const b = new PgBoss({ connectionString: ctx.databaseUrl, schema: SCHEMA, application_name: "bench-pgboss" });
  b.on("error", (e) => ctx.log(`pg-boss error: ${e.message}`));
  return b;
};

export async function setup(c) {
  ctx = c;
  await recreateSchema(ctx.databaseUrl, SCHEMA, { create: false });
  boss = newBoss();
  await boss.start();
  await boss.createQueue(QUEUE);
  const require = createRequire(import.meta.url);
  return { version: require("pg-boss/package.json").version };
}

export async function reset() {
  await withClient(ctx.databaseUrl, async (c) => {
    await c.query(`DELETE FROM ${S}.job WHERE name = $1`, [QUEUE]);
    await c.query(`TRUNCATE ${S}.archive`);
    await c.query(`VACUUM ANALYZE ${S}.job`);
  });
}

export async function enqueueOne(count, inFlight) {
  return { ms: await runInFlight(count, inFlight, (i) => boss.send(QUEUE, { i })) };
}

export async function enqueueBulk(count) {
  const jobs = range(0, count).map((i) => ({ name: QUEUE, data: { i } }));
  const t0 = now();
  await boss.insert(jobs);
  return { ms: now() - t0 };
}

async function completedCount() {
  return withClient(ctx.databaseUrl, async (c) =>
    Number((await c.query(`SELECT count(*) FROM ${S}.job WHERE name = $1 AND state = 'completed'`, [QUEUE])).rows[0].count),
  );
}

async function startWorkers(variant, onJob) {
  const worker = newBoss();
  await worker.start();
  for (let k = 0; k < 10; k++) {
    await worker.work(QUEUE, { ...variant.work }, async (jobs) => {
      for (const job of jobs) onJob(job.data);
    });
  }
  return worker;
}

export async function process(count, variant, { timeoutMs }) {
  for (let k = 0; k < count; k += 20_000) {
    await boss.insert(range(k, Math.min(count, k + 20_000)).map((i) => ({ name: QUEUE, data: { i } })));
  }
  let handled = 0;
  const t0 = now();
  const deadline = t0 + timeoutMs;
  const worker = await startWorkers(variant, () => void handled++);
  try {
    await waitUntil(() => handled >= count, { deadline, everyMs: 5 });
    await waitUntil(async () => (await completedCount()) >= count, { deadline, everyMs: 10 });
    const ms = now() - t0;
    return { ms, completed: await completedCount() };
  } finally {
    await worker.stop({ graceful: false, wait: true, timeout: 1000 });
  }
}

export async function latency(count, intervalMs, variant, { timeoutMs }) {
  const started = new Map();
  const worker = await startWorkers(variant, (data) => void started.set(data.i, now()));
  try {
    await sleep(200);
    return await measureLatency({ count, intervalMs, started, timeoutMs, enqueue: (i) => boss.send(QUEUE, { i }) });
  } finally {
    await worker.stop({ graceful: false, wait: true, timeout: 1000 });
  }
}

export async function teardown() {
  await boss?.stop({ graceful: false, wait: true, timeout: 1000 });
  boss = undefined;
}
