import { randomUUID } from "node:crypto";
import type pg from "pg";
import { ackAndFetch } from "../engine/fetch.js";
import type { Job } from "../engine/job.js";
import { registeredWorkers, type Worker } from "../worker.js";
import type { Acker } from "./acker.js";
import { execute, JobAbort, type Execution, type Outcome } from "./executor.js";
import { Loop } from "./loop.js";
import { LocalBuffer } from "./local-buffer.js";

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
  /** Local buffer: at most this many ms of work claimed ahead (0 disables it). */
  bufferBudget: number;
  /** Local buffer: at most this many jobs claimed ahead. */
  maxBuffer: number;
  onOutcome: (job: Job, outcome: Outcome) => void;
  onError: (error: unknown) => void;
}

/**
 * One per queue per node: keeps at most `limit` jobs of its queue running here. It fetches by
 * demand (free slots, plus what the adaptive local buffer wants) when poked (insert notification,
 * a job finishing, staging) and on a polling timer, so a lost notification never strands a job.
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
  private readonly buffer: LocalBuffer;

  constructor(private readonly options: ProducerOptions) {
    this.queue = options.queue;
    this.limit = options.limit;
    this.buffer = new LocalBuffer(options.bufferBudget, options.maxBuffer);
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
    this.release();
  }

  resume(): void {
    this.paused = false;
    this.poke();
  }

  scale(limit: number): void {
    this.limit = limit;
    this.poke();
  }

  /** Stops fetching and gives back claimed jobs that have not started; running jobs go on. */
  async stopFetching(): Promise<void> {
    await this.loop.stop();
    this.release();
  }

  /** Buffered jobs go back in line untouched (attempt returned, no error entry). */
  private release(): void {
    for (const job of this.buffer.takeAll()) this.options.acker.push({ id: job.id, attempt: job.attempt, state: "released" });
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
    executions.forEach((e) => e.abort(reason));
    await Promise.all(executions.map((e) => e.done));
  }

  /** Aborts one running job, e.g. on a pkill signal. Returns whether it ran here. */
  abortJob(id: string, reason: JobAbort): boolean {
    // A cancelled job still in the buffer simply never starts (its row is already cancelled).
    if (this.buffer.remove(id)) return true;
    const execution = this.running.get(id);
    execution?.abort(reason);
    return execution !== undefined;
  }

  private async fetch(): Promise<void> {
    if (this.paused || !this.loop.active) return;
    this.startBuffered();
    const demand = this.limit - this.running.size + this.buffer.target(this.limit) - this.buffer.size;
    if (demand <= 0) return;
    // The outcomes of jobs that just finished ride along with the fetch that replaces them.
    const acker = this.options.acker;
    const acks = acker.take();
    let result;
    try {
      result = await ackAndFetch(this.options.pool, this.options.prefix, { queue: this.queue, demand, node: this.options.node, producer: this.uuid, acks });
    } catch (error) {
      acker.giveBack(acks, error);
      throw error;
    }
    acker.settle(acks, result.lost);
    this.buffer.push(result.jobs);
    if (this.paused || !this.loop.active) this.release();
    this.startBuffered();
    // A full batch suggests more are waiting: fetch again as soon as slots free up.
    if (result.jobs.length === demand) this.poke();
  }

  private startBuffered(): void {
    while (this.running.size < this.limit && this.buffer.size > 0) this.run(this.buffer.shift()!);
  }

  private run(job: Job): void {
    const workers = this.options.workers ?? registeredWorkers();
    const execution = execute(job, workers.get(job.worker));
    this.running.set(job.id, execution);
    void execution.done.then((outcome) => {
      this.options.acker.push(outcome.ack);
      this.running.delete(job.id);
      this.buffer.observe(outcome.durationMs);
      this.options.onOutcome(job, outcome);
      if (this.loop.active && !this.paused) this.startBuffered();
      if (this.running.size === 0) this.idleWaiters.splice(0).forEach((w) => w());
      this.poke();
    });
  }
}
