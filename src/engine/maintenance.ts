import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { channel } from "./job.js";

export interface QueueStateCount {
  queue: string;
  state: string;
  count: number;
}

export interface RescueOptions {
  /** Producers whose heartbeat is older than this (seconds) are dead; their jobs are rescued at once. */
  producerMaxAge: number;
  /** Time floor (seconds) for executing jobs whose producer has no row at all. */
  rescueAfter: number;
  limit?: number;
  dryRun?: boolean;
}

export interface RescueResult {
  rescued: QueueStateCount[];
  deadProducers: number;
  dryRun: boolean;
}

export async function rescueJobs(db: Queryable, prefix: string, options: RescueOptions): Promise<RescueResult> {
  const params = { producer_max_age: options.producerMaxAge, rescue_after: options.rescueAfter, limit: options.limit ?? 5_000 };
  const rows = options.dryRun
    ? await run<{ queue: string | null; state: string | null; count: number; dead_producers: number }>(db, prefix, "job_rescue_preview", params)
    : await run<{ queue: string | null; state: string | null; count: number; dead_producers: number }>(db, prefix, "job_rescue", { ...params, channel: channel(prefix, "insert") });
  return {
    rescued: rows.filter((r) => r.queue !== null).map((r) => ({ queue: r.queue!, state: r.state!, count: r.count })),
    deadProducers: rows[0]?.dead_producers ?? 0,
    dryRun: options.dryRun ?? false,
  };
}

export interface PruneOptions {
  /** Seconds a finished job is kept, counted from its own completed/cancelled/discarded time. */
  maxAge: number;
  limit?: number;
  dryRun?: boolean;
}

export interface PruneResult {
  pruned: QueueStateCount[];
  total: number;
  dryRun: boolean;
}

export async function pruneJobs(db: Queryable, prefix: string, options: PruneOptions): Promise<PruneResult> {
  const rows = await run<QueueStateCount>(db, prefix, options.dryRun ? "job_prune_preview" : "job_prune", {
    max_age: options.maxAge,
    limit: options.limit ?? 10_000,
  });
  return { pruned: rows, total: rows.reduce((sum, r) => sum + r.count, 0), dryRun: options.dryRun ?? false };
}
