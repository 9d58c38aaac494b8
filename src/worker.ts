import type { Job } from "./engine/job.js";
import type { InsertOptions } from "./engine/insert.js";
import { checkMaxAttempts, checkPriority, checkQueue, checkWorkerName, normaliseTags } from "./engine/validate.js";
import { normaliseUnique, type UniqueOptions } from "./engine/unique-options.js";
import { ObanError, invalid } from "./errors.js";
import type { EnqueueTarget } from "./runtime/enqueue.js";

/** What perform() may return besides nothing. Each is a plain tagged object. */
const RESULT = Symbol.for("oban-ts.result");
export type Snooze = { [RESULT]: "snooze"; seconds: number };
export type Cancel = { [RESULT]: "cancel"; reason: string };
export type Discard = { [RESULT]: "discard"; reason: string };
export type Record_ = { [RESULT]: "record"; value: unknown };
export type JobResult = Snooze | Cancel | Discard | Record_;

/** Run again in `seconds`; the attempt is given back and meta.snoozed counts the snoozes. */
export function snooze(seconds: number): Snooze {
  if (!Number.isFinite(seconds) || seconds < 0) throw invalid("snooze", `seconds must be >= 0 (got ${seconds})`);
  return { [RESULT]: "snooze", seconds };
}
/** Stop for good: the job ends `cancelled`, with the reason in its errors. */
export function cancel(reason: string): Cancel {
  return { [RESULT]: "cancel", reason: String(reason) };
}
/** Stop for good: the job ends `discarded`, with the reason in its errors. */
export function discard(reason: string): Discard {
  return { [RESULT]: "discard", reason: String(reason) };
}
/** Complete and keep `value` in meta (`recorded`, `return`), readable by Oban and Oban.py. */
export function record(value: unknown): Record_ {
  return { [RESULT]: "record", value };
}

export function resultKind(value: unknown): JobResult[typeof RESULT] | undefined {
  return value !== null && typeof value === "object" && RESULT in value ? (value as JobResult)[RESULT] : undefined;
}

export interface PerformContext {
  job: Job;
  /** Aborted on timeout, on cancellation of the job, and at shutdown once the grace period ends. */
  signal: AbortSignal;
}

export type Args = Record<string, unknown>;

export interface WorkerOptions<A extends Args = Args> {
  /** Stored in oban_jobs.worker; every node serving the queue must define it. At most 127 chars. */
  name: string;
  queue?: string;
  maxAttempts?: number;
  priority?: number;
  tags?: string[];
  meta?: Record<string, unknown>;
  /** Milliseconds; the attempt fails and its signal aborts when exceeded. */
  timeout?: number;
  /**
   * Default unique options for this worker's jobs (see UniqueOptions): an enqueue that matches a
   * recent job inserts nothing and returns that job with `conflict: true`.
   */
  unique?: UniqueOptions;
  /** Seconds to wait before the next attempt, overriding Oban's default backoff. */
  backoff?: (job: Job<A>, error: unknown) => number;
  perform: (job: Job<A>, ctx: PerformContext) => Promise<JobResult | void | unknown> | JobResult | void | unknown;
}

export interface EnqueueOptions extends InsertOptions, EnqueueTarget {
  /** Unique options for this call, replacing the worker's as a whole; `false` turns them off. */
  unique?: UniqueOptions | false;
}

/**
 * What enqueue returns: the job, and for unique inserts `conflict`: true when a matching job
 * already existed (nothing was inserted and that job is returned), false when this one was
 * inserted. Absent for ordinary inserts.
 */
export type EnqueuedJob<A = Args> = Job<A> & { conflict?: boolean };

export interface Worker<A extends Args = Args> {
  readonly name: string;
  readonly options: Readonly<WorkerOptions<A>>;
  enqueue(args: A, options?: EnqueueOptions): Promise<EnqueuedJob<A>>;
  enqueueMany(list: A[], options?: EnqueueOptions): Promise<EnqueuedJob<A>[]>;
}

const registry = new Map<string, Worker<any>>();

/** Workers known to this process, by name. `oban work --require` fills it by importing modules. */
export function registeredWorkers(): ReadonlyMap<string, Worker<any>> {
  return registry;
}

export function defineWorker<A extends Args = Args>(options: WorkerOptions<A>): Worker<A> {
  checkWorkerName(options.name, "worker name");
  if (options.queue !== undefined) checkQueue(options.queue, `${options.name} queue`);
  if (options.maxAttempts !== undefined) checkMaxAttempts(options.maxAttempts, `${options.name} maxAttempts`);
  if (options.priority !== undefined) checkPriority(options.priority, `${options.name} priority`);
  if (options.tags !== undefined) normaliseTags(options.tags, `${options.name} tags`);
  if (options.unique !== undefined) normaliseUnique(options.unique, `${options.name} unique`);
  if (options.timeout !== undefined && !(Number.isFinite(options.timeout) && options.timeout > 0)) {
    throw invalid(`${options.name} timeout`, "must be a positive number of milliseconds");
  }
  if (typeof options.perform !== "function") throw invalid(`${options.name} perform`, "must be a function");
  const existing = registry.get(options.name);
  if (existing && existing.options.perform !== options.perform) {
    throw new ObanError("config", `worker "${options.name}" is defined twice with different perform functions`, { field: "name" });
  }
  const worker: Worker<A> = {
    name: options.name,
    options: Object.freeze({ ...options }),
    enqueue: async (args, enqueueOptions = {}) => {
      const { enqueueJobs } = await import("./runtime/enqueue.js");
      const [job] = await enqueueJobs(worker, [args], enqueueOptions);
      return job;
    },
    enqueueMany: async (list, enqueueOptions = {}) => {
      const { enqueueJobs } = await import("./runtime/enqueue.js");
      return enqueueJobs(worker, list, enqueueOptions);
    },
  };
  registry.set(options.name, worker);
  return worker;
}

/**
 * The short form: `job({ name, queue }, async (args, ctx) => ...)`. The handler receives the args
 * directly; `ctx.job` has the rest. Without `name`, the function's own name is used.
 */
export function job<A extends Args = Args>(
  options: Omit<WorkerOptions<A>, "perform" | "name"> & { name?: string },
  handler: (args: A, ctx: PerformContext) => Promise<JobResult | void | unknown> | JobResult | void | unknown,
): Worker<A> {
  const name = options.name ?? handler.name;
  if (!name) throw invalid("job name", "give the job a name: job({ name: \"MyApp.SendEmail\", ... }, handler)");
  return defineWorker<A>({ ...options, name, perform: (j, ctx) => handler(j.args, ctx) });
}
