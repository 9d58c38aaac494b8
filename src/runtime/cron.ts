import type pg from "pg";
import type { CronSchedule } from "../cron/crontab.js";
import { floorToMinute } from "../cron/expression.js";
import { insertWhileLeading } from "../engine/cron.js";
import type { Job } from "../engine/job.js";
import { Loop } from "./loop.js";

export interface CronOptions {
  /** The leader lease key and our identity in it (the same as the Leadership's). */
  leaderName: string;
  identity: string;
  isLeader: () => boolean;
  onError: (error: unknown) => void;
}

export interface CronRun {
  /** The database clock (or the pinned time) at evaluation, its minute, and when our lease began. */
  at: Date;
  minute: Date;
  leaderSince: Date;
  /** Jobs inserted: the entries due in that minute, plus @reboot entries on the first run. */
  jobs: Job[];
}

/** A follower has nothing to do until it is elected (the election pokes us). */
const FOLLOWER_WAIT = 60_000;
/** Ticks this long after each minute starts by the database clock, so a slightly early timer still lands in it. */
const AFTER_MINUTE = 50;

/**
 * Inserts each crontab entry's job once per matching minute, on the leader only (COMPAT §11: one
 * leader per implementation is what makes cron exactly-once). Timing and matching use the
 * database clock, read in the same transaction that inserts.
 *
 * A minute is never evaluated twice, nor missed ones caught up (as in Elixir and Oban.py):
 * - this instance keeps the last minute it evaluated and only moves forward;
 * - across instances, a leader fires only minutes that begin strictly after its lease began.
 *   The insert holds the lease row locked (engine insertWhileLeading), so a successor's lease
 *   begins after any insert of its predecessor has committed: the minute in which leadership
 *   changes hands belongs to the old leader, never to both. The cost: when the old leader died
 *   before that minute's jobs were inserted (or resigned in the first moments of it), that one
 *   minute is skipped, exactly as when no leader was alive at the minute's start. We chose this
 *   over a lookup of existing cron jobs by meta because that lookup scans oban_jobs (no index on
 *   meta in Oban.py's schema), and because skipped is what "no catch-up" already means.
 */
export class CronScheduler {
  private lastMinute = Number.NEGATIVE_INFINITY;
  private rebooted = false;
  /** evaluate() calls run one at a time: each reads and moves lastMinute. */
  private serial: Promise<unknown> = Promise.resolve();
  private readonly loop: Loop;

  constructor(
    private readonly pool: pg.Pool,
    private readonly prefix: string,
    readonly schedules: readonly CronSchedule[],
    private readonly options: CronOptions,
  ) {
    this.loop = new Loop("cron", () => this.tick(), { interval: 5_000, jitter: 0, onError: options.onError });
  }

  start(): void {
    this.loop.start();
  }

  /** Evaluate now: called when this instance becomes the leader. */
  poke(): void {
    this.loop.poke();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * Inserts the jobs due in the minute of `now` (default: the database's now) if this instance
   * leads and has not evaluated that minute yet. Returns undefined when it does not hold the lease.
   * The timer calls this each minute; tests call it with a pinned time.
   */
  evaluate(now?: Date): Promise<CronRun | undefined> {
    const run = this.serial.then(() => this.evaluateOnce(now));
    this.serial = run.catch(() => {});
    return run;
  }

  private async evaluateOnce(now?: Date): Promise<CronRun | undefined> {
    const result = await insertWhileLeading(
      this.pool,
      this.prefix,
      { name: this.options.leaderName, node: this.options.identity },
      ({ now: at, leaderSince }) => {
        const minute = floorToMinute(at);
        const fresh = minute.getTime() > this.lastMinute && minute.getTime() > leaderSince.getTime();
        const picked = this.schedules.filter((s) => (s.expression.reboot ? !this.rebooted : fresh && s.expression.matches(minute)));
        return picked.map((s) => s.job(minute));
      },
      now,
    );
    if (!result) return undefined;
    const minute = floorToMinute(result.clock.now);
    // Only once committed: a failed insert is retried within the same minute by the next tick.
    this.lastMinute = Math.max(this.lastMinute, minute.getTime());
    this.rebooted = true;
    return { at: result.clock.now, minute, leaderSince: result.clock.leaderSince, jobs: result.jobs };
  }

  private async tick(): Promise<number> {
    if (!this.options.isLeader()) return FOLLOWER_WAIT;
    const run = await this.evaluate();
    if (!run) return 1_000; // our lease is gone; the election will notice and stop calling us leader
    // Measured on the database clock: the wait until its next minute, whatever the node's says.
    return Math.max(AFTER_MINUTE, run.minute.getTime() + 60_000 - run.at.getTime() + AFTER_MINUTE);
  }
}
