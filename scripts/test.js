#!/usr/bin/env node
// Test runner: runs each compiled uvu file (dist/test/**/*.test.js) as its own node process,
// two at a time, and ends with one line "N passed, N failed[, N skipped]" (uvu prints none).
//
//   node scripts/test.js [filter…]     only files whose path contains one of the filters
//   TEST_EXCLUDE=chaos-ci node scripts/test.js   every file but those matching
//   env: DATABASE_URL (else the embedded server in .oban-test/ is started, shared with any other
//        wrapper run in this tree, and stopped by the last one out),
//        TEST_TIMEOUT (seconds per file, default 180), TEST_CONCURRENCY (default 2),
//        TEST_VERBOSE=1 (print every file's output, not only failures)
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const testDir = path.join(root, "dist", "test");
const filters = process.argv.slice(2);
const timeoutMs = Number(process.env.TEST_TIMEOUT ?? 180) * 1000;
const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? 2));
const verbose = process.env.TEST_VERBOSE === "1";

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "support") found.push(...findTests(full));
    } else if (entry.name.endsWith(".test.js")) {
      found.push(full);
    }
  }
  return found.sort();
}

const stripAnsi = (text) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/** Sums every uvu summary block in the output; undefined when there is none. */
function parseSummary(output) {
  const clean = stripAnsi(output);
  const re = /Total:\s+(\d+)\s*\n\s*Passed:\s+(\d+)\s*\n\s*Skipped:\s+(\d+)/g;
  let match;
  let found;
  while ((match = re.exec(clean))) {
    found ??= { total: 0, passed: 0, skipped: 0 };
    found.total += Number(match[1]);
    found.passed += Number(match[2]);
    found.skipped += Number(match[3]);
  }
  return found;
}

const running = new Set();

// ── the shared embedded server ───────────────────────────────────────────────────────────────
// Several wrapper runs may share one tree (and so one .oban-test server): each registers its pid
// under .oban-test/clients; the last one out stops the server, if a wrapper started it (a server
// started by hand with `oban db start --dir .oban-test` is left running).
const serverDir = path.join(root, ".oban-test");
const clientsDir = path.join(serverDir, "clients");
const ownedMarker = path.join(clientsDir, "started-by-wrapper");

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

async function withWrapperLock(fn) {
  const lock = path.join(serverDir, "wrapper.lock");
  mkdirSync(serverDir, { recursive: true });
  for (const deadline = Date.now() + 120_000; ; ) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, "pid"), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      const owner = Number(readText(path.join(lock, "pid")));
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if ((owner && !alive(owner)) || (!owner && age > 10_000)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function readText(file) {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}

function liveClients() {
  if (!existsSync(clientsDir)) return [];
  const live = [];
  for (const name of readdirSync(clientsDir).filter((n) => /^\d+$/.test(n))) {
    if (alive(Number(name))) live.push(name);
    else rmSync(path.join(clientsDir, name), { force: true }); // a wrapper that was killed
  }
  return live;
}

const embeddedModule = () => import(pathToFileURL(path.join(root, "dist", "src", "db", "embedded.js")).href);

async function acquireServer() {
  const { ensureEmbedded } = await embeddedModule();
  return withWrapperLock(async () => {
    const server = await ensureEmbedded({ dir: serverDir });
    mkdirSync(clientsDir, { recursive: true });
    writeFileSync(path.join(clientsDir, String(process.pid)), "");
    if (server.startedNow) writeFileSync(ownedMarker, "");
    return server;
  });
}

async function releaseServer() {
  const { stopEmbedded } = await embeddedModule();
  await withWrapperLock(async () => {
    rmSync(path.join(clientsDir, String(process.pid)), { force: true });
    if (liveClients().length === 0 && existsSync(ownedMarker)) {
      await stopEmbedded({ dir: serverDir });
      rmSync(ownedMarker, { force: true });
    }
  }).catch((error) => console.log(`could not stop the embedded PostgreSQL: ${error.message}`));
}

function runFile(file, env) {
  return new Promise((resolve) => {
    const started = Date.now();
    // Its own process group, so a timeout also kills the CLI children a test spawned.
    const child = spawn(process.execPath, [file], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    running.add(child);
    let output = "";
    let timedOut = false;
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      // Leftover children of the test (its process group) go too.
      killGroup(child, "SIGKILL");
      resolve({ file, code, signal, output, timedOut, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function judge(result) {
  const summary = parseSummary(result.output);
  let passed = summary?.passed ?? 0;
  let failed = summary ? summary.total - summary.passed : 0;
  const skipped = summary?.skipped ?? 0;
  const reasons = [];
  if (result.timedOut) reasons.push(`timed out after ${timeoutMs / 1000} s`);
  if (!summary) reasons.push("no uvu summary");
  if (result.code !== 0) reasons.push(result.signal ? `killed by ${result.signal}` : `exit ${result.code}`);
  // A crash, a timeout or a missing summary is a failure even when the counted tests passed.
  if (reasons.length && failed === 0) failed = 1;
  return { passed, failed, skipped, reasons };
}

async function main() {
  let files = findTests(testDir);
  if (filters.length) files = files.filter((file) => filters.some((f) => path.relative(root, file).includes(f)));
  // TEST_EXCLUDE=a,b leaves out files whose path contains one of them (CI's repeat runs use it).
  const excluded = (process.env.TEST_EXCLUDE ?? "").split(",").filter(Boolean);
  if (excluded.length) {
    files = files.filter((file) => !excluded.some((x) => path.relative(root, file).includes(x)));
    console.log(`TEST_EXCLUDE: leaving out files matching ${excluded.join(", ")}`);
  }
  if (files.length === 0) {
    console.log(existsSync(testDir) ? `no test files match ${filters.join(" ") || "dist/test/**/*.test.js"}` : "no dist/test: run `npm run build` first");
    console.log("0 passed, 0 failed");
    return 1;
  }

  const env = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  // Every query file must be executed by some test: the SQL loader appends each query it runs to
  // this file (in every child, CLI processes included), checked after a whole-suite run only (a
  // filtered or TEST_EXCLUDE run may leave out the one file that runs a query).
  const wholeSuite = filters.length === 0 && excluded.length === 0;
  const sqlTrace = path.join(os.tmpdir(), `oban-ts-sql-trace-${process.pid}.log`);
  rmSync(sqlTrace, { force: true });
  if (wholeSuite) env.OBAN_SQL_TRACE = sqlTrace;
  let server;
  if (!env.DATABASE_URL) {
    try {
      server = await acquireServer();
    } catch (error) {
      console.log(`cannot start the embedded PostgreSQL for the tests: ${error.message}`);
      console.log("0 passed, 1 failed");
      return 1;
    }
    env.DATABASE_URL = server.url;
    console.log(`DATABASE_URL: embedded PostgreSQL on port ${server.port} (${server.startedNow ? "started" : "reused"}, ${server.dataDir})`);
  } else {
    console.log(`DATABASE_URL: ${env.DATABASE_URL.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)\S*@/gi, "$1***@")}`);
  }

  const queue = [...files];
  let interrupted = 0;
  const interrupt = (signal) => {
    if (interrupted) process.exit(interrupted); // a second Ctrl-C
    interrupted = signal === "SIGINT" ? 130 : 143;
    queue.length = 0;
    for (const child of running) killGroup(child, "SIGKILL");
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);

  const totals = { passed: 0, failed: 0, skipped: 0 };
  const started = Date.now();
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const result = await runFile(file, env);
      const verdict = judge(result);
      totals.passed += verdict.passed;
      totals.failed += verdict.failed;
      totals.skipped += verdict.skipped;
      const name = path.relative(testDir, file);
      const failedFile = verdict.failed > 0;
      if (failedFile || verbose) {
        console.log(`\n──── ${name} ${"─".repeat(Math.max(0, 70 - name.length))}`);
        console.log(stripAnsi(result.output).trimEnd());
      }
      const extra = verdict.reasons.length ? ` (${verdict.reasons.join(", ")})` : "";
      const skipped = verdict.skipped ? `, ${verdict.skipped} skipped` : "";
      console.log(`${failedFile ? "FAIL" : "ok  "} ${name}: ${verdict.passed} passed, ${verdict.failed} failed${skipped} in ${result.seconds.toFixed(1)} s${extra}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    if (server) await releaseServer();
  }

  if (wholeSuite && !interrupted) {
    const executed = new Set(existsSync(sqlTrace) ? readFileSync(sqlTrace, "utf8").split("\n") : []);
    const unexecuted = readdirSync(path.join(root, "sql", "queries"))
      .filter((f) => f.endsWith(".sql"))
      .map((f) => f.slice(0, -4))
      .filter((name) => !executed.has(name));
    if (unexecuted.length > 0) {
      console.log(`FAIL sql/queries never executed by any test: ${unexecuted.join(", ")}`);
      totals.failed++;
    } else {
      console.log(`ok   every sql/queries file was executed by some test`);
    }
  }
  rmSync(sqlTrace, { force: true });

  const ran = totals.passed + totals.failed;
  console.log(`\n${files.length} file${files.length === 1 ? "" : "s"} in ${((Date.now() - started) / 1000).toFixed(1)} s${interrupted ? " (interrupted)" : ran === 0 ? " (no tests ran)" : ""}`);
  console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ""}`);
  if (interrupted) return interrupted;
  return totals.failed > 0 || ran === 0 ? 1 : 0;
}

process.exitCode = await main();
