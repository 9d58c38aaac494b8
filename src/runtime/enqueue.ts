import type { Queryable } from "../db/pool.js";
import { checkPlainObject } from "../engine/validate.js";
import { insertJobs, prepareJob, type InsertOptions, type JobSpec } from "../engine/insert.js";
import { insertUnique, normaliseUnique } from "../engine/unique.js";
import type { Job } from "../engine/job.js";
import { ObanError, invalid } from "../errors.js";
import type { Args, EnqueueOptions, EnqueuedJob, Worker } from "../worker.js";
import type { Oban } from "./oban.js";

export interface EnqueueTarget {
  /** The instance whose database and prefix to use; default: the last one started. */
  oban?: Oban;
  /**
   * A pg client, typically inside your own transaction: the job (and its notification) exists if
   * and only if that transaction commits.
   */
  client?: Queryable;
}

// Imported on first use: oban.ts imports the workers' module graph, which imports this one.
let obanModule: typeof import("./oban.js") | undefined;

/** What jobSpec reads of a worker: its name and default options (a crontab entry may name a worker this process does not define). */
export type WorkerDefaults<A extends Args = Args> = { name: string; options: Pick<Partial<Worker<A>["options"]>, "queue" | "priority" | "maxAttempts" | "tags" | "meta"> };

/**
 * One job as the caller asked for it, over the worker's defaults: options win, tags and meta are
 * merged. Shared with performJob (oban-ts/testing), so a test builds the job enqueue would, and with
 * crontab entries.
 */
export function jobSpec<A extends Args>(worker: WorkerDefaults<A>, args: A, options: InsertOptions): JobSpec {
  const defaults = worker.options;
  // Shapes are checked before merging (spread into the defaults, an array or a string would become
  // an object, a string tag list its characters); the contents are checked once, merged, by prepareJob.
  if (options.meta !== undefined) checkPlainObject(options.meta, "meta");
  if (options.tags !== undefined && !Array.isArray(options.tags)) throw invalid("tags", "must be an array of strings");
  return {
    worker: worker.name,
    args,
    queue: options.queue ?? defaults.queue,
    priority: options.priority ?? defaults.priority,
    maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
    tags: [...(defaults.tags ?? []), ...(options.tags ?? [])],
    meta: { ...(defaults.meta ?? {}), ...(options.meta ?? {}) },
    scheduledAt: options.scheduledAt,
    scheduleIn: options.scheduleIn,
  };
}

/** Applies the worker's defaults under the caller's options, validates everything, then inserts. */
export async function enqueueJobs<A extends Args>(worker: Worker<A>, list: A[], options: EnqueueOptions): Promise<EnqueuedJob<A>[]> {
  const { Oban } = (obanModule ??= await import("./oban.js"));
  const oban = options.oban ?? Oban.current;
  if (!oban) {
    throw new ObanError("config", `cannot enqueue ${worker.name}: no Oban instance is running (call Oban.start(), or pass { oban })`);
  }
  const uniqueOptions = options.unique === undefined ? worker.options.unique : options.unique;
  const unique = uniqueOptions ? normaliseUnique(uniqueOptions) : undefined;
  const prepared = list.map((args, i) => prepareJob(jobSpec(worker, args, options), list.length > 1 ? `job ${i}:` : "", oban.maxArgsBytes));
  if (unique) {
    // Unique inserts take their own path (lock, look up, insert: see engine/unique.ts), so the
    // ordinary path keeps its shared statements.
    const results = await insertUnique(options.client ?? oban.pool, oban.prefix, prepared, unique);
    return results.map(({ job, conflict }) => Object.assign(job as Job<A>, { conflict }));
  }
  // Inside the caller's transaction the statement must run on their client; otherwise concurrent
  // calls share statements.
  const jobs = options.client ? await insertJobs(options.client, oban.prefix, prepared) : await oban.inserter.insert(prepared);
  return jobs as Job<A>[];
}
