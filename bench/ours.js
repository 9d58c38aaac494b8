#!/usr/bin/env node
// Measures that concern oban-ts alone (issue: what a shell script pays per call, and memory):
//   1. `oban enqueue` of one job from a shell: wall time to exit (median of 7);
//   2. `oban work` start-to-exit with no jobs: spawn, wait for "started", SIGTERM, exit (median of 5);
//   3. worker RSS with 1,000,000 jobs queued: `oban work --queues default:10` for 15 s (max RSS).
//
//   node bench/ours.js [--quick]      (build first: npm run build)
// Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test). Uses schema bench_ours.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { median } from "./lib.js";

const quick = process.argv.includes("--quick");
const url = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCHEMA = "bench_ours";
const DB = ["--database-url", url, "--prefix", SCHEMA];
const QUEUED = quick ? 100_000 : 1_000_000;

function run(args, { untilLine, signal } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["bin/run.js", ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (untilLine && out.includes(untilLine) && !child.signalled) {
        child.signalled = performance.now();
        child.kill(signal);
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(killer);
      resolve({ ms: performance.now() - started, code, stopMs: child.signalled ? performance.now() - child.signalled : undefined });
    });
  });
}

async function main() {
  const c = new pg.Client(url);
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const migrated = await run(["migrate", ...DB]);
  if (migrated.code !== 0) throw new Error("migrate failed");

  const enqueue = [];
  for (let i = 0; i < 7; i++) enqueue.push((await run(["enqueue", "Bench.Noop", "--args", "{}", ...DB])).ms);
  const work = [];
  for (let i = 0; i < 5; i++) work.push((await run(["work", "--queues", "default:10", ...DB], { untilLine: "oban work started", signal: "SIGTERM" })).ms);

  await c.query(`TRUNCATE ${SCHEMA}.oban_jobs`);
  await c.query(
    `INSERT INTO ${SCHEMA}.oban_jobs (state, queue, worker, args, max_attempts)
     SELECT 'available', 'default', 'Bench.Slow', jsonb_build_object('i', g), 20 FROM generate_series(1, $1) g`,
    [QUEUED],
  );
  await c.query(`ANALYZE ${SCHEMA}.oban_jobs`);
  const child = spawn(process.execPath, ["bin/run.js", "work", "--queues", "default:10", "--require", "bench/fixtures/workers.js", ...DB], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  let maxRss = 0;
  const samples = [];
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]);
      samples.push(kb);
      maxRss = Math.max(maxRss, kb);
    } catch {
      break;
    }
  }
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", r));
  const processed = Number((await c.query(`SELECT count(*) FROM ${SCHEMA}.oban_jobs WHERE state = 'completed'`)).rows[0].count);
  await c.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
  await c.end();

  const result = {
    node: process.version,
    enqueueOneFromShellMs: { median: median(enqueue), runs: enqueue },
    workStartToExitMs: { median: median(work), runs: work },
    rssWithQueuedJobs: { queued: QUEUED, maxMb: Math.round(maxRss / 1024), lastMb: Math.round(samples.at(-1) / 1024), processedDuringSample: processed },
  };
  console.log(`oban enqueue (one job, from a shell): median ${median(enqueue).toFixed(0)} ms to exit`);
  console.log(`oban work start-to-exit, no jobs:      median ${median(work).toFixed(0)} ms`);
  console.log(`oban work RSS with ${QUEUED.toLocaleString("en")} jobs queued: max ${result.rssWithQueuedJobs.maxMb} MB over 15 s (${processed} processed meanwhile)`);
  mkdirSync(new URL("results/", import.meta.url), { recursive: true });
  writeFileSync(new URL(`results/${new Date().toISOString().replace(/[:.]/g, "-")}-ours.json`, import.meta.url), JSON.stringify(result, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
