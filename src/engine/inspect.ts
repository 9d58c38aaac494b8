import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { ObanError } from "../errors.js";
import { jobFromRow, type Job, type JobRow, type JobState } from "./job.js";
import { getJob } from "./jobs.js";
import { checkJobId, checkLimit, checkState } from "./control.js";
import { checkText } from "./validate.js";

/** Read-only views for operators (oban inspect): jobs, per-queue counts, producers, leases. */

export const LIST_LIMIT_DEFAULT = 50;
export const LIST_LIMIT_MAX = 1000;

export interface ListOptions {
  state?: JobState;
  queue?: string;
  worker?: string;
  /** Default 50, at most 1000. */
  limit?: number;
  /** By id: newest first (default) or oldest first. */
  order?: "newest" | "oldest";
}

export async function listJobs(db: Queryable, prefix: string, options: ListOptions = {}): Promise<Job[]> {
  const limit = options.limit === undefined ? LIST_LIMIT_DEFAULT : checkLimit(options.limit, "limit", LIST_LIMIT_MAX);
  const order = options.order ?? "newest";
  if (order !== "newest" && order !== "oldest") throw new ObanError("invalid_input", `order: must be newest or oldest (got ${String(order)})`, { field: "order" });
  const text = (value: string | undefined, field: string) => {
    if (value === undefined) return null;
    checkText(value, field);
    return value;
  };
  const rows = await run<JobRow>(db, prefix, `job_list_${order}`, {
    state: options.state === undefined ? null : checkState(options.state),
    queue: text(options.queue, "queue"),
    worker: text(options.worker, "worker"),
    limit,
  });
  return rows.map((row) => jobFromRow(row));
}

/** One job with its errors; ObanError not_found when there is no such job. */
export async function inspectJob(db: Queryable, prefix: string, id: string | number | bigint): Promise<Job> {
  const checked = checkJobId(id);
  const job = await getJob(db, prefix, checked);
  if (!job) throw new ObanError("not_found", `no job with id ${checked} in schema "${prefix}"`, { field: "id" });
  return job;
}

export interface QueueCount {
  queue: string;
  /** Jobs per state label; only states that have jobs appear. */
  counts: Partial<Record<JobState, number>> & Record<string, number>;
  total: number;
  /** Seconds since the oldest fetchable available job was due (DB clock); null with none. */
  lag: number | null;
  /** Available rows with attempt >= max_attempts: no fetch takes them (COMPAT §15 #1). */
  stuckAttempts: number;
}

interface CountRow {
  queue: string;
  state: string;
  count: string;
  lag: number | null;
  stuck: string;
}

/** Per queue: counts by state label, lag and stuck rows. Queues are sorted by name. */
export async function queueCounts(db: Queryable, prefix: string): Promise<QueueCount[]> {
  const rows = await run<CountRow>(db, prefix, "queue_count");
  const byQueue = new Map<string, QueueCount>();
  for (const row of rows) {
    let entry = byQueue.get(row.queue);
    if (!entry) {
      entry = { queue: row.queue, counts: {}, total: 0, lag: null, stuckAttempts: 0 };
      byQueue.set(row.queue, entry);
    }
    const count = Number(row.count);
    entry.counts[row.state] = count;
    entry.total += count;
    entry.stuckAttempts += Number(row.stuck);
    if (row.lag !== null) entry.lag = Math.max(entry.lag ?? 0, row.lag);
  }
  return [...byQueue.values()];
}

export interface ProducerInfo {
  uuid: string;
  name: string;
  node: string;
  queue: string;
  meta: Record<string, unknown>;
  startedAt: Date;
  updatedAt: Date;
  /** Seconds since the last heartbeat, by the database clock. */
  heartbeatAge: number;
}

/** Every oban_producers row (port and Oban.py producers alike). */
export async function listProducers(db: Queryable, prefix: string): Promise<ProducerInfo[]> {
  const rows = await run<{
    uuid: string; name: string; node: string; queue: string; meta: Record<string, unknown> | null;
    started_at: Date; updated_at: Date; heartbeat_age: number;
  }>(db, prefix, "producer_list");
  return rows.map((r) => ({
    uuid: r.uuid,
    name: r.name,
    node: r.node,
    queue: r.queue,
    meta: r.meta ?? {},
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    heartbeatAge: r.heartbeat_age,
  }));
}

/** The port's leader key in oban_peers by default (never Elixir's "Oban", COMPAT §11). */
export const DEFAULT_LEADER_NAME = "Oban.ts";

export interface PeerInfo {
  name: string;
  node: string;
  startedAt: Date;
  expiresAt: Date;
  expired: boolean;
  /** Seconds until expiry (negative once expired), by the database clock. */
  expiresIn: number;
  /** The row holds the lease name we asked about. */
  ours: boolean;
}

export interface LeaderInfo {
  /** The lease name we asked about. */
  name: string;
  /** The node holding that lease now (an unexpired row), or null. */
  leader: string | null;
  /** Every oban_peers row, ours and other implementations'. */
  peers: PeerInfo[];
}

export async function leaderInfo(db: Queryable, prefix: string, name = DEFAULT_LEADER_NAME): Promise<LeaderInfo> {
  checkText(name, "name");
  const rows = await run<{ name: string; node: string; started_at: Date; expires_at: Date; expired: boolean; expires_in: number }>(db, prefix, "peer_list");
  const peers = rows.map((r) => ({
    name: r.name,
    node: r.node,
    startedAt: r.started_at,
    expiresAt: r.expires_at,
    expired: r.expired,
    expiresIn: r.expires_in,
    ours: r.name === name,
  }));
  const holder = peers.find((p) => p.ours && !p.expired);
  return { name, leader: holder ? holder.node : null, peers };
}
