#!/usr/bin/env node
// oban-ts benchmark orchestrator: runs each system's measures, takes the median of BENCH_RUNS runs,
// prints a table with ratios (ours / each peer, ours / floor) and saves JSON to bench/results/.
//
//   node bench/run.js [--quick] [--systems=oban,graphile,pgboss,bullmq,floor] [--measures=enqueueOne,...]
//
// Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_REDIS_URL
// (default redis://127.0.0.1:6379), BENCH_RUNS (default 3, --quick: 1), BENCH_TIMEOUT_S (per-run cap
// for processing, default 90, --quick: 20).
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { median, summarizeLatency } from "./lib.js";

const argv = process.argv.slice(2);
const flag = (n) => argv.includes(`--${n}`);
const opt = (n) => argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3);
if (flag("help") || flag("h")) {
  console.log("usage: node bench/run.js [--quick] [--systems=oban,graphile,pgboss,bullmq,floor] [--measures=enqueueOne,enqueueBulk,process,latency]");
  process.exit(0);
}

const quick = flag("quick");
const databaseUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env.BENCH_REDIS_URL || "redis://127.0.0.1:6379";
const runs = Number(process.env.BENCH_RUNS || (quick ? 1 : 3));
const timeoutMs = 1000 * Number(process.env.BENCH_TIMEOUT_S || (quick ? 20 : 90));
const COUNTS = quick
  ? { enqueueOne: 1_000, enqueueBulk: 10_000, process: 5_000, latency: 50 }
  : { enqueueOne: 10_000, enqueueBulk: 100_000, process: 100_000, latency: 300 };
const IN_FLIGHT = 10;
const INTERVAL_MS = 20;

const ALL_SYSTEMS = ["oban", "graphile", "pgboss", "bullmq", "floor"];
const ALL_MEASURES = ["enqueueOne", "enqueueBulk", "process", "latency"];
const systems = (opt("systems")?.split(",") ?? ALL_SYSTEMS).filter((s) => ALL_SYSTEMS.includes(s));
const measures = (opt("measures")?.split(",") ?? ALL_MEASURES).filter((m) => ALL_MEASURES.includes(m));
for (const u of [databaseUrl, redisUrl]) {
  const host = new URL(u).hostname;
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host) && !host.startsWith("127.") && !process.env.BENCH_ALLOW_REMOTE) {
    console.error(`refusing non-loopback host ${host} (set BENCH_ALLOW_REMOTE=1 to override)`);
    process.exit(2);
  }
}

const MEASURE_TITLE = {
  enqueueOne: `enqueue one at a time, ${IN_FLIGHT} in flight (${COUNTS.enqueueOne.toLocaleString("en")} jobs)`,
  enqueueBulk: `bulk enqueue (${COUNTS.enqueueBulk.toLocaleString("en")} jobs)`,
  process: `process pre-inserted no-op jobs, one process, concurrency 10 (${COUNTS.process.toLocaleString("en")} jobs)`,
  latency: `latency enqueue-returned -> handler start, one job every ${INTERVAL_MS} ms (${COUNTS.latency} jobs)`,
};

const log = (msg) => console.error(`[bench] ${msg}`);

async function ensureDatabase() {
  const c = new pg.Client({ connectionString: databaseUrl });
  try {
    await c.connect();
    const v = (await c.query("SHOW server_version")).rows[0].server_version;
    const settings = Object.fromEntries(
      (await c.query("SELECT name, setting FROM pg_settings WHERE name = ANY($1)", [["fsync", "synchronous_commit", "shared_buffers", "max_connections", "wal_level"]])).rows.map((r) => [r.name, r.setting]),
    );
    await c.end();
    return { version: v, settings };
  } catch (e) {
    if (e.code !== "3D000") throw e;
    const u = new URL(databaseUrl);
    const db = decodeURIComponent(u.pathname.slice(1));
    u.pathname = "/postgres";
    const admin = new pg.Client({ connectionString: u.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${db.replace(/"/g, '""')}"`);
    await admin.end();
    log(`created database ${db}`);
    return ensureDatabase();
  }
}

async function runMeasure(mod, measure, variant) {
  const samples = [];
  for (let r = 0; r < runs; r++) {
    await mod.reset();
    let res;
    if (measure === "enqueueOne") res = await mod.enqueueOne(COUNTS.enqueueOne, IN_FLIGHT, variant);
    else if (measure === "enqueueBulk") res = await mod.enqueueBulk(COUNTS.enqueueBulk, variant);
    else if (measure === "process") res = await mod.process(COUNTS.process, variant, { timeoutMs });
    else if (measure === "latency") {
      const { samples: lat, missing } = await mod.latency(COUNTS.latency, INTERVAL_MS, variant, { timeoutMs: 10_000 });
      res = { ...summarizeLatency(lat), missing };
    }
    if (measure !== "latency") {
      const count = res.completed ?? COUNTS[measure];
      res = { ...res, count, jobsPerSec: (count / res.ms) * 1000, timedOut: count < COUNTS[measure] };
    }
    samples.push(res);
    const brief =
      measure === "latency"
        ? `p50 ${fmt(res.p50)} ms, p99 ${fmt(res.p99)} ms${res.missing ? `, ${res.missing} missing` : ""}`
        : `${fmt(res.jobsPerSec)} jobs/s, ${fmt(res.ms)} ms${res.timedOut ? ` (timed out: ${res.count} done)` : ""}`;
    log(`  ${mod.name} ${measure} [${variant.label}] run ${r + 1}/${runs}: ${brief}`);
  }
  const m = (k) => median(samples.map((s) => s[k]));
  if (measure === "latency") {
    return { p50: m("p50"), p95: m("p95"), p99: m("p99"), max: m("max"), missing: Math.max(...samples.map((s) => s.missing)), runs: samples };
  }
  return { jobsPerSec: m("jobsPerSec"), ms: m("ms"), timedOut: samples.some((s) => s.timedOut), runs: samples };
}

function fmt(x) {
  if (x === undefined || x === null || Number.isNaN(x)) return "–";
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en");
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
const ratio = (a, b) => {
  if (!(a > 0 && b > 0)) return "–";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
};

function table(rows, headers) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  return [line(headers), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

async function main() {
  const started = new Date();
  const { version: pgVersion, settings: pgSettings } = await ensureDatabase();
  log(`PostgreSQL ${pgVersion} at ${databaseUrl.replace(/:[^:@/]*@/, ":***@")}; runs=${runs}; quick=${quick}`);
  const results = {
    startedAt: started.toISOString(),
    quick,
    runs,
    counts: COUNTS,
    inFlight: IN_FLIGHT,
    latencyIntervalMs: INTERVAL_MS,
    processTimeoutMs: timeoutMs,
    machine: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1) },
    postgres: pgVersion,
    postgresSettings: pgSettings,
    systems: {},
  };
  const ctx = { databaseUrl, redisUrl, log };
  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${started.toISOString().replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`, dir);
  // Saved after every system too, so an interrupted run keeps what it measured.
  const save = () => writeFileSync(file, JSON.stringify(results, null, 2) + "\n");

  for (const key of systems) {
    let mod;
    const entry = { key };
    results.systems[key] = entry;
    try {
      mod = await import(`./systems/${key}.js`);
      entry.name = mod.name;
      log(`${mod.name}: setup`);
      const info = await mod.setup(ctx);
      entry.version = info?.version;
    } catch (e) {
      entry.name ??= key;
      entry.skipped = e?.message ?? String(e);
      console.log(`${entry.name}: skipped: ${entry.skipped}`);
      try {
        await mod?.teardown?.();
      } catch {}
      continue;
    }
    entry.ours = !!mod.ours;
    entry.measures = {};
    try {
      for (const measure of measures) {
        entry.measures[measure] = [];
        for (const variant of mod.variants[measure] ?? []) {
          try {
            const res = await runMeasure(mod, measure, variant);
            entry.measures[measure].push({ variant: variant.label, ...res });
          } catch (e) {
            log(`  ${mod.name} ${measure} [${variant.label}] failed: ${e.stack ?? e}`);
            entry.measures[measure].push({ variant: variant.label, error: e?.message ?? String(e) });
          }
        }
      }
    } finally {
      await mod.teardown().catch((e) => log(`${mod.name} teardown: ${e.message}`));
      save();
    }
  }

  report(results);
  results.finishedAt = new Date().toISOString();
  save();
  console.log(`\nsaved ${file.pathname}`);
}

function best(entry, measure) {
  const list = (entry?.measures?.[measure] ?? []).filter((r) => !r.error);
  if (list.length === 0) return undefined;
  return measure === "latency"
    ? list.reduce((a, b) => (b.p50 < a.p50 ? b : a))
    : list.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a));
}

function report(results) {
  const entries = Object.values(results.systems);
  const ours = entries.find((e) => e.ours && !e.skipped);
  const floor = results.systems.floor;
  console.log(`\noban-ts bench — ${results.quick ? "QUICK (smoke) " : ""}median of ${results.runs} run(s); Node ${results.machine.node}, PostgreSQL ${results.postgres}, ${results.machine.cpus} CPUs`);
  console.log("versions: " + entries.map((e) => `${e.name} ${e.skipped ? "(skipped)" : e.version}`).join(", "));
  for (const e of entries) if (e.skipped) console.log(`  ${e.name}: skipped: ${e.skipped}`);
  if (!ours) console.log("  (no result for ours: ratio columns show –)");

  for (const measure of measures) {
    console.log(`\n## ${MEASURE_TITLE[measure]}`);
    const rows = [];
    const ourBest = best(ours, measure);
    for (const e of entries) {
      if (e.skipped) continue;
      for (const r of e.measures?.[measure] ?? []) {
        if (r.error) {
          rows.push(measure === "latency" ? [e.name, r.variant, "error", "", "", "", ""] : [e.name, r.variant, "error", "", ""]);
          continue;
        }
        // ours / this: for throughput, higher is better for ours; for latency (p50), lower is better for ours.
        const rel = e.ours ? "" : measure === "latency" ? ratio(ourBest?.p50, r.p50) : ratio(ourBest?.jobsPerSec, r.jobsPerSec);
        if (measure === "latency") {
          rows.push([e.name, r.variant, fmt(r.p50), fmt(r.p95), fmt(r.p99), fmt(r.max) + (r.missing ? ` (${r.missing} lost)` : ""), rel]);
        } else {
          rows.push([e.name, r.variant, fmt(r.jobsPerSec) + (r.timedOut ? "*" : ""), fmt(r.ms), rel]);
        }
      }
    }
    const headers =
      measure === "latency"
        ? ["system", "config", "p50 ms", "p95 ms", "p99 ms", "max ms", "ours/this p50"]
        : ["system", "config", "jobs/s", "ms", "ours/this"];
    console.log(table(rows, headers));
    const fb = best(floor, measure);
    if (fb) {
      const f = measure === "latency" ? `p50 ${fmt(fb.p50)} ms` : `${fmt(fb.jobsPerSec)} jobs/s`;
      const r = measure === "latency" ? ratio(ourBest?.p50, fb.p50) : ratio(ourBest?.jobsPerSec, fb.jobsPerSec);
      console.log(`ours / floor (ours' best vs floor's best, ${fb.variant}: ${f}): ${r}`);
    }
    if (rows.some((r) => String(r[2]).endsWith("*"))) console.log(`* hit the ${results.processTimeoutMs / 1000} s cap: rate = jobs completed / time`);
  }
  console.log("\nratios use ours' best config per measure; throughput: >1x means ours is faster; latency: <1x means ours is faster.");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
