import { hostname } from "node:os";
import { decodeRecorded } from "../codec/etf.js";
import { prepareJob } from "../engine/insert.js";
import type { Job } from "../engine/job.js";
import { DEFAULT_MAX_ARGS_BYTES } from "../engine/validate.js";
import { ObanError, invalid } from "../errors.js";
import { jobSpec } from "../runtime/enqueue.js";
import { execute, type Outcome } from "../runtime/executor.js";
import { Oban } from "../runtime/oban.js";
import { registeredWorkers, type Args, type Worker } from "../worker.js";

export interface PerformOptions {
  /** The attempt being run, from 1 (default) to maxAttempts: the last one fails to `discarded`. */
  attempt?: number;
  maxAttempts?: number;
  queue?: string;
  priority?: number;
  /** Added to the worker's default tags, as enqueue does. */
  tags?: string[];
  /** Merged over the worker's default meta, as enqueue does. */
  meta?: Record<string, unknown>;
}

/**
 * How one attempt ended, and `state`, the state the runtime would write for it. `failed` is a
 * throw or a timeout: `retryable` after `retryIn` seconds (the worker's backoff), or `discarded` on
 * the last attempt. `discarded` and `cancelled` are perform's own `discard()` / `cancel()`.
 */
export type PerformResult<A extends Args = Args> =
  | { kind: "completed"; state: "completed"; job: Job<A> }
  | { kind: "recorded"; state: "completed"; value: unknown; job: Job<A> }
  | { kind: "snoozed"; state: "scheduled"; seconds: number; job: Job<A> }
  | { kind: "cancelled"; state: "cancelled"; reason: string; job: Job<A> }
  | { kind: "discarded"; state: "discarded"; reason: string; job: Job<A> }
  | { kind: "failed"; state: "retryable" | "discarded"; error: unknown; retryIn?: number; job: Job<A> };

/**
 * Runs one attempt of a worker in this process, without the database, the way a producer would:
 * through the executor (timeout and its signal, result helpers, backoff). The args are checked as
 * enqueue checks them (a JSON object PostgreSQL can store, within maxArgsBytes) and perform gets
 * them after a JSON round trip, as it would from the table: a Date arrives as an ISO string and an
 * undefined key not at all. A test therefore fails on args that could not be enqueued.
 */
export async function performJob<A extends Args>(worker: Worker<A> | string, args: NoInfer<A>, options: PerformOptions = {}): Promise<PerformResult<A>> {
  const defined = typeof worker === "string" ? definedWorker<A>(worker) : worker;
  const prepared = prepareJob(jobSpec(defined, args, options), "", Oban.current?.maxArgsBytes ?? DEFAULT_MAX_ARGS_BYTES);
  const attempt = options.attempt ?? 1;
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > prepared.maxAttempts) {
    // The table's own constraint (attempt between 0 and max_attempts), and a run counts one.
    throw invalid("attempt", `must be an integer from 1 to maxAttempts (${prepared.maxAttempts}) (got ${String(attempt)})`);
  }
  const now = new Date();
  const job: Job<A> = {
    id: "0", // no row exists; real ids start at 1
    state: "executing",
    queue: prepared.queue,
    worker: prepared.worker,
    args: JSON.parse(prepared.argsJson) as A,
    meta: JSON.parse(prepared.metaJson) as Record<string, unknown>,
    tags: prepared.tags,
    errors: [],
    attempt,
    maxAttempts: prepared.maxAttempts,
    priority: prepared.priority,
    attemptedBy: [hostname(), "performJob"],
    insertedAt: now,
    scheduledAt: now,
    attemptedAt: now,
    completedAt: null,
    discardedAt: null,
    cancelledAt: null,
  };
  return performResult(job, await execute(job as Job, defined).done);
}

function definedWorker<A extends Args>(name: string): Worker<A> {
  const found = registeredWorkers().get(name);
  if (!found) throw new ObanError("not_found", `performJob: no worker named "${name}" is defined in this process`, { field: "worker" });
  return found as Worker<A>;
}

/** The executor's outcome in a test's terms. */
function performResult<A extends Args>(job: Job<A>, outcome: Outcome): PerformResult<A> {
  const { ack } = outcome;
  // Only the executor's failure paths carry `error` (it may hold `undefined`: `throw undefined`).
  if ("error" in outcome) {
    return ack.state === "retryable"
      ? { kind: "failed", state: "retryable", error: outcome.error, retryIn: ack.delay, job }
      : { kind: "failed", state: "discarded", error: outcome.error, job };
  }
  switch (ack.state) {
    case "scheduled":
      return { kind: "snoozed", state: "scheduled", seconds: ack.delay ?? 0, job };
    case "cancelled":
      return { kind: "cancelled", state: "cancelled", reason: ack.error ?? "", job };
    case "discarded":
      return { kind: "discarded", state: "discarded", reason: ack.error ?? "", job };
    default:
      // What a reader of the row gets back: the value after its trip through Erlang's term format.
      return ack.meta?.recorded === true
        ? { kind: "recorded", state: "completed", value: decodeRecorded(ack.meta.return as string), job }
        : { kind: "completed", state: "completed", job };
  }
}
