import type pg from "pg";
import { run } from "../db/sql.js";
import { invalid } from "../errors.js";
import { withTransaction, type Queryable } from "../db/pool.js";
import { channel, type Job, type JobState } from "./job.js";
import {
  DEFAULT_MAX_ARGS_BYTES, checkJsonObject, checkMaxAttempts, checkPriority, checkQueue,
  checkScheduleIn, checkScheduledAt, checkWorkerName, normaliseTags,
} from "./validate.js";

export interface InsertOptions {
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  tags?: string[];
  meta?: Record<string, unknown>;
  /** Absolute time; a future time makes the job `scheduled`. */
  scheduledAt?: Date | string;
  /** Seconds from the database's now. */
  scheduleIn?: number;
}

export interface JobSpec extends InsertOptions {
  worker: string;
  args: Record<string, unknown>;
}

/** A validated, serialised job ready for the insert statement. */
export interface PreparedJob {
  worker: string;
  queue: string;
  args: Record<string, unknown>;
  argsJson: string;
  meta: Record<string, unknown>;
  metaJson: string;
  tags: string[];
  priority: number;
  maxAttempts: number;
  scheduledAt: Date | null;
  scheduleIn: number | null;
}

export const DEFAULTS = { queue: "default", priority: 0, maxAttempts: 20 } as const;

/** Rows per statement: large enough to amortise round trips, small enough to bound memory. */
export const INSERT_CHUNK = 5_000;
/** ...and at most about this much args JSON per statement (a parameter is capped at 1 GB). */
export const INSERT_CHUNK_BYTES = 32 * 1024 * 1024;

/** Splits jobs into statement-sized chunks, by count and by args size. */
export function chunkJobs(jobs: PreparedJob[]): PreparedJob[][] {
  const chunks: PreparedJob[][] = [];
  let current: PreparedJob[] = [];
  let bytes = 0;
  for (const job of jobs) {
    // string length counts UTF-16 units: close enough to bytes for a limit this far below 1 GB
    if (current.length > 0 && (current.length >= INSERT_CHUNK || bytes + job.argsJson.length > INSERT_CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(job);
    bytes += job.argsJson.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function prepareJob(spec: JobSpec, where = "", maxArgsBytes = DEFAULT_MAX_ARGS_BYTES): PreparedJob {
  const at = (field: string) => (where ? `${where} ${field}` : field);
  if (spec.scheduledAt !== undefined && spec.scheduleIn !== undefined) {
    throw invalid(at("scheduledAt"), "give either scheduledAt or scheduleIn, not both");
  }
  const args = spec.args;
  const argsJson = checkJsonObject(args, at("args"), maxArgsBytes);
  const meta = spec.meta ?? {};
  const metaJson = checkJsonObject(meta, at("meta"));
  return {
    worker: checkWorkerName(spec.worker, at("worker")),
    queue: checkQueue(spec.queue ?? DEFAULTS.queue, at("queue")),
    args,
    argsJson,
    meta,
    metaJson,
    tags: normaliseTags(spec.tags, at("tags")),
    priority: checkPriority(spec.priority ?? DEFAULTS.priority, at("priority")),
    maxAttempts: checkMaxAttempts(spec.maxAttempts ?? DEFAULTS.maxAttempts, at("maxAttempts")),
    scheduledAt: spec.scheduledAt === undefined ? null : checkScheduledAt(spec.scheduledAt, at("scheduledAt")),
    scheduleIn: spec.scheduleIn === undefined ? null : checkScheduleIn(spec.scheduleIn, at("scheduleIn")),
  };
}

/** One INSERT statement for the whole list (callers chunk). */
async function insertChunk(db: Queryable, prefix: string, jobs: PreparedJob[]): Promise<Job[]> {
  const [{ ids, now }] = await run<{ ids: string[]; now: Date }>(db, prefix, "job_insert", {
    workers: jobs.map((j) => j.worker),
    queues: jobs.map((j) => j.queue),
    args: `[${jobs.map((j) => j.argsJson).join(",")}]`,
    metas: jobs.map((j) => j.metaJson),
    // Each job's tags as a PostgreSQL array literal, cast per row: cheaper than a subquery per row.
    tags: jobs.map((j) => arrayLiteral(j.tags)),
    priorities: jobs.map((j) => j.priority),
    max_attempts: jobs.map((j) => j.maxAttempts),
    // Written as ISO strings: a `timestamp without time zone` ignores the zone, so this is UTC.
    scheduled_at: jobs.map((j) => (j.scheduledAt ? j.scheduledAt.toISOString() : null)),
    schedule_in: jobs.map((j) => j.scheduleIn),
    channel: channel(prefix, "insert"),
  });
  // The same rules as the statement: run at the explicit time, or now + scheduleIn; later than now
  // means scheduled. Timestamps are microseconds in the database, milliseconds here.
  return jobs.map((job, i) => {
    const scheduledAt = job.scheduledAt ?? new Date(now.getTime() + (job.scheduleIn ?? 0) * 1000);
    return {
      id: ids[i],
      state: scheduledAt.getTime() > now.getTime() ? "scheduled" : "available",
      queue: job.queue,
      worker: job.worker,
      args: job.args,
      meta: job.meta,
      tags: job.tags,
      errors: [],
      attempt: 0,
      maxAttempts: job.maxAttempts,
      priority: job.priority,
      attemptedBy: [],
      insertedAt: now,
      scheduledAt,
      attemptedAt: null,
      completedAt: null,
      discardedAt: null,
      cancelledAt: null,
    };
  });
}

/**
 * Inserts jobs, one statement per chunk. Given a pool, several chunks share one transaction so a
 * batch is all or nothing; given a client, the caller's transaction (if any) decides.
 */
export async function insertJobs(db: pg.Pool | Queryable, prefix: string, jobs: PreparedJob[]): Promise<Job[]> {
  const chunks = chunkJobs(jobs);
  if (chunks.length === 0) return [];
  if (chunks.length === 1) return insertChunk(db, prefix, chunks[0]);
  const inChunks = async (client: Queryable) => {
    const out: Job[] = [];
    for (const chunk of chunks) out.push(...(await insertChunk(client, prefix, chunk)));
    return out;
  };
  return isPool(db) ? withTransaction(db, inChunks) : inChunks(db);
}

export function isPool(db: unknown): db is pg.Pool {
  return typeof (db as pg.Pool).connect === "function" && typeof (db as pg.Pool).totalCount === "number";
}

/** `{"a","b \\"c\\""}`: a text[] literal with every element quoted and escaped. */
export function arrayLiteral(items: string[]): string {
  return `{${items.map((item) => `"${item.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(",")}}`;
}
