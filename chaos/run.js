#!/usr/bin/env node
// The fault suite, long versions: `npm run chaos` (builds first). Runs every scenario against an
// embedded PostgreSQL of its own (.oban-test/chaos-run-N), prints one row of figures per scenario
// and writes everything to chaos/results/<time>.json (git-ignored).
//
//   node chaos/run.js [--ci] [filter…]   --ci: the short CI versions; filters match scenario keys
//   node chaos/run.js --render FILE      re-print the tables of an earlier results file
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const s = await import(pathToFileURL(path.join(root, "dist", "test", "chaos", "scenarios.js")).href);
const argv = process.argv.slice(2);
const renderFile = argv.includes("--render") ? argv[argv.indexOf("--render") + 1] : undefined;
const earlier = renderFile ? JSON.parse(readFileSync(renderFile, "utf8")) : undefined;
const profile = earlier?.profile ?? (argv.includes("--ci") ? "ci" : "full");
const filters = renderFile ? ["-none-"] : argv.filter((a) => !a.startsWith("--"));

const scenarios = [
  ["kill9", (ctx) => s.killNine(ctx, profile)],
  ["sigterm-grace", (ctx) => s.sigtermWithinGrace(ctx, profile)],
  ["sigterm-past-grace", (ctx) => s.sigtermPastGrace(ctx, profile)],
  ["db-restart-fast", (ctx) => s.databaseRestart(ctx, profile, "fast")],
  ["db-restart-immediate", (ctx) => s.databaseRestart(ctx, profile, "immediate")],
  ["db-down-at-start", (ctx) => s.databaseDownAtStart(ctx, profile)],
  ["listen", (ctx) => s.listenTerminated(ctx, profile)],
  ["eight-producers", (ctx) => s.eightProducers(ctx, profile)],
  ["transactions", (ctx) => s.transactionalEnqueue(ctx, profile)],
  ["args", (ctx) => s.argsSizes(ctx, profile)],
  ["maintenance", (ctx) => s.maintenanceUnderLoad(ctx, profile)],
  ["migrate", (ctx) => s.concurrentMigrate(ctx, profile)],
].filter(([key]) => filters.length === 0 || filters.some((f) => key.includes(f)));

const verdict = (f) => {
  const bad = [];
  if (f.lost !== 0) bad.push("lost");
  if (f.executingAtEnd !== 0) bad.push("executing");
  if (f.duplicates > f.inFlightAtFaults) bad.push("duplicates>bound");
  if (f.overlaps !== 0) bad.push("overlap");
  if (f.jobs > 0 && f.drainMs === null) bad.push("not drained");
  return bad.length ? `FAIL (${bad.join(", ")})` : "ok";
};

const results = earlier?.results ?? [];
const started = earlier ? new Date(earlier.started) : new Date();
const server = earlier ? undefined : await s.ChaosServer.acquire("run");
if (server) {
console.log(`chaos (${profile}) on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, embedded PostgreSQL ${server.dir}`);
try {
  for (const [key, fn] of scenarios) {
    const ctx = await s.openCtx(server.url, server);
    const t = Date.now();
    try {
      const f = await fn(ctx);
      const { cli, cases, runs, mismatch, ...figures } = f;
      results.push({ key, ...figures, ...(cases ? { cases } : {}), verdict: verdict(f) });
      console.log(`${verdict(f).padEnd(6)} ${key}: ${JSON.stringify({ ...figures, notes: undefined })}\n       notes: ${JSON.stringify(figures.notes)}`);
      if (cases) for (const c of cases) console.log(`       ${JSON.stringify(c)}`);
    } catch (error) {
      results.push({ key, error: String(error?.stack ?? error), seconds: (Date.now() - t) / 1000, verdict: "ERROR" });
      console.log(`ERROR  ${key}: ${error?.stack ?? error}`);
    } finally {
      await ctx.close();
    }
  }
} finally {
  await server.release();
}
}

const cell = (v) => (v === null || v === undefined ? "–" : String(v));
console.log("\n| scenario | jobs | faults | lost | duplicates (bound) | overlaps | executing at end | drain after last fault | time | verdict |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of results) {
  if (r.error) {
    console.log(`| ${r.key} | | | | | | | | ${r.seconds} s | ERROR |`);
    continue;
  }
  console.log(`| ${r.scenario} | ${r.jobs} | ${r.faults} | ${r.lost} | ${r.duplicates} (${r.inFlightAtFaults}) | ${r.overlaps} | ${r.executingAtEnd} | ${r.drainMs === null ? "–" : `${(r.drainMs / 1000).toFixed(1)} s`} | ${r.seconds} s | ${r.verdict} |`);
}
// The scenario-specific figures worth a column of their own.
const KEY_NOTES = ["exitMs", "grace", "fetchedAfterSignal", "returnedWithShutdownError", "stayedUp", "outageMs", "rescuedWhileNodesAlive", "retries", "retryDelays", "startedAfterUpMs", "cliExitCodes", "passwordLeaked", "pickupP50Ms", "pickupP99Ms", "pickupMaxMs", "reconnects", "runsPerNode", "committed", "rolledBack", "committedWithoutJob", "jobWithoutCommit", "rolledBackButJobExists", "rolledBackButRan", "pruned", "rescued", "longestCommandMs", "maintenanceMs", "pickupBaselineP50Ms", "pickupBaselineP99Ms", "pickupDuringP50Ms", "pickupDuringP99Ms", "maxLockWaitMs", "longestMaintenanceXactMs", "exitCodes", "applied", "checkExit"];
const markdown = [
  "| scenario | jobs | faults | lost | duplicates (bound) | overlaps | executing at end | drain after last fault | time | verdict |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ...results.map((r) => r.error
    ? `| ${r.key} | | | | | | | | ${r.seconds} s | ERROR |`
    : `| ${r.scenario} | ${r.jobs} | ${r.faults} | ${r.lost} | ${r.duplicates} (${r.inFlightAtFaults}) | ${r.overlaps} | ${r.executingAtEnd} | ${r.drainMs === null ? "–" : `${(r.drainMs / 1000).toFixed(1)} s`} | ${r.seconds} s | ${r.verdict} |`),
  "",
  "| scenario | other figures |",
  "|---|---|",
  ...results.filter((r) => !r.error).map((r) => `| ${r.scenario} | ${KEY_NOTES.filter((k) => r.notes?.[k] !== undefined).map((k) => `${k}: ${JSON.stringify(r.notes[k])}`).join("; ").replace(/\|/g, "\\|")} |`),
  ...(results.some((r) => r.cases) ? ["", "| args via | bytes | limit | accepted | code / message | completed |", "|---|---:|---:|---|---|---|",
    ...results.flatMap((r) => r.cases ?? []).map((c) => `| ${c.via} | ${c.bytes} | ${c.limit} | ${c.accepted ? "yes" : "no"} | ${c.accepted ? "" : `${c.code}: ${c.message}`} | ${c.completed ?? ""} |`)] : []),
].join("\n");
mkdirSync(path.join(root, "chaos", "results"), { recursive: true });
writeFileSync(path.join(root, "chaos", "results", `latest-${profile}.md`), markdown + "\n");
const file = renderFile ?? path.join(root, "chaos", "results", `${started.toISOString().replace(/[:.]/g, "-")}-${profile}.json`);
if (!earlier) writeFileSync(file, JSON.stringify({ profile, started: started.toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` }, results }, null, 2));
console.log(`\nwrote ${path.relative(root, file)}`);
process.exitCode = results.every((r) => r.verdict === "ok") ? 0 : 1;
