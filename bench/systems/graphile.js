// graphile-worker: default configuration, and its documented batching settings
// (local queue + batched completion, from worker.graphile.org/docs/performance).
import { createRequire } from "node:module";
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import { ident, measureLatency, now, range, recreateSchema, runInFlight, sleep, waitUntil, withClient } from "../lib.js";

export const name = "graphile-worker";
export const description = "graphile-worker (PostgreSQL)";

const SCHEMA = "bench_graphile";
const S = ident(SCHEMA);
const TASK = "bench_noop";

const DEFAULT = { label: "default (concurrency 10)", preset: {} };
const FAST = {
  label: "localQueue 500 + batched completion",
  preset: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
};
export const variants = {
  enqueueOne: [{ label: "addJob, 10 in flight" }],
  enqueueBulk: [{ label: "addJobs (one call)" }],
  process: [DEFAULT, FAST],
  latency: [DEFAULT, FAST],
};

const quiet = new Logger(() => () => {});
let ctx;
let utils;

export async function setup(c) {
  ctx = c;
  await recreateSchema(ctx.databaseUrl, SCHEMA, { create: false });
  utils = await makeWorkerUtils({ connectionString: ctx.databaseUrl, schema: SCHEMA, logger: quiet });
  await utils.migrate();
  const require = createRequire(import.meta.url);
  return { version: require("graphile-worker/package.json").version };
}

export async function reset() {
  await withClient(ctx.databaseUrl, async (c) => {
    await c.query(`TRUNCATE ${S}._private_jobs, ${S}._private_job_queues CASCADE`);
    await c.query(`VACUUM ANALYZE ${S}._private_jobs`);
  });
}

export async function enqueueOne(count, inFlight) {
  return { ms: await runInFlight(count, inFlight, (i) => utils.addJob(TASK, { i })) };
}

export async function enqueueBulk(count) {
  const specs = range(0, count).map((i) => ({ identifier: TASK, payload: { i } }));
  const t0 = now();
  await utils.addJobs(specs);
  return { ms: now() - t0 };
}

async function remaining() {
  return withClient(ctx.databaseUrl, async (c) => Number((await c.query(`SELECT count(*) FROM ${S}._private_jobs`)).rows[0].count));
}

function startRunner(variant, onJob) {
  return run({
    connectionString: ctx.databaseUrl,
    schema: SCHEMA,
    concurrency: 10,
    noHandleSignals: true,
    logger: quiet,
    taskList: { [TASK]: async (payload) => onJob(payload) },
    preset: { worker: { ...variant.preset } },
  });
}

export async function process(count, variant, { timeoutMs }) {
  const specs = range(0, count).map((i) => ({ identifier: TASK, payload: { i } }));
  for (let k = 0; k < specs.length; k += 20_000) await utils.addJobs(specs.slice(k, k + 20_000));
  let handled = 0;
  const t0 = now();
  const deadline = t0 + timeoutMs;
  const runner = await startRunner(variant, () => void handled++);
  try {
    await waitUntil(() => handled >= count, { deadline, everyMs: 5 });
    // Completed jobs are deleted by graphile-worker: done when the table is empty.
    await waitUntil(async () => (await remaining()) === 0, { deadline, everyMs: 10 });
    const ms = now() - t0;
    const left = await remaining();
    return { ms, completed: count - left };
  } finally {
    await runner.stop();
  }
}

export async function latency(count, intervalMs, variant, { timeoutMs }) {
  const started = new Map();
  const runner = await startRunner(variant, (payload) => void started.set(payload.i, now()));
  try {
    await sleep(200); // let the pool LISTEN before the first job
    return await measureLatency({ count, intervalMs, started, timeoutMs, enqueue: (i) => utils.addJob(TASK, { i }) });
  } finally {
    await runner.stop();
  }
}

export async function teardown() {
  await utils?.release();
  utils = undefined;
}
