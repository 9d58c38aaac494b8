import { randomUUID } from "node:crypto";
import { ackJobs } from "../engine/ack.js";
import { fetchJobs } from "../engine/fetch.js";
import type { Job } from "../engine/job.js";
import { stageJobs } from "../engine/stage.js";
import { checkQueue, checkScheduledAt } from "../engine/validate.js";
import { invalid } from "../errors.js";
import { execute } from "../runtime/executor.js";
import type { JobEvent, Oban } from "../runtime/oban.js";
import { targetOban } from "./target.js";

export interface DrainOptions {
  /** Default: the last instance started. Its producers, if any, keep running. */
  oban?: Oban;
  queue: string;
  /**
   * Also run the queue's scheduled and retryable jobs: `true` all of them however far ahead, a Date
   * those due by then (Oban's with_scheduled). Each round stages them again, so with withRecursion
   * a failing job is retried until it is discarded.
   */
  withScheduled?: boolean | Date;
  /**
   * Drain in rounds until a round finds nothing, so jobs the drained jobs enqueue run too. A job
   * that snoozes on every attempt would keep a `withScheduled: true` drain going forever: give
   * withScheduled a Date for such queues.
   */
  withRecursion?: boolean;
}

/** Attempts by how they ended, as written to the table. */
export interface DrainResult {
  /** Returned normally or with record(). */
  completed: number;
  /** Threw or timed out with attempts left. */
  retryable: number;
  /** discard(), or threw or timed out on the last attempt. */
  discarded: number;
  cancelled: number;
  snoozed: number;
  /** Outcomes not written because the job was cancelled, deleted or rescued while it ran. */
  lost: number;
  /** Every attempt that threw or timed out, in the order they ran: what a count cannot tell you. */
  failures: { job: Job; error: unknown }[];
}

/** Claims (and stages) every job of the queue in one statement: a round is the queue as it stood. */
const ROUND = 2_147_483_647;

/**
 * Runs a queue's jobs in this process, one at a time, through the real engine: the producers' own
 * claim (FOR UPDATE SKIP LOCKED, attempt + 1, attempted_by), the executor, and the conditional ack,
 * written after each job so the next one sees it finished. No producer is started, so a running
 * instance is unaffected; it may take some of the queue's jobs first, and those are not counted.
 * Each attempt is also emitted as the instance's "job" event. When this resolves, none of the jobs
 * it claimed is still `executing`.
 */
export async function drainQueue(options: DrainOptions): Promise<DrainResult> {
  if (options === null || typeof options !== "object") throw invalid("drainQueue", "takes { queue, oban?, withScheduled?, withRecursion? }");
  const oban = targetOban(options.oban, "drainQueue");
  const queue = checkQueue(options.queue, "queue");
  const until = stageUntil(options.withScheduled);
  // attempted_by's producer: no oban_producers row has it, so a lifeline leaves these jobs alone
  // for rescueAfter (they take milliseconds), and no live producer's pkill or release touches them.
  const producer = randomUUID();
  const result: DrainResult = { completed: 0, retryable: 0, discarded: 0, cancelled: 0, snoozed: 0, lost: 0, failures: [] };
  for (;;) {
    if (until) await stageJobs(oban.pool, oban.prefix, [queue], { until, notify: false, limit: ROUND });
    const jobs = await fetchJobs(oban.pool, oban.prefix, { queue, demand: ROUND, node: oban.node, producer });
    await runRound(oban, jobs, result);
    if (!options.withRecursion || jobs.length === 0) return result;
  }
}

function stageUntil(withScheduled: DrainOptions["withScheduled"]): Date | "infinity" | undefined {
  if (withScheduled === undefined || withScheduled === false) return undefined;
  if (withScheduled === true) return "infinity";
  return checkScheduledAt(withScheduled, "withScheduled");
}

async function runRound(oban: Oban, jobs: Job[], result: DrainResult): Promise<void> {
  // The instance's own workers: a job its producers would not run must not run here either.
  const workers = oban.workers;
  let next = 0;
  try {
    while (next < jobs.length) {
      const job = jobs[next++];
      const outcome = await execute(job, workers.get(job.worker)).done;
      const written = await ackJobs(oban.pool, oban.prefix, [outcome.ack]);
      if ("error" in outcome) result.failures.push({ job, error: outcome.error });
      if (!written.has(job.id)) result.lost++;
      else if (outcome.event !== "returned") result[outcome.event]++; // "returned" is shutdown's, never ours
      oban.emit("job", { event: outcome.event, job, durationMs: outcome.durationMs, error: outcome.error, queue: job.queue } satisfies JobEvent);
    }
  } catch (error) {
    // Claimed jobs that never started go back in line untouched, as a stopping producer's do.
    const unstarted = jobs.slice(next).map((j) => ({ id: j.id, attempt: j.attempt, state: "released" as const }));
    await ackJobs(oban.pool, oban.prefix, unstarted).catch(() => {});
    throw error;
  }
}
