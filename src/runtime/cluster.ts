import type pg from "pg";
import { beatProducers, deleteProducers } from "../engine/producers.js";
import { pruneJobs, rescueJobs, type PruneResult, type RescueResult } from "../engine/maintenance.js";
import { Leadership } from "./leadership.js";
import { Loop } from "./loop.js";
import type { Producer } from "./producer.js";

/** A producer max age no heartbeat can exceed: 100 years. */
const NEVER_SECONDS = 100 * 365 * 24 * 3600;

export interface ClusterOptions {
  /** Instance name written to oban_producers.name and used in signal idents. */
  name: string;
  node: string;
  /** Unique per running instance. */
  identity: string;
  /** Take part in leader election (leader-only services run here when elected). */
  leader: boolean;
  leaderName: string;
  /** All durations in milliseconds, like every option of the library. */
  leaderTtl: number;
  heartbeatInterval: number;
  producerMaxAge: number;
  lifeline: false | { interval: number; rescueAfter: number };
  pruner: false | { interval: number; maxAge: number; limit: number };
  log: (level: "info" | "warn" | "error", message: string, error?: unknown) => void;
}

/**
 * The services that make several nodes one cluster, through PostgreSQL alone: producer heartbeats
 * (every node), leader election, and the leader's lifeline and pruner.
 */
export class Cluster {
  readonly leadership: Leadership | undefined;
  private readonly heartbeat: Loop;
  private readonly lifeline: Loop | undefined;
  private readonly pruner: Loop | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly prefix: string,
    private readonly producers: () => Producer[],
    private readonly options: ClusterOptions,
  ) {
    const onError = (what: string) => (error: unknown) => {
      // Any failed statement may mean the database (or our link to it) went away: staleness seen
      // right after it comes back says nothing about who is alive.
      this.healthySince = undefined;
      options.log("error", `${what} failed`, error);
    };
    this.firstBeat = new Promise((resolve) => (this.resolveFirstBeat = resolve));
    this.heartbeat = new Loop("heartbeat", () => this.beat(), {
      interval: options.heartbeatInterval,
      initialDelay: Math.min(1_000, options.heartbeatInterval),
      onError: onError("producer heartbeat"),
    });
    if (options.leader) {
      this.leadership = new Leadership(pool, prefix, {
        name: options.leaderName,
        identity: options.identity,
        ttl: options.leaderTtl / 1000,
        onError: onError("leader election"),
      });
      this.leadership.on("change", (leader: boolean) => {
        options.log("info", leader ? `this node (${options.identity}) is now the leader` : `this node (${options.identity}) is no longer the leader`);
        if (leader) {
          this.lifeline?.poke();
          this.pruner?.poke();
        }
      });
    }
    const lifeline = options.lifeline;
    if (lifeline && this.leadership) {
      this.lifeline = new Loop("lifeline", () => this.rescue(lifeline.rescueAfter / 1000).then(() => {}), { interval: lifeline.interval, onError: onError("lifeline") });
    }
    const pruner = options.pruner;
    if (pruner && this.leadership) {
      // A full batch means more is due: go on after a short pause instead of a whole interval.
      const tick = async () => ((await this.prune(pruner.maxAge / 1000, pruner.limit))?.total ?? 0) >= pruner.limit ? 1_000 : undefined;
      this.pruner = new Loop("pruner", tick, { interval: pruner.interval, onError: onError("pruner") });
    }
  }

  get isLeader(): boolean {
    return this.leadership?.isLeader ?? false;
  }

  /**
   * Since when our own heartbeats have succeeded without a failure in between. After a database
   * outage every node's heartbeat is stale; the lifeline may only call a producer dead once live
   * producers have had a full producerMaxAge of working database to heartbeat again.
   */
  private healthySince: number | undefined;

  /** Resolves at the first successful heartbeat: producers must not claim jobs before it. */
  readonly firstBeat: Promise<void>;
  private resolveFirstBeat!: () => void;

  async start(): Promise<void> {
    await this.beat().catch((error) => this.options.log("error", "first producer heartbeat failed; retrying", error));
    this.heartbeat.start();
    this.leadership?.start();
    this.lifeline?.start();
    this.pruner?.start();
  }

  /** Refresh the heartbeat rows now (after pause/resume/scale, so the rows tell the truth). */
  beatSoon(): void {
    this.heartbeat.poke();
  }

  /** A `leader` notification: when ours went down, elect at once. */
  leaderDown(name: unknown): void {
    if (name === this.options.leaderName) this.leadership?.poke();
  }

  async stop(): Promise<void> {
    await Promise.all([this.heartbeat.stop(), this.lifeline?.stop(), this.pruner?.stop()]);
    await this.leadership?.stop();
  }

  /** Called once the producers are idle: their rows go, so nobody takes them for crashed ones. */
  async removeProducers(): Promise<void> {
    await deleteProducers(this.pool, this.prefix, this.producers().map((p) => p.uuid)).catch((error) =>
      this.options.log("warn", "could not delete producer rows (they expire by themselves)", error),
    );
  }

  /** Marks this node's producers as shutting down (Oban.py's meta keys), so dashboards see it. */
  async markShutdown(): Promise<void> {
    await this.beat(new Date().toISOString()).catch(() => {});
  }

  private async beat(shutdownStartedAt?: string): Promise<void> {
    await beatProducers(
      this.pool,
      this.prefix,
      this.options.name,
      this.options.node,
      this.producers().map((p) => ({
        uuid: p.uuid,
        queue: p.queue,
        startedAt: p.startedAt,
        meta: {
          local_limit: p.localLimit,
          paused: shutdownStartedAt !== undefined || p.isPaused,
          ...(shutdownStartedAt ? { shutdown_started_at: shutdownStartedAt } : {}),
        },
      })),
    );
    this.healthySince ??= Date.now();
    this.resolveFirstBeat();
  }

  private async rescue(rescueAfter: number): Promise<RescueResult | undefined> {
    if (!this.isLeader) return undefined;
    const trusted = this.healthySince !== undefined && Date.now() - this.healthySince >= this.options.producerMaxAge;
    // Until staleness can be trusted, no producer is declared dead (only the time floor applies).
    const producerMaxAge = trusted ? this.options.producerMaxAge / 1000 : NEVER_SECONDS;
    const result = await rescueJobs(this.pool, this.prefix, { producerMaxAge, rescueAfter });
    const total = result.rescued.reduce((sum, r) => sum + r.count, 0);
    if (total > 0 || result.deadProducers > 0) {
      const detail = result.rescued.map((r) => `${r.count} ${r.queue}→${r.state}`).join(", ");
      this.options.log("warn", `lifeline: ${result.deadProducers} dead producer(s) removed; ${total} job(s) rescued${detail ? ` (${detail})` : ""}`);
    }
    return result;
  }

  private async prune(maxAge: number, limit: number): Promise<PruneResult | undefined> {
    if (!this.isLeader) return undefined;
    const result = await pruneJobs(this.pool, this.prefix, { maxAge, limit });
    if (result.total > 0) this.options.log("info", `pruner: deleted ${result.total} finished job(s)`);
    return result;
  }
}
