// BullMQ on Redis (127.0.0.1:6379 unless BENCH_REDIS_URL), Worker concurrency 10, default options.
import { createRequire } from "node:module";
import { Queue, Worker } from "bullmq";
import { measureLatency, now, range, runInFlight, sleep, waitUntil } from "../lib.js";

export const name = "bullmq";
export const description = "BullMQ (Redis)";

const PREFIX = "bench_bullmq";
const QUEUE = "bench";

const DEFAULT = { label: "Worker concurrency 10" };
export const variants = {
  enqueueOne: [{ label: "add(), 10 in flight" }],
  enqueueBulk: [{ label: "addBulk() in 10k chunks" }],
  process: [DEFAULT],
  latency: [DEFAULT],
};

let ctx;
let connection;
let queue;

export async function setup(c) {
  ctx = c;
  const u = new URL(ctx.redisUrl);
  connection = { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0), maxRetriesPerRequest: null };
  queue = new Queue(QUEUE, { connection: { ...connection, maxRetriesPerRequest: 1 }, prefix: PREFIX });
  queue.on("error", (e) => ctx.log(`bullmq queue error: ${e.message}`));
  await Promise.race([
    queue.waitUntilReady(),
    sleep(3000).then(() => {
      throw new Error(`Redis not reachable at ${ctx.redisUrl}`);
    }),
  ]);
  await queue.obliterate({ force: true });
  const require = createRequire(import.meta.url);
  return { version: require("bullmq/package.json").version };
}

export async function reset() {
  await queue.obliterate({ force: true });
}

export async function enqueueOne(count, inFlight) {
  return { ms: await runInFlight(count, inFlight, (i) => queue.add("noop", { i })) };
}

// One addBulk() call is one MULTI; 100k in one MULTI blocks Redis for seconds, so chunk at 10k.
async function addBulk(count) {
  for (let k = 0; k < count; k += 10_000) {
    await queue.addBulk(range(k, Math.min(count, k + 10_000)).map((i) => ({ name: "noop", data: { i } })));
  }
}

export async function enqueueBulk(count) {
  const t0 = now();
  await addBulk(count);
  return { ms: now() - t0 };
}

function startWorker(onJob) {
  const w = new Worker(QUEUE, async (job) => onJob(job.data), { connection, prefix: PREFIX, concurrency: 10 });
  w.on("error", (e) => ctx.log(`bullmq worker error: ${e.message}`));
  return w;
}

export async function process(count, _variant, { timeoutMs }) {
  await addBulk(count);
  let completed = 0;
  const t0 = now();
  const deadline = t0 + timeoutMs;
  const worker = startWorker(() => {});
  worker.on("completed", () => void completed++);
  try {
    await waitUntil(() => completed >= count, { deadline, everyMs: 5 });
    const ms = now() - t0;
    const counts = await queue.getJobCounts("completed");
    return { ms, completed: counts.completed };
  } finally {
    await worker.close(true);
  }
}

export async function latency(count, intervalMs, _variant, { timeoutMs }) {
  const started = new Map();
  const worker = startWorker((data) => void started.set(data.i, now()));
  try {
    await worker.waitUntilReady();
    await sleep(200);
    return await measureLatency({ count, intervalMs, started, timeoutMs, enqueue: (i) => queue.add("noop", { i }) });
  } finally {
    await worker.close(true);
  }
}

export async function teardown() {
  if (queue) {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  queue = undefined;
}
