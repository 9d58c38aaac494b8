// oban-ts (this repository), loaded from the root build: ../../dist/src/index.js (`npm run build`).
// Its schema is installed with `node bin/run.js migrate --database-url URL --prefix bench_oban`.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execPath } from "node:process";
import { promisify } from "node:util";
import { ident, inChunks, measureLatency, now, range, recreateSchema, runInFlight, sleep, waitUntil, withClient } from "../lib.js";

export const name = "oban-ts";
export const description = "oban-ts (ours, PostgreSQL)";
export const ours = true;

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = new URL("../../dist/src/index.js", import.meta.url);
const SCHEMA = "bench_oban";
const S = ident(SCHEMA);
const QUEUE = "default";
const WORKER_NAME = "Bench.Noop";

const DEFAULT = { label: "default (queues: { default: 10 })", queues: { [QUEUE]: 10 } };
// Our documented fastest settings: a larger local buffer (50 ms of work, up to 2,000 jobs) and
// asyncCommit (claims and outcomes skip the WAL flush wait; see the README for the cost).
const FAST = {
  label: "fast (localBuffer 50 ms / 2,000, asyncCommit)",
  queues: { [QUEUE]: 10 },
  options: { localBuffer: { budget: 50, maxJobs: 2_000 }, asyncCommit: true },
};
export const variants = {
  enqueueOne: [{ label: "W.enqueue(), 10 in flight" }],
  enqueueBulk: [{ label: "W.enqueueMany() (one call)" }],
  process: [DEFAULT, FAST],
  latency: [DEFAULT],
};

let ctx;
let api;
let W;
let onJob = () => {};
let inserter;

export async function setup(c) {
  ctx = c;
  if (!existsSync(fileURLToPath(ENTRY))) throw new Error("dist/src/index.js missing (run `npm run build` at the root)");
  api = await import(pathToFileURL(fileURLToPath(ENTRY)).href);
  if (typeof api.Oban?.start !== "function" || typeof api.defineWorker !== "function") {
    throw new Error("dist/src/index.js does not export Oban.start and defineWorker yet");
  }
  await recreateSchema(ctx.databaseUrl, SCHEMA, { create: false });
  try {
    await promisify(execFile)(
      execPath,
      ["bin/run.js", "migrate", "--database-url", ctx.databaseUrl, "--prefix", SCHEMA],
      { cwd: ROOT, timeout: 120_000 },
    );
  } catch (e) {
    throw new Error(`oban migrate failed: ${(e.stderr || e.message).toString().trim().split("\n")[0]}`);
  }
  W = api.defineWorker({
    name: WORKER_NAME,
    queue: QUEUE,
    async perform(job) {
      onJob(job.args);
    },
  });
  inserter = await startOban({}, "bench-inserter");
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return { version: `${pkg.version} (${execGitRev()})` };
}

function execGitRev() {
  try {
    const head = readFileSync(new URL("../../.git/HEAD", import.meta.url), "utf8").trim();
    if (!head.startsWith("ref:")) return head.slice(0, 7);
    return readFileSync(new URL(`../../.git/${head.slice(5)}`, import.meta.url), "utf8").trim().slice(0, 7);
  } catch {
    return "working tree";
  }
}

function startOban(queues, node, options = {}) {
  return api.Oban.start({ databaseUrl: ctx.databaseUrl, prefix: SCHEMA, queues, node, ...options });
}

export async function reset() {
  await withClient(ctx.databaseUrl, async (c) => {
    await c.query(`TRUNCATE ${S}.oban_jobs`);
    await c.query(`VACUUM ANALYZE ${S}.oban_jobs`);
  });
}

export async function enqueueOne(count, inFlight) {
  return { ms: await runInFlight(count, inFlight, (i) => W.enqueue({ i }, { oban: inserter })) };
}

export async function enqueueBulk(count) {
  const list = range(0, count).map((i) => ({ i }));
  const t0 = now();
  await W.enqueueMany(list, { oban: inserter });
  return { ms: now() - t0 };
}

async function completedCount() {
  return withClient(ctx.databaseUrl, async (c) =>
    Number((await c.query(`SELECT count(*) FROM ${S}.oban_jobs WHERE state = 'completed'`)).rows[0].count),
  );
}

// Pre-insert with plain SQL (untimed), the same rows W.enqueueMany would write.
async function preinsert(count) {
  await withClient(ctx.databaseUrl, async (c) => {
    await inChunks(count, 5_000, (from, to) =>
      c.query(
        `INSERT INTO ${S}.oban_jobs (state, queue, worker, args, max_attempts)
         SELECT 'available', $1, $2, a, 20 FROM unnest($3::jsonb[]) AS a`,
        [QUEUE, WORKER_NAME, range(from, to).map((i) => JSON.stringify({ i }))],
      ),
    );
    await c.query(`ANALYZE ${S}.oban_jobs`);
  });
}

export async function process(count, variant, { timeoutMs }) {
  await preinsert(count);
  let handled = 0;
  onJob = () => void handled++;
  const t0 = now();
  const deadline = t0 + timeoutMs;
  const oban = await startOban(variant.queues, "bench", variant.options);
  try {
    await waitUntil(() => handled >= count, { deadline, everyMs: 5 });
    await waitUntil(async () => (await completedCount()) >= count, { deadline, everyMs: 10 });
    const ms = now() - t0;
    return { ms, completed: await completedCount() };
  } finally {
    onJob = () => {};
    await oban.stop();
  }
}

export async function latency(count, intervalMs, variant, { timeoutMs }) {
  const started = new Map();
  onJob = (args) => void started.set(args.i, now());
  const oban = await startOban(variant.queues, "bench");
  try {
    await sleep(200);
    return await measureLatency({ count, intervalMs, started, timeoutMs, enqueue: (i) => W.enqueue({ i }, { oban: inserter }) });
  } finally {
    onJob = () => {};
    await oban.stop();
  }
}

export async function teardown() {
  await inserter?.stop();
  inserter = undefined;
}
