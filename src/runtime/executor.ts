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
  controller: AbortController;
  done: Promise<Outcome>;
}

/** Starts one attempt. The returned promise never rejects: every way it ends is an Outcome. */
export function execute(job: Job, worker: Worker<any> | undefined): Execution {
  const controller = new AbortController();
  const started = performance.now();
  const done = (async (): Promise<Outcome> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!worker) throw new Error(`unknown worker "${job.worker}": no worker with this name is defined on this node`);
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(controller.signal.reason);
        if (controller.signal.aborted) onAbort();
        else controller.signal.addEventListener("abort", onAbort, { once: true });
      });
      aborted.catch(() => {}); // observed by the race below; avoid an unhandled rejection
      const timeout = worker.options.timeout;
      if (timeout !== undefined) {
        timer = setTimeout(() => controller.abort(new JobAbort("timeout", `job timed out after ${timeout} ms`)), timeout);
      }
      // perform() may ignore the signal; the attempt still ends when the signal fires.
      const result = await Promise.race([
        Promise.resolve().then(() => worker.options.perform(job, { job, signal: controller.signal })),
        aborted,
      ]);
      return success(job, result as JobResult | undefined, performance.now() - started);
    } catch (error) {
      return failure(job, worker, error, performance.now() - started);
    } finally {
      if (timer) clearTimeout(timer);
    }
  })();
  return { job, controller, done };
}

function success(job: Job, result: JobResult | undefined, durationMs: number): Outcome {
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
        return failure(job, undefined, error, durationMs);
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
