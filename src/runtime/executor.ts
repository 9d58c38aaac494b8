import type { Ack } from "../engine/ack.js";
import { backoffSeconds } from "../engine/backoff.js";
import type { Job } from "../engine/job.js";
import { encodeRecorded } from "../codec/etf.js";
import { resultKind, type JobResult, type Worker } from "../worker.js";

/** Why a running job's signal was aborted. */
export class JobAbort extends Error {
  constructor(readonly reason: "timeout" | "shutdown" | "cancelled", message: string) {
    super(message);
    this.name = reason === "timeout" ? "TimeoutError" : reason === "shutdown" ? "ShutdownError" : "CancelledError";
  }
}

export interface Outcome {
  ack: Ack;
  /** What to report: completed, snoozed, cancelled, discarded, retryable, failed back to available. */
  event: "completed" | "snoozed" | "cancelled" | "discarded" | "retryable" | "returned";
  durationMs: number;
  error?: unknown;
}

export interface Execution {
  job: Job;
  /** Ends the attempt with `reason` (its signal fires); perform() may ignore it, the attempt still ends. */
  abort(reason: JobAbort): void;
  done: Promise<Outcome>;
}

/**
 * Starts one attempt. The returned promise never rejects: every way it ends is an Outcome.
 *
 * The AbortController is made only when perform() reads `ctx.signal` or an abort comes first:
 * most jobs never look, and making one per job was a tenth of the runtime's CPU for short jobs.
 */
export function execute(job: Job, worker: Worker<any> | undefined): Execution {
  const started = performance.now();
  let controller: AbortController | undefined;
  let abortedBy: JobAbort | undefined;
  let end: ((outcome: () => Outcome) => void) | undefined;
  const done = new Promise<Outcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    end = (outcome) => {
      if (ended) return;
      ended = true;
      if (timer) clearTimeout(timer);
      resolve(outcome());
    };
    const fail = (error: unknown) => end!(() => failure(job, worker, error, performance.now() - started));
    if (!worker) return fail(new Error(`unknown worker "${job.worker}": no worker with this name is defined on this node`));
    const timeout = worker.options.timeout;
    if (timeout !== undefined) timer = setTimeout(() => execution.abort(new JobAbort("timeout", `job timed out after ${timeout} ms`)), timeout);
    const ctx = {
      job,
      get signal(): AbortSignal {
        if (!controller) {
          controller = new AbortController();
          if (abortedBy) controller.abort(abortedBy);
        }
        return controller.signal;
      },
    };
    let result: unknown;
    try {
      result = worker.options.perform(job, ctx);
    } catch (error) {
      return fail(error);
    }
    Promise.resolve(result).then(
      (value) => end!(() => success(job, worker, value as JobResult | undefined, performance.now() - started)),
      fail,
    );
  });
  const execution: Execution = {
    job,
    done,
    abort(reason) {
      if (abortedBy) return;
      abortedBy = reason;
      controller?.abort(reason);
      end!(() => failure(job, worker, reason, performance.now() - started));
    },
  };
  return execution;
}

function success(job: Job, worker: Worker<any>, result: JobResult | undefined, durationMs: number): Outcome {
  const base = { id: job.id, attempt: job.attempt };
  switch (resultKind(result)) {
    case "snooze":
      return { ack: { ...base, state: "scheduled", delay: (result as { seconds: number }).seconds }, event: "snoozed", durationMs };
    case "cancel":
      return { ack: { ...base, state: "cancelled", error: (result as { reason: string }).reason }, event: "cancelled", durationMs };
    case "discard":
      return { ack: { ...base, state: "discarded", error: (result as { reason: string }).reason }, event: "discarded", durationMs };
    case "record":
      try {
        const encoded = encodeRecorded((result as { value: unknown }).value);
        return { ack: { ...base, state: "completed", meta: { recorded: true, return: encoded } }, event: "completed", durationMs };
      } catch (error) {
        // A value that cannot be stored fails the attempt like a throw, with the worker's backoff.
        return failure(job, worker, error, durationMs);
      }
    default:
      return { ack: { ...base, state: "completed" }, event: "completed", durationMs };
  }
}

function failure(job: Job, worker: Worker<any> | undefined, error: unknown, durationMs: number): Outcome {
  const base = { id: job.id, attempt: job.attempt, error: formatError(error) };
  const exhausted = job.attempt >= job.maxAttempts;
  if (error instanceof JobAbort && error.reason === "shutdown") {
    // Interrupted by our own shutdown: straight back to the queue, not delayed by backoff.
    return exhausted
      ? { ack: { ...base, state: "discarded" }, event: "discarded", durationMs, error }
      : { ack: { ...base, state: "available", delay: 0 }, event: "returned", durationMs, error };
  }
  if (error instanceof JobAbort && error.reason === "cancelled") {
    return { ack: { ...base, state: "cancelled" }, event: "cancelled", durationMs, error };
  }
  if (exhausted) return { ack: { ...base, state: "discarded" }, event: "discarded", durationMs, error };
  return { ack: { ...base, state: "retryable", delay: retryDelay(job, worker, error) }, event: "retryable", durationMs, error };
}

function retryDelay(job: Job, worker: Worker<any> | undefined, error: unknown): number {
  const custom = worker?.options.backoff;
  if (custom) {
    try {
      const seconds = custom(job, error);
      if (Number.isFinite(seconds) && seconds >= 0) return seconds;
    } catch {
      // A broken backoff function must not lose the retry: fall back to Oban's default.
    }
  }
  return backoffSeconds(job.attempt, job.maxAttempts);
}

export function formatError(error: unknown): string {
  if (error instanceof Error) {
    const stack = error.stack ?? "";
    const head = `${error.name}: ${error.message}`;
    return stack.startsWith(head) ? stack : `${head}\n${stack}`.trimEnd();
  }
  try {
    return `thrown value: ${typeof error === "string" ? error : JSON.stringify(error)}`;
  } catch {
    return `thrown value: ${String(error)}`;
  }
}
