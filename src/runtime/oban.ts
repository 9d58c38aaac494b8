import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import { checkPrefix, resolveDatabase } from "../config.js";
import { connectionFor } from "../db/connect.js";
import { clientLike, createPool, derivePool } from "../db/pool.js";
import type pg from "pg";
import type { Job } from "../engine/job.js";
import { stageJobs } from "../engine/stage.js";
import { DEFAULT_MAX_ARGS_BYTES, checkQueue } from "../engine/validate.js";
import { invalid } from "../errors.js";
import { registeredWorkers, type Worker } from "../worker.js";
import { Acker } from "./acker.js";
import { InsertBatcher } from "./insert-batcher.js";
import { JobAbort, type Outcome } from "./executor.js";
import { Loop } from "./loop.js";
import { Notifier } from "./notifier.js";
import { Producer } from "./producer.js";
import { Cluster, type ClusterOptions } from "./cluster.js";
import { CronScheduler } from "./cron.js";
import { resolveCrontab, type CronEntry, type CronSchedule } from "../cron/crontab.js";
import { randomUUID } from "node:crypto";

export interface ObanOptions {
  /** Default: DATABASE_URL, then the PG* variables, then the embedded server under .oban/. */
  databaseUrl?: string;
  /** Use your own pool instead (it is not closed by stop()). */
  pool?: pg.Pool;
  prefix?: string;
  /** Queue name → local concurrency limit. Omit to only enqueue. */
  queues?: Record<string, number>;
  /** Node name written to attempted_by and the producer rows; default: the hostname. */
  node?: string;
  /** Workers this instance runs; default: every worker defined in this process. */
  workers?: Worker<any>[];
  /** ms between fetches when nothing pokes a producer. */
  pollInterval?: number;
  /** ms between staging ticks (scheduled and retryable jobs whose time has come). */
  stageInterval?: number;
  /** ms running jobs get to finish on stop() before their signal aborts. */
  shutdownGrace?: number;
  /** Largest args accepted by enqueue, in bytes of JSON. */
  maxArgsBytes?: number;
  /** Listen for insert notifications (default true); without it producers rely on polling. */
  notifier?: boolean;
  poolSize?: number;
  /**
   * Claim jobs ahead of free slots, sized to at most `budget` ms of work (default 5 ms, at most
   * `maxJobs`, default 10 × limit). Fast jobs stop paying a database round trip each; slow jobs get
   * no buffer. Cost: a claimed job waits up to `budget` ms before it starts, and if the node crashes
   * its claimed jobs count an attempt and run again after the lifeline rescues them. `false` disables it.
   */
  localBuffer?: false | { budget?: number; maxJobs?: number };
  /**
   * Producers claim jobs and write outcomes with `synchronous_commit = off`, so they do not wait for
   * the database's WAL flush. Cost: if the database server itself crashes, the claims and outcomes
   * of its last moments (up to about 3 × wal_writer_delay, 0.6 s by default) are lost and those jobs
   * run again. Node crashes are unaffected. Default false.
   */
  asyncCommit?: boolean;
  /** Instance name: oban_producers.name and signal idents ("Oban.<node>"), as in Elixir and Oban.py. */
  name?: string;
  /** Take part in leader election (default true). A node that opts out never runs lifeline or pruner. */
  leader?: boolean;
  /** The lease key in oban_peers; default "<name>.ts", distinct from Elixir's and Oban.py's keys. */
  leaderName?: string;
  /** Lease length in ms (default 30 s); the leader renews at half of it. */
  leaderTtl?: number;
  /** ms between producer heartbeats (default 15 s). */
  heartbeatInterval?: number;
  /** A producer silent this long (ms, default 60 s) is dead: the lifeline rescues its jobs at once. */
  producerMaxAge?: number;
  /** Leader-only rescue of orphaned jobs; `rescueAfter` (ms, default 60 min) only applies to jobs of unknown producers. */
  lifeline?: false | { interval?: number; rescueAfter?: number };
  /** Leader-only deletion of finished jobs older than `maxAge` (ms, default 1 day). */
  pruner?: false | { interval?: number; maxAge?: number; limit?: number };
  /**
   * Periodic jobs, inserted by the leader once per matching minute (database clock). Checked at
   * start: a bad expression, time zone or option fails `Oban.start`. Runs on nodes with or
   * without queues; a node with `leader: false` never inserts them.
   */
  crontab?: CronEntry[];
}

interface Signal {
  action?: unknown;
  queue?: unknown;
  limit?: unknown;
  job_id?: unknown;
  ident?: unknown;
}

export interface JobEvent {
  event: Outcome["event"];
  job: Job;
  durationMs: number;
  error?: unknown;
  queue: string;
}

export interface LogEvent {
  level: "info" | "warn" | "error";
  message: string;
  error?: unknown;
}

/**
 * A running instance: a pool, one producer per queue, the stager, the notifier and the acker.
 * Events: "job" (JobEvent, one per finished attempt), "log" (LogEvent).
 */
export class Oban extends EventEmitter {
  /** Running instances in the order they started. */
  private static readonly running: Oban[] = [];

  /**
   * The instance `Worker.enqueue` uses when none is passed: the last one started and not stopped.
   * Stopping it makes the one started before it current again, if that one still runs.
   */
  static get current(): Oban | undefined {
    return Oban.running.at(-1);
  }

  readonly producers = new Map<string, Producer>();
  readonly node: string;
  readonly name: string;
  /** Unique per running instance: the leader lease holder and the log's way to tell processes apart. */
  readonly identity: string;
  readonly maxArgsBytes: number;
  private cluster: Cluster | undefined;
  private cronService: CronScheduler | undefined;
  private workerSet: ReadonlyMap<string, Worker<any>> = new Map();
  private listenLost = false;
  private readonly acker: Acker;
  private readonly hotPool: pg.Pool;
  /** Shared INSERT statements for concurrent enqueue calls outside a transaction. */
  readonly inserter: InsertBatcher;
  private readonly stager: Loop;
  private notifier: Notifier | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly pool: pg.Pool,
    readonly prefix: string,
    private readonly ownsPool: boolean,
    private readonly options: ObanOptions,
  ) {
    super();
    this.node = options.node ?? process.env.OBAN_NODE ?? hostname();
    this.name = options.name ?? "Oban";
    this.identity = `${this.node}:${randomUUID().slice(0, 8)}`;
    this.maxArgsBytes = options.maxArgsBytes ?? DEFAULT_MAX_ARGS_BYTES;
    // With asyncCommit, claims and outcomes skip the wait for the WAL flush (see the option).
    this.hotPool = options.asyncCommit ? derivePool(pool, "-c synchronous_commit=off", 4) : pool;
    this.acker = new Acker(this.hotPool, prefix, {
      onLost: (acks) => this.log("warn", `${acks.length} job outcome(s) not written: the job was cancelled, rescued or deleted meanwhile (ids ${acks.map((a) => a.id).join(", ")})`),
      onError: (error) => this.log("error", "writing job outcomes failed; will retry", error),
    });
    this.inserter = new InsertBatcher(pool, prefix);
    this.stager = new Loop("stager", () => this.stage(), {
      interval: options.stageInterval ?? 1_000,
      onError: (error) => this.log("error", "staging failed", error),
    });
  }

  static async start(options: ObanOptions = {}): Promise<Oban> {
    const prefix = checkPrefix(options.prefix ?? "public");
    const queues = Object.entries(options.queues ?? {});
    for (const [queue, limit] of queues) {
      checkQueue(queue, "queues");
      if (!Number.isInteger(limit) || limit < 1) throw invalid(`queues.${queue}`, `limit must be an integer >= 1 (got ${limit})`);
    }
    const workers = options.workers ? new Map(options.workers.map((w) => [w.name, w])) : registeredWorkers();
    const schedules = resolveCrontab(options.crontab, workers);
    let pool = options.pool;
    if (!pool) {
      const connection = await connectionFor(resolveDatabase(options.databaseUrl, {}));
      pool = createPool(connection.url as string, { max: options.poolSize ?? Math.min(10, 2 + queues.length * 2) });
    }
    const oban = new Oban(pool, prefix, !options.pool, options);
    await oban.startServices(queues, workers, schedules);
    Oban.running.push(oban);
    return oban;
  }

  private async startServices(queues: [string, number][], workers: ReadonlyMap<string, Worker<any>>, schedules: CronSchedule[]): Promise<void> {
    this.workerSet = workers;
    for (const [queue, limit] of queues) {
      const producer = new Producer({
        queue,
        limit,
        node: this.node,
        prefix: this.prefix,
        pool: this.hotPool,
        acker: this.acker,
        pollInterval: this.options.pollInterval ?? 1_000,
        bufferBudget: this.options.localBuffer === false ? 0 : (this.options.localBuffer?.budget ?? 5),
        maxBuffer: this.options.localBuffer === false ? 0 : (this.options.localBuffer?.maxJobs ?? Math.min(1_000, 10 * limit)),
        workers,
        onOutcome: (job, outcome) => this.emit("job", { event: outcome.event, job, durationMs: outcome.durationMs, error: outcome.error, queue } satisfies JobEvent),
        onError: (error) => this.log("error", `fetching from queue ${queue} failed`, error),
      });
      this.producers.set(queue, producer);
    }
    if (queues.length === 0 && schedules.length === 0) return;
    if (queues.length > 0) this.stager.start();
    const clusterOptions = this.clusterOptions();
    this.cluster = new Cluster(this.pool, this.prefix, () => [...this.producers.values()], clusterOptions);
    const leadership = this.cluster.leadership;
    if (schedules.length > 0 && leadership) {
      const cron = new CronScheduler(this.pool, this.prefix, schedules, {
        leaderName: clusterOptions.leaderName,
        identity: this.identity,
        isLeader: () => leadership.isLeader,
        onError: (error) => this.log("error", "cron failed; retrying", error),
      });
      leadership.on("change", (leader: boolean) => leader && cron.poke());
      this.cronService = cron;
    }
    // The heartbeat rows must exist before any job is claimed: a node killed before its first
    // heartbeat would otherwise leave jobs the lifeline can only rescue after rescueAfter.
    await this.cluster.start();
    this.cronService?.start();
    void this.cluster.firstBeat.then(() => {
      if (!this.stopping) this.producers.forEach((p) => p.start());
    });
    if (this.options.notifier !== false) {
      this.notifier = new Notifier(() => clientLike(this.pool, `oban-ts notifier ${this.identity}`), this.prefix)
        .on("insert", (message: { queue?: unknown }) => this.pokeQueue(typeof message.queue === "string" ? message.queue : undefined))
        .on("signal", (message: Signal) => this.signal(message))
        .on("leader", (message: { down?: unknown }) => this.cluster?.leaderDown(message.down))
        .on("malformed", ({ channel, error }) => this.log("warn", `dropped a malformed ${channel} notification`, error))
        .on("disconnected", (error) => {
          this.listenLost = true;
          this.log("warn", "LISTEN connection lost; reconnecting, producers poll meanwhile", error);
        })
        .on("connected", () => {
          if (this.listenLost) this.log("info", "LISTEN connection re-established");
          this.listenLost = false;
          this.pokeQueue(); // anything inserted while we were deaf
        })
        .start();
    }
  }

  /** Wakes the producer of `queue`, or all of them when the queue is unknown. */
  pokeQueue(queue?: string): void {
    if (queue === undefined) this.producers.forEach((p) => p.poke());
    else this.producers.get(queue)?.poke();
  }

  private async stage(): Promise<void> {
    const staged = await stageJobs(this.pool, this.prefix, [...this.producers.keys()]);
    for (const { queue } of staged) this.pokeQueue(queue);
  }

  /**
   * Graceful stop: fetching stops at once; running jobs get `grace` ms; then their signals abort
   * and each unfinished job goes back to the queue with an error entry. Every outcome is written
   * before the pool closes, so no job of this node is left `executing`.
   */
  stop(options: { grace?: number } = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.grace ?? this.options.shutdownGrace ?? 15_000);
    return this.stopping;
  }

  private clusterOptions(): ClusterOptions {
    const o = this.options;
    return {
      name: this.name,
      node: this.node,
      identity: this.identity,
      leader: o.leader ?? true,
      leaderName: o.leaderName ?? `${this.name}.ts`,
      leaderTtl: o.leaderTtl ?? 30_000,
      heartbeatInterval: o.heartbeatInterval ?? 15_000,
      producerMaxAge: o.producerMaxAge ?? 60_000,
      lifeline: o.lifeline === false ? false : { interval: o.lifeline?.interval ?? 60_000, rescueAfter: o.lifeline?.rescueAfter ?? 3_600_000 },
      pruner: o.pruner === false ? false : { interval: o.pruner?.interval ?? 60_000, maxAge: o.pruner?.maxAge ?? 86_400_000, limit: o.pruner?.limit ?? 10_000 },
      log: (level, message, error) => this.log(level, message, error),
    };
  }

  /**
   * The crontab service when this node has a crontab and takes part in election: its schedules
   * (names, next runs) and `evaluate(now)`, which the timer calls each minute (tests pin `now`).
   */
  get cron(): CronScheduler | undefined {
    return this.cronService;
  }

  /** The workers this instance runs jobs with: the `workers` option, else every defined worker. */
  get workers(): ReadonlyMap<string, Worker<any>> {
    return this.workerSet;
  }

  /** Whether this node currently holds the leader lease. */
  get isLeader(): boolean {
    return this.cluster?.isLeader ?? false;
  }

  /**
   * Signals from any implementation or Oban Web (COMPAT §13): pause, resume, scale, pkill. A
   * message for another instance or node (ident) is ignored.
   */
  private signal(message: Signal): void {
    if (message.ident !== undefined && message.ident !== "any" && message.ident !== `${this.name}.${this.node}`) return;
    const targets = message.queue === "*" ? [...this.producers.values()] : [this.producers.get(String(message.queue))].filter((p) => p !== undefined);
    switch (message.action) {
      case "pause":
        targets.forEach((p) => p.pause());
        break;
      case "resume":
        targets.forEach((p) => p.resume());
        break;
      case "scale":
        if (Number.isInteger(message.limit) && (message.limit as number) >= 1) targets.forEach((p) => p.scale(message.limit as number));
        else this.log("warn", `ignored a scale signal with limit ${JSON.stringify(message.limit)}`);
        break;
      case "pkill": {
        const id = String(message.job_id);
        const abort = new JobAbort("cancelled", "the job was cancelled while running");
        for (const producer of this.producers.values()) producer.abortJob(id, abort);
        return;
      }
      default:
        return; // start/stop and actions of other implementations: not ours to act on
    }
    if (targets.length > 0) {
      this.log("info", `${message.action} ${message.queue}${message.action === "scale" ? ` to ${message.limit}` : ""}`);
      this.cluster?.beatSoon();
    }
  }

  private async shutdown(grace: number): Promise<void> {
    const producers = [...this.producers.values()];
    await Promise.all([this.stager.stop(), this.cronService?.stop(), this.notifier?.stop(), ...producers.map((p) => p.stopFetching())]);
    await this.cluster?.markShutdown();
    const deadline = Date.now() + grace;
    await Promise.all(producers.map((p) => p.waitIdle(deadline)));
    const abort = new JobAbort("shutdown", `shut down before the job finished (grace ${grace} ms)`);
    await Promise.all(producers.map((p) => p.abortAll(abort)));
    await this.acker.drain();
    if (this.acker.pending > 0) this.log("error", `${this.acker.pending} job outcome(s) could not be written before shutdown; the lifeline will rescue those jobs`);
    await this.cluster?.stop();
    // Only once nothing runs here: a row left behind would make the lifeline think we crashed.
    if (this.acker.pending === 0) await this.cluster?.removeProducers();
    const index = Oban.running.indexOf(this);
    if (index >= 0) Oban.running.splice(index, 1);
    if (this.hotPool !== this.pool) await this.hotPool.end();
    if (this.ownsPool) await this.pool.end();
  }

  private log(level: LogEvent["level"], message: string, error?: unknown): void {
    this.emit("log", { level, message, error } satisfies LogEvent);
  }
}

