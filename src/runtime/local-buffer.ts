import type { Job } from "../engine/job.js";

/**
 * Jobs a producer has claimed but not started yet. Its size adapts to how fast jobs finish: it
 * holds at most about `budgetMs` of work at full concurrency, so a claimed job waits locally for
 * a few milliseconds at most — never long enough to matter to an idle node elsewhere. Slow jobs
 * get no buffer at all; before any job has finished, there is none either.
 */
export class LocalBuffer {
  private readonly jobs: Job[] = [];
  /** Exponentially weighted mean job duration in ms; NaN until a job finishes. */
  private meanDuration = Number.NaN;

  constructor(
    private readonly budgetMs: number,
    private readonly maxJobs: number,
  ) {}

  get size(): number {
    return this.jobs.length;
  }

  /** How many jobs the buffer should hold for a queue running `limit` jobs at once. */
  target(limit: number): number {
    if (this.budgetMs <= 0 || !(this.meanDuration >= 0)) return 0;
    const perMs = limit / Math.max(this.meanDuration, 0.01);
    return Math.min(this.maxJobs, Math.floor(perMs * this.budgetMs));
  }

  observe(durationMs: number): void {
    this.meanDuration = Number.isNaN(this.meanDuration) ? durationMs : this.meanDuration * 0.9 + durationMs * 0.1;
  }

  push(jobs: Job[]): void {
    this.jobs.push(...jobs);
  }

  shift(): Job | undefined {
    return this.jobs.shift();
  }

  /** Removes one job (cancelled before it started); true if it was here. */
  remove(id: string): boolean {
    const index = this.jobs.findIndex((j) => j.id === id);
    if (index >= 0) this.jobs.splice(index, 1);
    return index >= 0;
  }

  takeAll(): Job[] {
    return this.jobs.splice(0);
  }
}
