/**
 * The fault scenarios. Each takes a profile ("ci": short, run by test/chaos-ci*.test.ts; "full":
 * `npm run chaos`) and returns its Figures; the callers assert on them (CI) or tabulate them.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { Oban, defineWorker, ObanError } from "../../src/index.js";
import {
  ChaosServer, type Ctx, type Figures, WorkNode, count, drain, enqueue, killAll, measure, openCtx, percentile,
  pickupLatencies, quoteIdent, retryDb, round, runOban, sleep, steadyEnqueue, waitUntil, FAST,
} from "./harness.js";

export type Profile = "ci" | "full";

/** The harness's handle on the worker the nodes run (the nodes load chaos/worker.js, never this process). */
const noop = async () => {};
const ChaosRun = defineWorker<Record<string, unknown>>({ name: "Chaos.Run", queue: "chaos", maxAttempts: 20, perform: noop });

function figures(scenario: string, m: Awaited<ReturnType<typeof measure>>, extra: { drainMs: number | undefined; faults: number; started: number; notes?: Record<string, unknown> }): Figures {
  return {
    scenario,
    jobs: m.jobs,
    lost: m.lost,
    duplicates: m.duplicates,
    inFlightAtFaults: m.inFlightAtFaults,
    overlaps: m.overlaps,
    executingAtEnd: m.executingAtEnd,
    drainMs: extra.drainMs ?? null,
    faults: extra.faults,
    seconds: round((Date.now() - extra.started) / 1000, 1)!,
    notes: { states: m.states, ...(extra.notes ?? {}) },
  };
}

const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)];

/** After the scenario: stop every node gracefully, then count (nothing may be left executing). */
async function finish(nodes: WorkNode[]): Promise<Record<string, unknown>> {
  const exits = await Promise.all(nodes.filter((n) => n.running).map((n) => n.stop("SIGTERM", 30_000)));
  const problems = nodes.flatMap((n) => n.logs.filter((l) => l.level === "error" || l.level === "warn"));
  const distinct = [...new Set(problems.map((l) => `${l.message}${l.error ? `: ${l.error}` : ""}`.replace(/\d{3,}/g, "N")))];
  return { exitCodes: [...new Set(exits.map((e) => e.code))], warnings: problems.length, distinctWarnings: distinct.slice(0, 10) };
}

// ── 1. kill -9 a random worker every few seconds, under load ─────────────────────────────────

export async function killNine(ctx: Ctx, profile: Profile): Promise<Figures> {
  const started = Date.now();
  const full = profile === "full";
  const durationMs = full ? 60_000 : 20_000;
  const everyMs = full ? 2_000 : 3_000;
  const names = Array.from({ length: full ? 4 : 3 }, (_, i) => `kill-${i}`);
  const nodes = new Map(names.map((name) => [name, new WorkNode(ctx, name, { queues: full ? "chaos:10" : "chaos:5" })]));
  const everyNode: WorkNode[] = [...nodes.values()];
  try {
    await Promise.all(everyNode.map((n) => n.started()));
    const load = steadyEnqueue(ctx, full ? 20 : 10, 200, () => ({ ms: 20 + Math.floor(Math.random() * 180) }));
    let faults = 0;
    let lastFault = Date.now();
    const until = Date.now() + durationMs;
    while (Date.now() < until) {
      await sleep(everyMs);
      const name = pick(names);
      await nodes.get(name)!.kill9();
      faults++;
      lastFault = Date.now();
      const next = new WorkNode(ctx, name, { queues: full ? "chaos:10" : "chaos:5" });
      nodes.set(name, next);
      everyNode.push(next);
    }
    await load.stop();
    const drainMs = await drain(ctx, 120_000, load.ids);
    const sinceFault = drainMs === undefined ? undefined : Date.now() - lastFault;
    const executingBeforeStop = await count(ctx, `state = 'executing'`);
    const exits = await finish([...nodes.values()]);
    const m = await measure(ctx, load.ids);
    return figures("1 kill -9 every " + everyMs / 1000 + " s", m, { drainMs: sinceFault, faults, started, notes: { nodes: names.length, executingBeforeStop, ...exits } });
  } finally {
    await killAll(everyNode);
  }
}

// ── 2. SIGTERM within the grace period, and past it ──────────────────────────────────────────

export async function sigtermWithinGrace(ctx: Ctx, _profile: Profile): Promise<Figures> {
  const started = Date.now();
  const q = quoteIdent(ctx.prefix);
  const ids = await enqueue(ctx, 20, () => ({ ms: 1_500 }));
  const node = new WorkNode(ctx, "term-a", { queues: "chaos:4", grace: "10s" });
  let drainer: WorkNode | undefined;
  try {
    await node.started();
    await waitUntil("4 executing", async () => (await count(ctx, `state = 'executing'`)) === 4, 20_000, 50);
    await sleep(200);
    const signalledAt = (await ctx.pool.query(`SELECT timezone('UTC', clock_timestamp()) AS t`)).rows[0].t as Date;
    const t0 = Date.now();
    const exit = await node.stop("SIGTERM", 30_000);
    const exitMs = exit.at - t0;
    const fetchedAfter = await count(ctx, `attempted_by[1] = 'term-a' AND attempted_at > $1`, [signalledAt]);
    const interrupted = (await ctx.pool.query(`SELECT count(*)::int AS n FROM ${q}.chaos_runs WHERE pid = $1 AND outcome IS DISTINCT FROM 'completed'`, [node.pid])).rows[0].n as number;
    const completedByIt = await count(ctx, `state = 'completed' AND attempted_by[1] = 'term-a'`);
    const executingAfterExit = await count(ctx, `state = 'executing'`);
    drainer = new WorkNode(ctx, "term-drain", { queues: "chaos:10" });
    const drainMs = await drain(ctx, 60_000, ids);
    await finish([drainer]);
    const m = await measure(ctx, ids);
    return figures("2a SIGTERM within grace", m, {
      drainMs,
      faults: 1,
      started,
      notes: { exitCode: exit.code, exitMs, grace: 10_000, fetchedAfterSignal: fetchedAfter, interruptedRuns: interrupted, completedByStoppedNode: completedByIt, executingAfterExit },
    });
  } finally {
    await killAll([node, ...(drainer ? [drainer] : [])]);
  }
}

export async function sigtermPastGrace(ctx: Ctx, _profile: Profile): Promise<Figures> {
  const started = Date.now();
  const ids = await enqueue(ctx, 6, () => ({ ms: 60_000 }));
  const node = new WorkNode(ctx, "grace-a", { queues: "chaos:4", grace: "1s" });
  let drainer: WorkNode | undefined;
  try {
    await node.started();
    await waitUntil("4 executing", async () => (await count(ctx, `state = 'executing'`)) === 4, 20_000, 50);
    const t0 = Date.now();
    const exit = await node.stop("SIGTERM", 30_000);
    const exitMs = exit.at - t0;
    const executingAfterExit = await count(ctx, `state = 'executing'`);
    const returned = await count(ctx, `state = 'available' AND attempt = 1 AND errors[1]->>'error' LIKE 'ShutdownError%'`);
    // Let them finish quickly now, to prove none is lost.
    await ctx.pool.query(`UPDATE ${quoteIdent(ctx.prefix)}.oban_jobs SET args = '{"ms": 0}' WHERE id = ANY($1::bigint[])`, [ids]);
    drainer = new WorkNode(ctx, "grace-drain", { queues: "chaos:10" });
    const drainMs = await drain(ctx, 60_000, ids);
    await finish([drainer]);
    const m = await measure(ctx, ids);
    return figures("2b SIGTERM past grace", m, { drainMs, faults: 1, started, notes: { exitCode: exit.code, exitMs, grace: 1_000, executingAfterExit, returnedWithShutdownError: returned } });
  } finally {
    await killAll([node, ...(drainer ? [drainer] : [])]);
  }
}

// ── 3. database restart under load ───────────────────────────────────────────────────────────

export async function databaseRestart(ctx: Ctx & { server: ChaosServer }, profile: Profile, mode: "fast" | "immediate"): Promise<Figures> {
  const started = Date.now();
  const full = profile === "full";
  const nodes = [new WorkNode(ctx, `db-${mode}-a`), new WorkNode(ctx, `db-${mode}-b`)];
  try {
    await Promise.all(nodes.map((n) => n.started()));
    const load = steadyEnqueue(ctx, 5, 100, () => ({ ms: 20 + Math.floor(Math.random() * 80) }));
    const restarts = full ? 3 : 2;
    const downMs = full ? 5_000 : 2_000;
    const outages: number[] = [];
    let lastFault = Date.now();
    for (let i = 0; i < restarts; i++) {
      await sleep(3_000);
      const t = Date.now();
      await ctx.server.stop(mode);
      await sleep(downMs);
      await ctx.server.start();
      outages.push(Date.now() - t);
      lastFault = Date.now();
    }
    await sleep(3_000);
    await load.stop();
    const stayedUp = nodes.every((n) => n.running);
    const drainMs = await drain(ctx, 90_000, load.ids);
    const sinceFault = drainMs === undefined ? undefined : Date.now() - lastFault;
    const executingBeforeStop = await count(ctx, `state = 'executing'`);
    const stuck = executingBeforeStop
      ? (await ctx.pool.query(`SELECT id, attempt, attempted_by, attempted_at FROM ${quoteIdent(ctx.prefix)}.oban_jobs WHERE state = 'executing' LIMIT 5`)).rows
      : [];
    const rescuedLive = await count(ctx, `(meta->>'rescued')::int > 0 AND id = ANY($1::bigint[])`, [load.ids]);
    const lifeline = nodes.flatMap((n) => n.logs.filter((l) => /lifeline: .*rescued \(/.test(l.message ?? "")).map((l) => l.message));
    const exits = await finish(nodes);
    const m = await measure(ctx, load.ids);

    return figures(`3 database restart (${mode})`, m, {
      drainMs: sinceFault,
      faults: restarts,
      started,
      notes: { stayedUp, outageMs: outages, insertsFailedDuringOutage: load.failed, executingBeforeStop, stuck, rescuedWhileNodesAlive: rescuedLive, lifeline, ...exits },
    });
  } finally {
    await killAll(nodes);
  }
}

// ── 4. database down at start ────────────────────────────────────────────────────────────────

export async function databaseDownAtStart(ctx: Ctx & { server: ChaosServer }, _profile: Profile): Promise<Figures & { cli: Record<string, { code: number | null; stderr: string; stdout: string }> }> {
  const started = Date.now();
  const password = decodeURIComponent(new URL(ctx.url).password);
  await ctx.server.stop("fast");
  const node = new WorkNode(ctx, "down-a");
  try {
    await waitUntil("two retries logged", () => node.logs.filter((l) => /retrying in/.test(l.message ?? "")).length >= 2 || !node.running, 20_000, 50);
    const cli: Record<string, { code: number | null; stderr: string; stdout: string }> = {};
    for (const [name, args] of Object.entries({
      migrate: ["migrate"],
      enqueue: ["enqueue", "Chaos.Run", "--args", "{}"],
      "enqueue --json": ["enqueue", "Chaos.Run", "--args", "{}", "--json"],
      inspect: ["inspect"],
    })) {
      const r = await runOban([...args, "--database-url", ctx.url, "--prefix", ctx.prefix], { timeoutMs: 60_000 });
      cli[name] = { code: r.code, stderr: r.stderr, stdout: r.stdout };
    }
    const upAt = Date.now();
    await ctx.server.start();
    await node.started(60_000);
    const startedAfterUpMs = Date.now() - upAt;
    const retries = node.logs.filter((l) => /retrying in/.test(l.message ?? "")).map((l) => l.message as string);
    const ids = await enqueue(ctx, 20);
    const drainMs = await drain(ctx, 30_000, ids);
    const exits = await finish([node]);
    const m = await measure(ctx, ids);
    const leaked = Object.values(cli).some((r) => (r.stderr + r.stdout).includes(password)) || node.logs.some((l) => JSON.stringify(l).includes(password));
    const f = figures("4 database down at start", m, {
      drainMs,
      faults: 1,
      started,
      notes: {
        retries: retries.length,
        retryDelays: retries.map((r) => /retrying in (\d+s)/.exec(r)?.[1]),
        startedAfterUpMs,
        cliExitCodes: Object.fromEntries(Object.entries(cli).map(([k, v]) => [k, v.code])),
        passwordLeaked: leaked,
        ...exits,
      },
    });
    return { ...f, cli };
  } finally {
    await killAll([node]);
    await ctx.server.start().catch(() => {});
  }
}

// ── 5. the LISTEN connection terminated every few seconds ────────────────────────────────────

export async function listenTerminated(ctx: Ctx, profile: Profile): Promise<Figures> {
  const started = Date.now();
  const full = profile === "full";
  const pollMs = 1_000;
  const timings = FAST.map((v, i) => (FAST[i - 1] === "--poll-interval" ? `${pollMs}ms` : v));
  const nodes = [new WorkNode(ctx, "listen-a", { timings }), new WorkNode(ctx, "listen-b", { timings })];
  try {
    await Promise.all(nodes.map((n) => n.started()));
    const load = steadyEnqueue(ctx, 1, 250);
    let terminations = 0;
    let lastFault = Date.now();
    const until = Date.now() + (full ? 60_000 : 15_000);
    while (Date.now() < until) {
      await sleep(2_000 + Math.random() * 1_000);
      const r = await ctx.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'oban-ts notifier %'`);
      terminations += r.rowCount ?? 0;
      lastFault = Date.now();
    }
    await sleep(1_000);
    await load.stop();
    const drainMs = await drain(ctx, 30_000, load.ids);
    const sinceFault = drainMs === undefined ? undefined : Date.now() - lastFault;
    const latencies = await pickupLatencies(ctx, load.ids);
    const exits = await finish(nodes);
    const m = await measure(ctx, load.ids);
    const reconnects = nodes.reduce((sum, n) => sum + n.logs.filter((l) => /LISTEN connection re-established/.test(l.message ?? "")).length, 0);
    return figures("5 LISTEN terminated", m, {
      drainMs: sinceFault,
      faults: terminations,
      started,
      notes: {
        pollIntervalMs: pollMs,
        pickupP50Ms: round(percentile(latencies, 50)),
        pickupP99Ms: round(percentile(latencies, 99)),
        pickupMaxMs: round(latencies[latencies.length - 1]),
        reconnects,
        ...exits,
      },
    });
  } finally {
    await killAll(nodes);
  }
}

// ── 6. eight producers competing for one queue ───────────────────────────────────────────────

export async function eightProducers(ctx: Ctx, profile: Profile): Promise<Figures> {
  const started = Date.now();
  const full = profile === "full";
  const nodes = Array.from({ length: 8 }, (_, i) => new WorkNode(ctx, `compete-${i}`, { queues: "chaos:4" }));
  try {
    await Promise.all(nodes.map((n) => n.started(60_000)));
    const ids = await enqueue(ctx, full ? 5_000 : 800, () => ({ ms: Math.floor(Math.random() * 20) }));
    const drainMs = await drain(ctx, 120_000, ids);
    const perNode = (await ctx.pool.query(`SELECT node, count(*)::int AS n FROM ${quoteIdent(ctx.prefix)}.chaos_runs GROUP BY node ORDER BY node`)).rows.map((r) => r.n);
    const exits = await finish(nodes);
    const m = await measure(ctx, ids);
    return figures("6 eight producers, one queue", m, { drainMs, faults: 0, started, notes: { runsPerNode: perNode, ...exits } });
  } finally {
    await killAll(nodes);
  }
}

// ── 7. enqueue inside application transactions, 30% rolled back, workers killed meanwhile ────

export async function transactionalEnqueue(ctx: Ctx, profile: Profile): Promise<Figures & { mismatch: Record<string, number> }> {
  const started = Date.now();
  const full = profile === "full";
  const q = quoteIdent(ctx.prefix);
  await ctx.pool.query(`CREATE TABLE IF NOT EXISTS ${q}.chaos_orders (id serial PRIMARY KEY, token text UNIQUE NOT NULL)`);
  const names = ["tx-0", "tx-1", "tx-2"];
  const nodes = new Map(names.map((name) => [name, new WorkNode(ctx, name)]));
  const everyNode = [...nodes.values()];
  const app = new pg.Pool({ connectionString: ctx.url, max: 4 });
  app.on("error", () => {});
  const oban = await Oban.start({ databaseUrl: ctx.url, prefix: ctx.prefix });
  try {
    await Promise.all(everyNode.map((n) => n.started()));
    const total = full ? 3_000 : 400;
    const committed: string[] = [];
    const committedIds: string[] = [];
    const rolledBack: string[] = [];
    let next = 0;
    let faults = 0;
    let lastFault = Date.now();
    let producing = true;
    const killer = (async () => {
      while (producing) {
        await sleep(3_000);
        if (!producing) break;
        const name = pick(names);
        await nodes.get(name)!.kill9();
        faults++;
        lastFault = Date.now();
        const fresh = new WorkNode(ctx, name);
        nodes.set(name, fresh);
        everyNode.push(fresh);
      }
    })();
    const pause = full ? 40 : 90; // ms between one app client's transactions: the run spans several kills
    const producer = async () => {
      for (;;) {
        await sleep(Math.random() * 2 * pause);
        if (++next > total) break;
        const token = randomUUID();
        const client = await app.connect();
        try {
          await client.query("BEGIN");
          await client.query(`INSERT INTO ${q}.chaos_orders (token) VALUES ($1)`, [token]);
          const job = await ChaosRun.enqueue({ token, ms: Math.floor(Math.random() * 50) }, { client, oban });
          await sleep(Math.random() * 20);
          if (Math.random() < 0.3) {
            await client.query("ROLLBACK");
            rolledBack.push(token);
          } else {
            await client.query("COMMIT");
            committed.push(token);
            committedIds.push(job.id);
          }
        } finally {
          client.release();
        }
      }
    };
    await Promise.all([producer(), producer(), producer(), producer()]);
    producing = false;
    await killer;
    const drainMs = await drain(ctx, 120_000, committedIds);
    const sinceFault = drainMs === undefined ? undefined : Date.now() - lastFault;
    const tokens = async (sql: string) => new Set((await ctx.pool.query(sql)).rows.map((r) => r.token as string));
    const jobTokens = await tokens(`SELECT args->>'token' AS token FROM ${q}.oban_jobs WHERE args ? 'token'`);
    const orderTokens = await tokens(`SELECT token FROM ${q}.chaos_orders`);
    const ranTokens = await tokens(`SELECT j.args->>'token' AS token FROM ${q}.chaos_runs r JOIN ${q}.oban_jobs j ON j.id = r.job_id WHERE j.args ? 'token'`);
    const mismatch = {
      committedWithoutJob: committed.filter((t) => !jobTokens.has(t)).length,
      jobWithoutCommit: [...jobTokens].filter((t) => !orderTokens.has(t)).length,
      rolledBackButJobExists: rolledBack.filter((t) => jobTokens.has(t)).length,
      rolledBackButRan: rolledBack.filter((t) => ranTokens.has(t)).length,
      ordersNotCommittedByUs: [...orderTokens].filter((t) => !committed.includes(t)).length,
    };
    const exits = await finish([...nodes.values()]);
    const m = await measure(ctx, committedIds);
    const f = figures("7 enqueue in transactions, 30% rolled back, kill -9", m, {
      drainMs: sinceFault,
      faults,
      started,
      notes: { transactions: total, committed: committed.length, rolledBack: rolledBack.length, ...mismatch, ...exits },
    });
    return { ...f, mismatch };
  } finally {
    await oban.stop().catch(() => {});
    await app.end().catch(() => {});
    await killAll(everyNode);
  }
}

// ── 8. args from 1 KB to 10 MB, and the size limit ───────────────────────────────────────────

const KB = 1024;
const MiB = 1024 * 1024;
const argsOf = (bytes: number) => ({ pad: "x".repeat(Math.max(0, bytes - 10)) }); // {"pad":"…"} is bytes long

export interface ArgsCase {
  via: string;
  bytes: number;
  limit: number;
  accepted: boolean;
  code?: string | number | null;
  message?: string;
  completed?: boolean;
  storedBytes?: number;
  ms: number;
}

export async function argsSizes(ctx: Ctx, profile: Profile): Promise<Figures & { cases: ArgsCase[] }> {
  const started = Date.now();
  const q = quoteIdent(ctx.prefix);
  const cases: ArgsCase[] = [];
  const ids: string[] = [];
  const before = await count(ctx, "true");
  // An instance whose pool cannot connect: an oversize rejection from it proves no SQL was attempted.
  const deaf = await Oban.start({ pool: new pg.Pool({ connectionString: "postgres://nobody@127.0.0.1:1/none", connectionTimeoutMillis: 1_000 }), prefix: ctx.prefix });
  const real = await Oban.start({ databaseUrl: ctx.url, prefix: ctx.prefix });
  const roomy = await Oban.start({ databaseUrl: ctx.url, prefix: ctx.prefix, maxArgsBytes: 16 * MiB });
  const tight = await Oban.start({ databaseUrl: ctx.url, prefix: ctx.prefix, maxArgsBytes: 512 });
  const node = new WorkNode(ctx, "args-a");
  try {
    const library = async (instance: Oban, label: string, limit: number, bytes: number) => {
      const t = Date.now();
      try {
        const job = await ChaosRun.enqueue(argsOf(bytes), { oban: instance });
        ids.push(job.id);
        cases.push({ via: label, bytes, limit, accepted: true, ms: Date.now() - t });
      } catch (error) {
        cases.push({ via: label, bytes, limit, accepted: false, code: (error as ObanError).code ?? (error as { code?: string }).code, message: String((error as Error).message).slice(0, 160), ms: Date.now() - t });
      }
    };
    const sizes = [1 * KB, 100 * KB, MiB - 64, MiB + 1, 2 * MiB, 10 * MiB];
    for (const bytes of sizes) await library(real, "library (default 1 MiB)", MiB, bytes);
    for (const bytes of [MiB + 1, 10 * MiB]) await library(deaf, "library, unreachable pool", MiB, bytes);
    for (const bytes of [1 * KB]) await library(tight, "library maxArgsBytes 512", 512, bytes);
    for (const bytes of profile === "full" ? [2 * MiB, 10 * MiB] : [10 * MiB]) await library(roomy, "library maxArgsBytes 16 MiB", 16 * MiB, bytes);
    // The CLI: stdin lines (an argv string is capped at 128 KiB by the kernel).
    for (const bytes of [1 * KB, 100 * KB, MiB + 1, 10 * MiB]) {
      const t = Date.now();
      const r = await runOban(["enqueue", "Chaos.Run", "--queue", "chaos", "--json", "--database-url", ctx.url, "--prefix", ctx.prefix], { input: JSON.stringify(argsOf(bytes)) + "\n", timeoutMs: 60_000 });
      let parsed: any;
      try {
        parsed = JSON.parse(r.stdout);
      } catch {
        parsed = undefined;
      }
      if (r.code === 0) ids.push(...parsed.jobs.map((j: { id: string }) => j.id));
      cases.push({ via: "cli stdin (no limit flag)", bytes, limit: MiB, accepted: r.code === 0, code: r.code, message: (parsed?.error?.message ?? r.stderr).slice(0, 160), ms: Date.now() - t });
    }
    await node.started();
    const drainMs = await drain(ctx, 120_000, ids);
    const stored = await ctx.pool.query(`SELECT id, state::text, octet_length(args::text) AS bytes FROM ${q}.oban_jobs WHERE id = ANY($1::bigint[])`, [ids]);
    const byId = new Map(stored.rows.map((r) => [String(r.id), r]));
    let k = 0;
    for (const c of cases) {
      if (!c.accepted) continue;
      const row = byId.get(ids[k++]);
      c.completed = row?.state === "completed";
      c.storedBytes = row ? Number(row.bytes) : undefined;
    }
    const exits = await finish([node]);
    const m = await measure(ctx, ids);
    const after = await count(ctx, "true");
    const f = figures("8 args 1 KB – 10 MB", m, {
      drainMs,
      faults: 0,
      started,
      notes: { rowsAddedBeyondAccepted: after - before - ids.length, accepted: cases.filter((c) => c.accepted).length, rejected: cases.filter((c) => !c.accepted).length, ...exits },
    });
    return { ...f, cases };
  } finally {
    await killAll([node]);
    for (const o of [deaf, real, roomy, tight]) await o.stop().catch(() => {});
  }
}

// ── 9. prune and rescue over many rows while workers run ─────────────────────────────────────

export async function maintenanceUnderLoad(ctx: Ctx, profile: Profile): Promise<Figures> {
  const started = Date.now();
  const full = profile === "full";
  const q = quoteIdent(ctx.prefix);
  const oldRows = full ? 1_000_000 : 100_000;
  const orphans = full ? 100_000 : 10_000;
  const t0 = Date.now();
  await ctx.pool.query(
    `INSERT INTO ${q}.oban_jobs (state, queue, worker, args, attempt, attempted_at, completed_at, attempted_by, inserted_at, scheduled_at)
     SELECT 'completed', 'old', 'Chaos.Old', '{}', 1, t, t, ARRAY['gone', 'gone'], t, t
       FROM (SELECT timezone('UTC', now()) - interval '2 days' - make_interval(secs => g) AS t FROM generate_series(1, $1::int) g) s`,
    [oldRows],
  );
  await ctx.pool.query(
    `INSERT INTO ${q}.oban_jobs (state, queue, worker, args, attempt, attempted_at, attempted_by, inserted_at, scheduled_at)
     SELECT 'executing', 'orphans', 'Chaos.Orphan', '{}', 1, t, ARRAY['ghost', gen_random_uuid()::text], t, t
       FROM (SELECT timezone('UTC', now()) - interval '2 hours' AS t FROM generate_series(1, $1::int)) s`,
    [orphans],
  );
  await ctx.pool.query(`ANALYZE ${q}.oban_jobs`);
  const seedMs = Date.now() - t0;
  const nodes = [new WorkNode(ctx, "maint-a", { extra: ["--no-leader"] }), new WorkNode(ctx, "maint-b", { extra: ["--no-leader"] })];
  const sampler = lockSampler(ctx);
  try {
    await Promise.all(nodes.map((n) => n.started()));
    const windowMs = full ? 20_000 : 8_000;
    // Baseline: the same steady stream with no maintenance running.
    let load = steadyEnqueue(ctx, 2, 100);
    await sleep(windowMs);
    await load.stop();
    const baselineIds = load.ids;
    sampler.reset();
    await sleep(500);
    const baselineLocks = sampler.snapshot();
    // Maintenance: prune (default --limit 10000 per run) until nothing is left, then rescue (--limit 5000).
    load = steadyEnqueue(ctx, 2, 100);
    sampler.reset();
    const commands: { cmd: string; ms: number; total: number; code: number | null }[] = [];
    const runUntilEmpty = async (cmd: string, args: string[], total: (out: any) => number, maxRuns: number) => {
      for (let i = 0; i < maxRuns; i++) {
        const r = await runOban([cmd, ...args, "--json", "--database-url", ctx.url, "--prefix", ctx.prefix], { timeoutMs: 120_000 });
        const n = r.code === 0 ? total(JSON.parse(r.stdout)) : -1;
        commands.push({ cmd, ms: r.ms, total: n, code: r.code });
        if (n <= 0) return;
      }
    };
    const mStart = Date.now();
    await runUntilEmpty("prune", ["--max-age", "1d"], (o) => o.total, Math.ceil(oldRows / 10_000) + 2);
    await runUntilEmpty("rescue", ["--after", "60m"], (o) => o.rescued.reduce((s: number, r: { count: number }) => s + r.count, 0), Math.ceil(orphans / 5_000) + 2);
    const maintenanceMs = Date.now() - mStart;
    // At least a full window of load under maintenance, for comparable latency samples.
    if (Date.now() - mStart < windowMs) await sleep(windowMs - (Date.now() - mStart));
    await load.stop();
    const duringIds = load.ids;
    const duringLocks = sampler.snapshot();
    const ids = [...baselineIds, ...duringIds];
    const drainMs = await drain(ctx, 30_000, ids);
    const base = await pickupLatencies(ctx, baselineIds);
    const during = await pickupLatencies(ctx, duringIds);
    const left = (await ctx.pool.query(`SELECT queue, state::text, count(*)::int AS n FROM ${q}.oban_jobs WHERE queue IN ('old', 'orphans') GROUP BY 1, 2`)).rows;
    const exits = await finish(nodes);
    const m = await measure(ctx, ids);
    const pruned = commands.filter((c) => c.cmd === "prune").reduce((s, c) => s + Math.max(0, c.total), 0);
    const rescued = commands.filter((c) => c.cmd === "rescue").reduce((s, c) => s + Math.max(0, c.total), 0);
    return figures(`9 prune ${oldRows / 1000}k + rescue ${orphans / 1000}k under load`, m, {
      drainMs,
      faults: 0,
      started,
      notes: {
        seedMs,
        pruned,
        rescued,
        leftOld: left,
        commandRuns: commands.length,
        failedCommands: commands.filter((c) => c.code !== 0).length,
        longestCommandMs: Math.max(...commands.map((c) => c.ms)),
        maintenanceMs,
        pickupBaselineP50Ms: round(percentile(base, 50)),
        pickupBaselineP99Ms: round(percentile(base, 99)),
        pickupDuringP50Ms: round(percentile(during, 50)),
        pickupDuringP99Ms: round(percentile(during, 99)),
        baselineMaxLockWaitMs: baselineLocks.maxLockWaitMs,
        maxLockWaitMs: duringLocks.maxLockWaitMs,
        lockWaitSamples: duringLocks.waitingSamples,
        longestMaintenanceXactMs: duringLocks.maxMaintenanceXactMs,
        maxLocksHeldByMaintenance: duringLocks.maxMaintenanceLocks,
        samples: duringLocks.samples,
        ...exits,
      },
    });
  } finally {
    await sampler.stop();
    await killAll(nodes);
  }
}

/** Samples pg_stat_activity / pg_locks every 100 ms: the longest lock wait seen, and the maintenance commands' transactions. */
function lockSampler(ctx: Ctx) {
  let stopped = false;
  let state = { maxLockWaitMs: 0, waitingSamples: 0, maxMaintenanceXactMs: 0, maxMaintenanceLocks: 0, samples: 0 };
  const client = new pg.Client({ connectionString: ctx.url, application_name: "chaos sampler" });
  client.on("error", () => {});
  const done = (async () => {
    await client.connect();
    while (!stopped) {
      const r = await client.query(
        `SELECT a.application_name, a.wait_event_type,
                extract(epoch FROM clock_timestamp() - a.state_change) * 1000 AS waiting_ms,
                extract(epoch FROM clock_timestamp() - a.xact_start) * 1000 AS xact_ms,
                (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid AND l.granted)::int AS locks
           FROM pg_stat_activity a
          WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.state <> 'idle'`,
      );
      state.samples++;
      let waiting = false;
      for (const row of r.rows) {
        if (row.wait_event_type === "Lock") {
          waiting = true;
          state.maxLockWaitMs = Math.max(state.maxLockWaitMs, Number(row.waiting_ms));
        }
        if (/^oban-ts (prune|rescue)/.test(row.application_name ?? "") && row.xact_ms !== null) {
          state.maxMaintenanceXactMs = Math.max(state.maxMaintenanceXactMs, Number(row.xact_ms));
          state.maxMaintenanceLocks = Math.max(state.maxMaintenanceLocks, row.locks);
        }
      }
      if (waiting) state.waitingSamples++;
      await sleep(100);
    }
  })().catch(() => {});
  return {
    reset() {
      state = { maxLockWaitMs: 0, waitingSamples: 0, maxMaintenanceXactMs: 0, maxMaintenanceLocks: 0, samples: 0 };
    },
    snapshot() {
      return { ...state, maxLockWaitMs: round(state.maxLockWaitMs)!, maxMaintenanceXactMs: round(state.maxMaintenanceXactMs)! };
    },
    async stop() {
      stopped = true;
      await done;
      await client.end().catch(() => {});
    },
  };
}

// ── 10. four `oban migrate` at once on an empty database ────────────────────────────────────

export async function concurrentMigrate(ctx: Ctx, _profile: Profile): Promise<Figures & { runs: { code: number | null; stdout: string; stderr: string }[] }> {
  const started = Date.now();
  const name = `chaos_migrate_${randomBytes(4).toString("hex")}`;
  await ctx.pool.query(`CREATE DATABASE ${name}`);
  const url = new URL(ctx.url);
  url.pathname = `/${name}`;
  try {
    const runs = await Promise.all(Array.from({ length: 4 }, () => runOban(["migrate", "--json", "--database-url", url.toString()], { timeoutMs: 90_000 })));
    const check = await runOban(["migrate", "--check", "--database-url", url.toString()]);
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    let tables: string[];
    try {
      tables = (await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.tablename);
    } finally {
      await db.end();
    }
    const applied = runs.map((r) => {
      try {
        return (JSON.parse(r.stdout).applied ?? []) as number[];
      } catch {
        return null;
      }
    });
    return {
      scenario: "10 four migrate at once",
      jobs: 0,
      lost: 0,
      duplicates: 0,
      inFlightAtFaults: 0,
      overlaps: 0,
      executingAtEnd: 0,
      drainMs: null,
      faults: 0,
      seconds: round((Date.now() - started) / 1000, 1)!,
      notes: { exitCodes: runs.map((r) => r.code), applied, checkExit: check.code, tables, stderr: runs.map((r) => r.stderr.trim()).filter(Boolean) },
      runs,
    };
  } finally {
    await retryDb(() => ctx.pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), 10_000).catch(() => {});
  }
}

export { openCtx, ChaosServer };
