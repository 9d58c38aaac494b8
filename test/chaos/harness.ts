/**
 * The fault suite's machinery: a PostgreSQL of its own (embedded, under .oban-test/chaos-*), real
 * `oban work` processes running chaos/worker.js (which records every execution in chaos_runs),
 * and the figures every scenario reports: jobs lost, duplicate executions and their bound,
 * overlapping executions, jobs left executing, time to drain after the last fault.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type pg from "pg";
import { createPool } from "../../src/db/pool.js";
import { quoteIdent } from "../../src/db/sql.js";
import { ensureEmbedded, stopEmbedded } from "../../src/db/embedded.js";
import { insertJobs, prepareJob } from "../../src/engine/insert.js";
import { BIN, ROOT, cliEnv } from "../support/cli.js";
import { createSchema } from "../support/schemas.js";
import { sleep, waitFor as waitUntil } from "../support/wait.js";


// ── the database ─────────────────────────────────────────────────────────────────────────────

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * An embedded PostgreSQL owned by this process alone: the first free `.oban-test/chaos-<name>-<n>`
 * (an owner file holds our pid; a dead owner's folder is reused, keeping its initdb). Restarting
 * it disturbs no other test run.
 */
export class ChaosServer {
  private constructor(readonly dir: string, public url: string, public port: number) {}

  static async acquire(name: string): Promise<ChaosServer> {
    for (let n = 0; n < 8; n++) {
      const dir = path.join(ROOT, ".oban-test", `chaos-${name}-${n}`);
      mkdirSync(dir, { recursive: true });
      const owner = path.join(dir, "owner");
      try {
        writeFileSync(owner, String(process.pid), { flag: "wx" });
      } catch {
        const pid = Number(readFileSync(owner, "utf8").trim());
        if (pid && pid !== process.pid && alive(pid)) continue;
        writeFileSync(owner, String(process.pid));
      }
      const server = await ensureEmbedded({ dir });
      return new ChaosServer(dir, server.url, server.port);
    }
    throw new Error(`no free .oban-test/chaos-${name}-N folder`);
  }

  private postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(path.join(this.dir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);
      return pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** fast: pg_ctl stop -m fast (SIGINT); immediate: SIGQUIT to the postmaster (no checkpoint, crash recovery on start). */
  async stop(mode: "fast" | "immediate"): Promise<void> {
    if (mode === "fast") {
      await stopEmbedded({ dir: this.dir });
    } else {
      const pid = this.postmasterPid();
      if (pid) process.kill(pid, "SIGQUIT");
      const deadline = Date.now() + 30_000;
      while (pid && alive(pid)) {
        if (Date.now() > deadline) throw new Error(`postmaster ${pid} survived SIGQUIT for 30 s`);
        await sleep(20);
      }
    }
  }

  /** Starts it again on the same port (waiting for the port to be released). */
  async start(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await portFree(this.port)) && !this.postmasterPid()) {
      if (Date.now() > deadline) throw new Error(`port ${this.port} still busy 20 s after stopping`);
      await sleep(50);
    }
    const server = await ensureEmbedded({ dir: this.dir });
    if (server.port !== this.port) throw new Error(`embedded server came back on port ${server.port}, not ${this.port}`);
  }

  async release(): Promise<void> {
    await stopEmbedded({ dir: this.dir }).catch(() => {});
    rmSync(path.join(this.dir, "owner"), { force: true });
  }
}

/** A fresh Oban schema plus the chaos_runs table the worker writes to. */
export async function chaosSchema(pool: pg.Pool): Promise<{ prefix: string; drop: () => Promise<void> }> {
  const schema = await createSchema(pool, "ours");
  const q = quoteIdent(schema.prefix);
  await pool.query(`CREATE TABLE ${q}.chaos_runs (
      run_id uuid PRIMARY KEY, job_id bigint NOT NULL, attempt int NOT NULL, node text NOT NULL, pid int NOT NULL,
      started_at timestamptz NOT NULL, ended_at timestamptz, outcome text)`);
  await pool.query(`CREATE INDEX ON ${q}.chaos_runs (job_id)`);
  await pool.query(`CREATE INDEX ON ${q}.chaos_runs (pid) WHERE ended_at IS NULL`);
  return schema;
}

export interface Ctx {
  url: string;
  prefix: string;
  pool: pg.Pool;
  server?: ChaosServer;
  /** "id:attempt" of every job in flight on a node at the moment it was killed. */
  inFlight?: Set<string>;
  /** Processes killed with SIGKILL, and when. */
  kills?: { pid: number; at: Date }[];
}

export async function openCtx(url: string, server?: ChaosServer): Promise<Ctx & { close: () => Promise<void> }> {
  const pool = createPool(url, { max: 4, applicationName: "chaos harness" });
  const { prefix, drop } = await chaosSchema(pool);
  return {
    url,
    prefix,
    pool,
    server,
    close: async () => {
      await drop().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}

// ── oban work processes ──────────────────────────────────────────────────────────────────────

const everyChild = new Set<ChildProcess>();
process.on("exit", () => everyChild.forEach((c) => c.kill("SIGKILL")));

/** Short cluster timings so a dead node's jobs come back within a few seconds. */
export const FAST = ["--poll-interval", "500ms", "--heartbeat-interval", "500ms", "--producer-max-age", "3s", "--rescue-interval", "500ms", "--leader-ttl", "3s", "--stage-interval", "300ms"];

export interface NodeOptions {
  queues?: string;
  grace?: string;
  extra?: string[];
  /** Replace FAST. */
  timings?: string[];
}

export class WorkNode {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logs: Record<string, any>[] = [];
  readonly events: Record<string, number> = {};
  stderr = "";
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  constructor(readonly ctx: Ctx, readonly name: string, options: NodeOptions = {}) {
    const args = [
      BIN, "work", "--queues", options.queues ?? "chaos:5", "--require", "chaos/worker.js", "--node", name,
      "--grace", options.grace ?? "5s", ...(options.timings ?? FAST), ...(options.extra ?? []),
      "--database-url", ctx.url, "--prefix", ctx.prefix,
    ];
    this.child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: cliEnv({ CHAOS_DATABASE_URL: ctx.url, CHAOS_PREFIX: ctx.prefix }) as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    everyChild.add(this.child);
    this.pid = this.child.pid!;
    let buffer = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const line of parts) {
        if (!line.trim()) continue;
        let record: Record<string, any>;
        try {
          record = JSON.parse(line);
        } catch {
          record = { event: "log", level: "raw", message: line };
        }
        if (record.event === "log") this.logs.push(record);
        else this.events[record.event] = (this.events[record.event] ?? 0) + 1;
      }
    });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-8_000)));
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => {
        everyChild.delete(this.child);
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      }),
    );
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  logged(pattern: RegExp): boolean {
    return this.logs.some((l) => pattern.test(l.message ?? ""));
  }

  async started(timeoutMs = 30_000): Promise<void> {
    await waitUntil(`${this.name} started`, () => this.logged(/oban work started/) || !this.running, timeoutMs, 50);
    if (!this.running) throw new Error(`${this.name} exited before starting: ${JSON.stringify(this.exit)}\n${this.stderr}`);
  }

  /**
   * kill -9. The jobs this node name holds in `executing` right after the kill are its jobs in
   * flight (ctx.inFlight: the most that may run twice because of this fault); its runs are marked
   * ended at the kill ('killed') by `measure`, including any INSERT its backend commits late.
   * Returns how many jobs were in flight.
   */
  async kill9(): Promise<number> {
    this.child.kill("SIGKILL");
    await this.exited;
    const at = (await retryDb(() => this.ctx.pool.query(`SELECT clock_timestamp() AS t`))).rows[0].t as Date;
    (this.ctx.kills ??= []).push({ pid: this.pid, at });
    const q = quoteIdent(this.ctx.prefix);
    const held = await retryDb(() =>
      this.ctx.pool.query(`SELECT id, attempt FROM ${q}.oban_jobs WHERE state = 'executing' AND attempted_by[1] = $1`, [this.name]),
    );
    this.ctx.inFlight ??= new Set();
    for (const r of held.rows) this.ctx.inFlight.add(`${r.id}:${r.attempt}`);
    return held.rows.length;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export async function killAll(nodes: WorkNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop("SIGKILL", 5_000)));
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────

/** Retries a harness query through a database restart. */
export async function retryDb<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

/** Inserts n Chaos.Run jobs (engine insert, one statement per 5,000) and returns their ids. */
export async function enqueue(ctx: Ctx, n: number, args: (i: number) => Record<string, unknown> = () => ({}), queue = "chaos"): Promise<string[]> {
  const jobs = Array.from({ length: n }, (_, i) => prepareJob({ worker: "Chaos.Run", queue, args: args(i) }));
  const ids: string[] = [];
  for (let i = 0; i < jobs.length; i += 5_000) ids.push(...(await insertJobs(ctx.pool, ctx.prefix, jobs.slice(i, i + 5_000))).map((j) => j.id));
  return ids;
}

/** Enqueues `perTick` jobs every `everyMs` until stopped; inserts that fail (database down) are skipped. */
export function steadyEnqueue(ctx: Ctx, perTick: number, everyMs: number, args: () => Record<string, unknown> = () => ({})) {
  const ids: string[] = [];
  let failed = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const tick = Date.now();
      try {
        ids.push(...(await enqueue(ctx, perTick, args)));
      } catch {
        failed++;
      }
      await sleep(Math.max(0, everyMs - (Date.now() - tick)));
    }
  })();
  return {
    ids,
    get failed() {
      return failed;
    },
    async stop() {
      stopped = true;
      await done;
    },
  };
}

export async function count(ctx: Ctx, where: string, values: unknown[] = []): Promise<number> {
  return (await ctx.pool.query(`SELECT count(*)::int AS n FROM ${quoteIdent(ctx.prefix)}.oban_jobs WHERE ${where}`, values)).rows[0].n as number;
}

/** Waits until every tracked job (or every Chaos.Run job) is completed; returns the time it took, or undefined on timeout. */
export async function drain(ctx: Ctx, timeoutMs: number, ids?: string[]): Promise<number | undefined> {
  const started = Date.now();
  const where = ids ? `id = ANY($1::bigint[]) AND state <> 'completed'` : `worker = 'Chaos.Run' AND state <> 'completed'`;
  try {
    await waitUntil("drained", async () => (await retryDb(() => count(ctx, where, ids ? [ids] : []))) === 0, timeoutMs, 100);
    return Date.now() - started;
  } catch {
    return undefined;
  }
}

export interface Figures {
  scenario: string;
  /** jobs the scenario enqueued and knows of */
  jobs: number;
  /** of those, not completed at the end (or missing) */
  lost: number;
  /** executions of perform beyond one per job */
  duplicates: number;
  /** jobs in flight on a node when it was killed, plus executions aborted by a shutdown: the most duplicates allowed */
  inFlightAtFaults: number;
  /** pairs of executions of one job whose intervals overlap */
  overlaps: number;
  executingAtEnd: number;
  /** ms from the last fault to every job completed (null: not drained) */
  drainMs: number | null;
  faults: number;
  seconds: number;
  notes: Record<string, unknown>;
}

/** Counts what happened to `ids` from oban_jobs and chaos_runs. */
export async function measure(ctx: Ctx, ids: string[]): Promise<Pick<Figures, "jobs" | "lost" | "duplicates" | "inFlightAtFaults" | "overlaps" | "executingAtEnd"> & { states: Record<string, number> }> {
  const q = quoteIdent(ctx.prefix);
  for (const kill of ctx.kills ?? []) {
    await ctx.pool.query(`UPDATE ${q}.chaos_runs SET ended_at = $2, outcome = 'killed' WHERE pid = $1 AND ended_at IS NULL`, [kill.pid, kill.at]);
  }
  const interrupted = await ctx.pool.query(`SELECT job_id, attempt FROM ${q}.chaos_runs WHERE outcome IN ('killed', 'aborted') AND job_id = ANY($1::bigint[])`, [ids]);
  const bound = new Set(ctx.inFlight ?? []);
  for (const r of interrupted.rows) bound.add(`${r.job_id}:${r.attempt}`);
  const states = await ctx.pool.query(`SELECT state::text, count(*)::int AS n FROM ${q}.oban_jobs WHERE id = ANY($1::bigint[]) GROUP BY 1`, [ids]);
  const byState = Object.fromEntries(states.rows.map((r) => [r.state, r.n])) as Record<string, number>;
  const present = Object.values(byState).reduce((a, b) => a + b, 0);
  const runs = (
    await ctx.pool.query(
      `SELECT count(*)::int AS runs, count(DISTINCT job_id)::int AS jobs
         FROM ${q}.chaos_runs WHERE job_id = ANY($1::bigint[])`,
      [ids],
    )
  ).rows[0];
  const overlaps = (
    await ctx.pool.query(
      `SELECT count(*)::int AS n FROM ${q}.chaos_runs a JOIN ${q}.chaos_runs b ON a.job_id = b.job_id AND a.run_id < b.run_id
        WHERE a.job_id = ANY($1::bigint[])
          AND tstzrange(a.started_at, coalesce(a.ended_at, 'infinity')) && tstzrange(b.started_at, coalesce(b.ended_at, 'infinity'))`,
      [ids],
    )
  ).rows[0].n as number;
  return {
    jobs: ids.length,
    lost: ids.length - (byState.completed ?? 0),
    duplicates: runs.runs - runs.jobs,
    inFlightAtFaults: bound.size,
    overlaps,
    executingAtEnd: await count(ctx, `state = 'executing'`),
    states: { ...byState, ...(present < ids.length ? { missing: ids.length - present } : {}) },
  };
}

/** Pickup latency (ms) per job: its first execution's start minus its scheduled time. */
export async function pickupLatencies(ctx: Ctx, ids: string[]): Promise<number[]> {
  const q = quoteIdent(ctx.prefix);
  const rows = await ctx.pool.query(
    `SELECT extract(epoch FROM min(r.started_at) - (j.scheduled_at AT TIME ZONE 'UTC')) * 1000 AS ms
       FROM ${q}.oban_jobs j JOIN ${q}.chaos_runs r ON r.job_id = j.id
      WHERE j.id = ANY($1::bigint[]) GROUP BY j.id, j.scheduled_at`,
    [ids],
  );
  return rows.rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const round = (n: number | null | undefined, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? null : Math.round(n * 10 ** digits) / 10 ** digits);

/** Runs `oban ARGS` to completion (bounded), capturing output. */
export function runOban(args: string[], options: { input?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(options.env) as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
    everyChild.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c) => (stdout += c));
    child.stderr!.on("data", (c) => (stderr += c));
    child.stdin!.on("error", () => {});
    child.stdin!.end(options.input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      everyChild.delete(child);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export { quoteIdent, sleep, waitUntil };
