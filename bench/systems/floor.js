// The raw-SQL floor: the insert, fetch and ack statements an Oban-style queue needs, sent by a bare
// `pg` loop with no framework, against a private copy of the Oban `oban_jobs` table (all its indexes).
import pg from "pg";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { ident, inChunks, measureLatency, now, range, recreateSchema, runInFlight, waitUntil } from "../lib.js";

export const name = "floor";
export const description = "raw SQL via bare pg (no framework)";

const SCHEMA = "bench_floor";
const S = ident(SCHEMA);
const QUEUE = "default";
const WORKER = "Bench.Noop";
const NODE = ["bench", "floor"];

const grid = [];
for (const conns of [1, 2]) for (const batch of [10, 100, 1000]) grid.push({ label: `batch ${batch} x${conns} conn`, batch, conns });

export const variants = {
  enqueueOne: [{ label: "10 in flight (pool 10)" }],
  enqueueBulk: grid,
  process: grid,
  latency: [{ label: "LISTEN/NOTIFY, batch 10 x1 conn", batch: 10 }],
};

const SQL = {
  insertOne: `INSERT INTO ${S}.oban_jobs (state, queue, worker, args, meta, tags, errors)
              VALUES ('available', $1, $2, $3, '{}', '{}', '{}') RETURNING id`,
  insertMany: `INSERT INTO ${S}.oban_jobs (state, queue, worker, args, meta, tags, errors)
               SELECT 'available', $1, $2, a, '{}', '{}', '{}' FROM unnest($3::jsonb[]) AS a`,
  insertManyNotify: `WITH i AS (
                       INSERT INTO ${S}.oban_jobs (state, queue, worker, args, meta, tags, errors)
                       SELECT 'available', $1, $2, a, '{}', '{}', '{}' FROM unnest($3::jsonb[]) AS a RETURNING 1)
                     SELECT pg_notify('bench_floor_insert', $1) FROM (SELECT count(*) FROM i) AS n`,
  fetch: `WITH c AS MATERIALIZED (
            SELECT id FROM ${S}.oban_jobs
            WHERE state = 'available' AND queue = $1 AND attempt < max_attempts
            ORDER BY priority, scheduled_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED)
          UPDATE ${S}.oban_jobs AS j
          SET state = 'executing', attempt = j.attempt + 1,
              attempted_at = timezone('UTC', now()), attempted_by = $3
          FROM c WHERE j.id = c.id
          RETURNING j.id, j.state, j.queue, j.worker, j.args, j.meta, j.tags, j.attempt, j.max_attempts,
                    j.priority, j.attempted_by, j.inserted_at, j.scheduled_at, j.attempted_at`,
  ack: `UPDATE ${S}.oban_jobs AS j
        SET state = 'completed', completed_at = timezone('UTC', now())
        FROM unnest($1::bigint[]) AS a(id) WHERE j.id = a.id`,
};

let ctx;
let pool;

export async function setup(c) {
  ctx = c;
  await recreateSchema(ctx.databaseUrl, SCHEMA);
  pool = new pg.Pool({ connectionString: ctx.databaseUrl, max: 10, application_name: "bench-floor" });
  // The table every Oban shares (Elixir v14 shape, with all six of its indexes), from the same
  // fixture the tests use for an Elixir install: the floor pays the same index upkeep as ours.
  const ddl = readFileSync(new URL("../../test/fixtures/elixir_v14.sql", import.meta.url), "utf8");
  await pool.query(ddl.replaceAll("{prefix}", S));
  const require = createRequire(import.meta.url);
  return { version: `pg ${require("pg/package.json").version}` };
}

export async function reset() {
  await pool.query(`TRUNCATE ${S}.oban_jobs RESTART IDENTITY`);
  await pool.query(`VACUUM ANALYZE ${S}.oban_jobs`);
}

const argsOf = (i) => JSON.stringify({ i });

export async function enqueueOne(count, inFlight) {
  const ms = await runInFlight(count, inFlight, (i) => pool.query(SQL.insertOne, [QUEUE, WORKER, argsOf(i)]));
  return { ms };
}

async function insertBulk(count, batch, conns) {
  const clients = await Promise.all(range(0, conns).map(() => pool.connect()));
  try {
    let next = 0;
    const t0 = now();
    await Promise.all(
      clients.map(async (client) => {
        while (next < count) {
          const from = next;
          const to = Math.min(count, from + batch);
          next = to;
          await client.query(SQL.insertMany, [QUEUE, WORKER, range(from, to).map(argsOf)]);
        }
      }),
    );
    return now() - t0;
  } finally {
    for (const c of clients) c.release();
  }
}

export async function enqueueBulk(count, variant) {
  return { ms: await insertBulk(count, variant.batch, variant.conns) };
}

export async function preinsert(count) {
  await insertBulk(count, 5_000, 1);
  await pool.query(`ANALYZE ${S}.oban_jobs`);
}

const perform = async (_job) => {};

export async function process(count, variant, { timeoutMs }) {
  await preinsert(count);
  const clients = await Promise.all(range(0, variant.conns).map(() => pool.connect()));
  let completed = 0;
  const deadline = now() + timeoutMs;
  try {
    const t0 = now();
    await Promise.all(
      clients.map(async (client) => {
        while (completed < count && now() < deadline) {
          const { rows } = await client.query(SQL.fetch, [QUEUE, variant.batch, NODE]);
          if (rows.length === 0) break;
          await Promise.all(rows.map(perform));
          await client.query(SQL.ack, [rows.map((r) => r.id)]);
          completed += rows.length;
        }
      }),
    );
    return { ms: now() - t0, completed };
  } finally {
    for (const c of clients) c.release();
  }
}

export async function latency(count, intervalMs, variant, { timeoutMs }) {
  const started = new Map();
  const listener = await pool.connect();
  const worker = await pool.connect();
  let busy = false;
  let again = false;
  let stopped = false;
  const drain = async () => {
    if (busy) return void (again = true);
    busy = true;
    try {
      do {
        again = false;
        for (;;) {
          const { rows } = await worker.query(SQL.fetch, [QUEUE, variant.batch, NODE]);
          if (rows.length === 0) break;
          const t = now();
          for (const r of rows) started.set(r.args.i, t);
          await Promise.all(rows.map(perform));
          await worker.query(SQL.ack, [rows.map((r) => r.id)]);
        }
      } while (again && !stopped);
    } finally {
      busy = false;
    }
  };
  const onNotify = () => void drain().catch((e) => console.error("floor drain:", e.message));
  listener.on("notification", onNotify);
  await listener.query("LISTEN bench_floor_insert");
  try {
    return await measureLatency({
      count,
      intervalMs,
      started,
      timeoutMs,
      enqueue: (i) => pool.query(SQL.insertManyNotify, [QUEUE, WORKER, [argsOf(i)]]),
    });
  } finally {
    stopped = true;
    listener.off("notification", onNotify);
    await listener.query("UNLISTEN *");
    await waitUntil(() => !busy, { timeoutMs: 5_000 });
    listener.release();
    worker.release();
  }
}

export async function teardown() {
  await pool?.end();
  pool = undefined;
}
