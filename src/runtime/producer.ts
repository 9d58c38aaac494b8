import { randomUUID } from "node:crypto";
import type pg from "pg";
import { fetchJobs } from "../engine/fetch.js";
import type { Job } from "../engine/job.js";
import { registeredWorkers, type Worker } from "../worker.js";
import type { Acker } from "./acker.js";
import { execute, JobAbort, type Execution, type Outcome } from "./executor.js";
import { Loop } from "./loop.js";

export interface ProducerOptions {
  queue: string;
  limit: number;
  node: string;
  prefix: string;
  pool: pg.Pool;
  acker: Acker;
  /** Fetch at least this often even without a notification (ms). */
  pollInterval: number;
  workers?: ReadonlyMap<string, Worker<any>>;
  onOutcome: (job: Job, outcome: Outcome) => void;
  onError: (error: unknown) => void;
}

/**
 * One per queue per node: keeps at most `limit` jobs of its queue running here. It fetches by
 * demand (limit − running) when poked (insert notification, a job finishing, staging) and on a
 * polling timer, so a lost notification never strands a job.
 */
export class Producer {
  readonly uuid = randomUUID();
  readonly queue: string;
  readonly running = new Map<string, Execution>();
  readonly startedAt = new Date();
  private limit: number;
  private paused = false;
  private readonly loop: Loop;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ProducerOptions) {
    this.queue = options.queue;
    this.limit = options.limit;
    this.loop = new Loop(`producer:${options.queue}`, () => this.fetch(), {
      interval: options.pollInterval,
      jitter: 0.2,
      onError: options.onError,
    });
  }

  get localLimit(): number {
    return this.limit;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  start(): this {
    this.loop.start();
    return this;
  }

  poke(): void {
    this.loop.poke();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.poke();
  }

  scale(limit: number): void {
    this.limit = limit;
    this.poke();
  }

  /** Stops fetching; running jobs go on. */
  async stopFetching(): Promise<void> {
    await this.loop.stop();
  }

  /** Resolves when no job runs, or when the deadline passes. */
  async waitIdle(deadline: number): Promise<void> {
    if (this.running.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Aborts every running job (`reason`) and waits until their outcomes are recorded. */
  async abortAll(reason: JobAbort): Promise<void> {
    const executions = [...this.running.values()];
    executions.forEach((e) => e.controller.abort(reason));
    await Promise.all(executions.map((e) => e.done));
  }

  /** Aborts one running job, e.g. on a pkill signal. Returns whether it ran here. */
  abortJob(id: string, reason: JobAbort): boolean {
    const execution = this.running.get(id);
    execution?.controller.abort(reason);
    return execution !== undefined;
  }

  private async fetch(): Promise<void> {
    if (this.paused || !this.loop.active) return;
    const demand = this.limit - this.running.size;
    if (demand <= 0) return;
    const jobs = await fetchJobs(this.options.pool, this.options.prefix, {
      queue: this.queue,
      demand,
      node: this.options.node,
      producer: this.uuid,
    });
    for (const job of jobs) this.run(job);
    // A full batch suggests more are waiting: fetch again as soon as slots free up.
    if (jobs.length === demand) this.poke();
  }

  private run(job: Job): void {
    const workers = this.options.workers ?? registeredWorkers();
    const execution = execute(job, workers.get(job.worker));
    this.running.set(job.id, execution);
    void execution.done.then((outcome) => {
      this.options.acker.push(outcome.ack);
      this.running.delete(job.id);
      this.options.onOutcome(job, outcome);
      if (this.running.size === 0) this.idleWaiters.splice(0).forEach((w) => w());
      this.poke();
    });
  }
}
