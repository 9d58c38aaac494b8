// Worker module for the fault suite (`npm run chaos`, test/chaos-ci*.test.ts). Every execution of
// Chaos.Run writes one row to <CHAOS_PREFIX>.chaos_runs through its own connection (CHAOS_DATABASE_URL):
// (run_id, job_id, attempt, node, pid, started_at) when perform starts, then ended_at and outcome
// ('completed' | 'aborted') when it ends. Writes retry through database restarts and are
// idempotent (keyed by run_id), so the table counts executions, not write attempts.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { defineWorker } from "oban-ts";

const url = process.env.CHAOS_DATABASE_URL;
const prefix = process.env.CHAOS_PREFIX;
if (!url || !prefix || !/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error("chaos/worker.js needs CHAOS_DATABASE_URL and CHAOS_PREFIX");
const table = `"${prefix}".chaos_runs`;
const node = process.env.CHAOS_NODE ?? process.env.OBAN_NODE ?? "?";

const pool = new pg.Pool({ connectionString: url, max: 4, allowExitOnIdle: true, idleTimeoutMillis: 2_000, connectionTimeoutMillis: 5_000, application_name: "chaos worker" });
pool.on("error", () => {});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries connection-level failures (a database restart) for up to 60 s; a real SQL error throws. */
async function write(text, values) {
  const deadline = Date.now() + 60_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await pool.query(text, values);
    } catch (error) {
      const code = String(error?.code ?? "");
      const connection = /^(08|57P)/.test(code) || /ECONN|EPIPE|ETIMEDOUT|terminat|timeout|not queryable|Connection/i.test(`${code} ${error?.message}`);
      if (!connection || Date.now() > deadline) throw error;
      await sleep(Math.min(1_000, 50 * 2 ** attempt));
    }
  }
}

export const Run = defineWorker({
  name: "Chaos.Run",
  queue: "chaos",
  maxAttempts: 20,
  backoff: () => 1,
  async perform(job, { signal }) {
    const run = randomUUID();
    await write(
      `INSERT INTO ${table} (run_id, job_id, attempt, node, pid, started_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp()) ON CONFLICT DO NOTHING`,
      [run, job.id, job.attempt, job.attemptedBy?.[0] ?? node, process.pid],
    );
    const ms = Number(job.args.ms ?? 0);
    if (ms > 0) {
      const aborted = await new Promise((resolve) => {
        if (signal.aborted) return resolve(true);
        const timer = setTimeout(() => resolve(false), ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(true);
        }, { once: true });
      });
      if (aborted) {
        await write(`UPDATE ${table} SET ended_at = clock_timestamp(), outcome = 'aborted' WHERE run_id = $1`, [run]).catch(() => {});
        throw signal.reason ?? new Error("aborted");
      }
    }
    await write(`UPDATE ${table} SET ended_at = clock_timestamp(), outcome = 'completed' WHERE run_id = $1`, [run]);
  },
});
