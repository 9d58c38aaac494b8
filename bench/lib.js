// Shared helpers for the benchmark systems and the orchestrator.
import { performance } from "node:perf_hooks";
import pg from "pg";

export const now = () => performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Quote an SQL identifier (schema names come from our own constants, but be safe). */
export const ident = (s) => '"' + String(s).replace(/"/g, '""') + '"';

/** Run `fn(i)` for i in [0, count) with at most `inFlight` calls pending. Returns elapsed ms. */
export async function runInFlight(count, inFlight, fn) {
  let next = 0;
  const t0 = now();
  async function lane() {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
  return now() - t0;
}

/**
 * Poll `pred` (async, returns truthy when done) every `everyMs` until it holds or `timeoutMs` passes.
 * Returns true if it held, false on timeout.
 */
export async function waitUntil(pred, { timeoutMs, everyMs = 10, deadline } = {}) {
  const end = deadline ?? now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (now() >= end) return false;
    await sleep(everyMs);
  }
}

/**
 * Enqueue `count` jobs, one every `intervalMs`, and measure the time from `enqueue(i)` returning to the
 * handler for job i starting. `started` is a Map(i -> performance.now()) filled by the handler.
 * Returns the list of latencies (ms) for the jobs that started before `timeoutMs` after the last enqueue.
 */
export async function measureLatency({ count, intervalMs, enqueue, started, timeoutMs = 10_000 }) {
  const returned = new Array(count);
  const t0 = now();
  for (let i = 0; i < count; i++) {
    // Schedule on a fixed grid so slow enqueues don't stretch the arrival rate.
    const due = t0 + i * intervalMs;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    await enqueue(i);
    returned[i] = now();
  }
  await waitUntil(() => started.size >= count, { timeoutMs, everyMs: 5 });
  const samples = [];
  for (let i = 0; i < count; i++) {
    if (started.has(i)) samples.push(started.get(i) - returned[i]);
  }
  return { samples, missing: count - samples.length };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function summarizeLatency(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

export function median(values) {
  const v = values.filter((x) => typeof x === "number" && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** A one-off client: connect, run fn(client), close. */
export async function withClient(databaseUrl, fn) {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "oban-ts-bench" });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drop and recreate a schema (each system gets its own). */
export async function recreateSchema(databaseUrl, schema, { create = true } = {}) {
  await withClient(databaseUrl, async (c) => {
    await c.query("SET client_min_messages TO warning");
    await c.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    if (create) await c.query(`CREATE SCHEMA ${ident(schema)}`);
  });
}

/** Insert `count` rows through `insertChunk(from, to)` in chunks of `chunk`. */
export async function inChunks(count, chunk, insertChunk) {
  for (let from = 0; from < count; from += chunk) {
    await insertChunk(from, Math.min(count, from + chunk));
  }
}

export const range = (from, to) => Array.from({ length: to - from }, (_, k) => from + k);
