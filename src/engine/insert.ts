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

interface InsertedRow {
  /** The new ids in input order, comma-separated. */
  ids: string;
  now: Date;
}

/** Sends one INSERT statement for a chunk, already serialised by rowsJson. */
async function sendChunk(db: Queryable, prefix: string, rows: string): Promise<InsertedRow> {
  const [row] = await run<InsertedRow>(db, prefix, "job_insert", { rows, channel: channel(prefix, "insert") });
  return row;
}

/**
 * The inserted jobs, from the statement's ids and clock, by the same rules as the statement: run at
 * the explicit time, or now + scheduleIn; later than now means scheduled. Timestamps are
 * microseconds in the database, milliseconds here.
 */
function insertedJobs(jobs: PreparedJob[], row: InsertedRow): Job[] {
  const ids = row.ids === "" ? [] : row.ids.split(",");
  const now = row.now;
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
  if (chunks.length === 1) return insertedJobs(chunks[0], await sendChunk(db, prefix, rowsJson(chunks[0])));
  // The client's work overlaps the server's: the next chunk is serialised while one runs, and a
  // chunk's results are turned into jobs while the next one runs.
  const inChunks = async (client: Queryable) => {
    const out: Job[] = [];
    let pending = sendChunk(client, prefix, rowsJson(chunks[0]));
    for (let k = 0; k < chunks.length; k++) {
      const next = k + 1 < chunks.length ? rowsJson(chunks[k + 1]) : undefined;
      const row = await pending;
      if (next !== undefined) pending = sendChunk(client, prefix, next);
      for (const job of insertedJobs(chunks[k], row)) out.push(job);
    }
    return out;
  };
  return isPool(db) ? withTransaction(db, inChunks) : inChunks(db);
}

export function isPool(db: unknown): db is pg.Pool {
  return typeof (db as pg.Pool).connect === "function" && typeof (db as pg.Pool).totalCount === "number";
}

/** The statement's input: one JSON array with an object per job (see job_insert.sql). */
function rowsJson(jobs: PreparedJob[]): string {
  let out = "[";
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i];
    // Written as ISO strings: a `timestamp without time zone` ignores the zone, so this is UTC.
    const at = j.scheduledAt ? `"${j.scheduledAt.toISOString()}"` : "null";
    out += `${i === 0 ? "" : ","}{"worker":${JSON.stringify(j.worker)},"queue":${JSON.stringify(j.queue)},"args":${j.argsJson},"meta":${j.metaJson},"tags":${JSON.stringify(j.tags)},"priority":${j.priority},"max_attempts":${j.maxAttempts},"scheduled_at":${at},"schedule_in":${j.scheduleIn ?? "null"}}`;
  }
  return out + "]";
}
