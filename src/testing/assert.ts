import { AssertionError } from "node:assert";
import { checkState } from "../engine/control.js";
import { JOB_STATES, type Job, type JobState } from "../engine/job.js";
import { matchJobs, type JobMatch } from "../engine/match.js";
import { checkJsonObject, checkPriority, checkText, checkWorkerName, normaliseTags } from "../engine/validate.js";
import { invalid } from "../errors.js";
import type { Oban } from "../runtime/oban.js";
import type { Args, Worker } from "../worker.js";
import { targetOban } from "./target.js";

/** Which jobs an assertion is about; every field given must match, absent ones match anything. */
export interface EnqueuedFilter<A extends Args = Args> {
  /** A defined worker or the name stored in oban_jobs.worker. */
  worker?: Worker<A> | string;
  queue?: string;
  /** A subset of the args (`@>`): nested objects match by subset too, arrays by containment. */
  args?: Record<string, unknown>;
  /** A subset of the meta, as for args. */
  meta?: Record<string, unknown>;
  priority?: number;
  /** Tags the job must all have (any others are allowed). */
  tags?: string[];
  /** Default: available and scheduled, the jobs still waiting to run. */
  state?: JobState | JobState[];
}

export interface AssertOptions {
  oban?: Oban;
  /**
   * ms to keep looking (every 20 ms) for jobs enqueued asynchronously: assertEnqueued passes as
   * soon as one matches, refuteEnqueued fails as soon as one does. Default 0: look once.
   */
  timeout?: number;
}

const DEFAULT_STATES: readonly JobState[] = ["available", "scheduled"];
const FILTER_KEYS = new Set(["worker", "queue", "args", "meta", "priority", "tags", "state"]);
/** Jobs a failure message lists before it only counts the rest. */
const LISTED = 20;

/** Passes when at least one job matches and returns the oldest; otherwise throws an AssertionError listing the jobs there are. */
export async function assertEnqueued<A extends Args = Args>(filter: EnqueuedFilter<A>, options: AssertOptions = {}): Promise<Job<A>> {
  const oban = targetOban(options.oban, "assertEnqueued");
  const match = toMatch(filter);
  let found: Job[] = [];
  await poll(options.timeout, async () => (found = (await matchJobs(oban.pool, oban.prefix, match, 1)).jobs).length > 0);
  if (found.length > 0) return found[0] as Job<A>;
  const waited = options.timeout ? ` within ${options.timeout} ms` : "";
  throw new AssertionError({ message: `expected a job matching ${describe(filter, match)} to be enqueued${waited}, found none\n${await context(oban, match)}` });
}

/** Passes when no job matches; otherwise throws an AssertionError listing the matches. */
export async function refuteEnqueued<A extends Args = Args>(filter: EnqueuedFilter<A>, options: AssertOptions = {}): Promise<void> {
  const oban = targetOban(options.oban, "refuteEnqueued");
  const match = toMatch(filter);
  let found = { jobs: [] as Job[], total: 0 };
  await poll(options.timeout, async () => (found = await matchJobs(oban.pool, oban.prefix, match, LISTED)).total > 0);
  if (found.total === 0) return;
  throw new AssertionError({ message: `expected no job matching ${describe(filter, match)}, found ${found.total}:\n${listing(found.jobs, found.total)}` });
}

/** Every matching job, oldest first. */
export async function allEnqueued<A extends Args = Args>(filter: EnqueuedFilter<A>, options: { oban?: Oban } = {}): Promise<Job<A>[]> {
  const oban = targetOban(options.oban, "allEnqueued");
  return (await matchJobs(oban.pool, oban.prefix, toMatch(filter))).jobs as Job<A>[];
}

/**
 * Validates a filter before any SQL. An unknown key is refused rather than ignored: a misspelt
 * `{ wroker: X }` would otherwise match every job and let a broken test pass.
 */
function toMatch(filter: EnqueuedFilter<any>): JobMatch {
  if (filter === null || typeof filter !== "object" || Array.isArray(filter)) throw invalid("filter", "must be an object such as { worker, args }");
  const unknown = Object.keys(filter).filter((key) => !FILTER_KEYS.has(key));
  if (unknown.length > 0) throw invalid("filter", `unknown key ${unknown.map((k) => JSON.stringify(k)).join(", ")} (known: ${[...FILTER_KEYS].join(", ")})`);
  const states = filter.state === undefined ? DEFAULT_STATES : [filter.state].flat().map((state) => checkState(state));
  if (states.length === 0) throw invalid("state", "must name at least one state");
  const worker = filter.worker;
  return {
    states,
    worker: worker === undefined ? undefined : checkWorkerName(typeof worker === "string" ? worker : worker?.name, "worker"),
    queue: filter.queue === undefined ? undefined : text(filter.queue, "queue"),
    argsJson: filter.args === undefined ? undefined : checkJsonObject(filter.args, "args"),
    metaJson: filter.meta === undefined ? undefined : checkJsonObject(filter.meta, "meta"),
    priority: filter.priority === undefined ? undefined : checkPriority(filter.priority),
    // Stored tags are trimmed and lowercased: compare the filter's the same way.
    tags: filter.tags === undefined ? undefined : normaliseTags(filter.tags),
  };
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalid(field, "must be a string");
  checkText(value, field);
  return value;
}

async function poll(timeout: number | undefined, done: () => Promise<boolean>): Promise<void> {
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) throw invalid("timeout", `must be a number of ms >= 0 (got ${String(timeout)})`);
  const deadline = Date.now() + (timeout ?? 0);
  while (!(await done()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The filter as the user wrote it (a worker object by its name) and the states it covers. */
function describe(filter: EnqueuedFilter<any>, match: JobMatch): string {
  const shown = { ...filter, worker: match.worker, state: undefined };
  return `${JSON.stringify(shown)} in state ${match.states.join(" or ")}`;
}

/** What a failed assertion needs to explain itself: the worker's (or queue's) jobs in every state. */
async function context(oban: Oban, match: JobMatch): Promise<string> {
  const scope = { states: JOB_STATES, worker: match.worker, queue: match.queue };
  const { jobs, total } = await matchJobs(oban.pool, oban.prefix, scope, LISTED);
  const of = [match.worker && `worker ${match.worker}`, match.queue && `queue ${match.queue}`].filter(Boolean).join(" in ") || "any worker";
  if (total === 0) return `there are no jobs of ${of} in any state`;
  return `jobs of ${of}, in any state (${total}):\n${listing(jobs, total)}`;
}

function listing(jobs: Job[], total: number): string {
  const lines = jobs.map((job) => {
    const parts = [`  #${job.id} ${job.state}`, job.worker, `queue=${job.queue}`, `priority=${job.priority}`, `args=${JSON.stringify(job.args)}`];
    if (Object.keys(job.meta).length > 0) parts.push(`meta=${JSON.stringify(job.meta)}`);
    if (job.tags.length > 0) parts.push(`tags=${job.tags.join(",")}`);
    if (job.state === "scheduled" || job.state === "retryable") parts.push(`at ${job.scheduledAt.toISOString()}`);
    return parts.join(" ");
  });
  if (total > jobs.length) lines.push(`  … and ${total - jobs.length} more`);
  return lines.join("\n");
}
