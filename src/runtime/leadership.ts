import { EventEmitter } from "node:events";
import type pg from "pg";
import { elect, resign } from "../engine/leader.js";
import { Loop } from "./loop.js";

export interface LeadershipOptions {
  /** The lease key in oban_peers: the port's own, never "Oban" (Elixir) — COMPAT §11. */
  name: string;
  /** Unique per running instance, so two processes sharing a node name cannot both lead. */
  identity: string;
  /** Lease length in seconds (database clock). The leader renews at half of it. */
  ttl: number;
  onError: (error: unknown) => void;
}

/**
 * Leader election over a TTL lease. Followers retry right after the current lease would expire, so
 * a crashed leader is replaced within one TTL; a leader that stops resigns and notifies, so a
 * follower takes over at once. Events: "change" (isLeader: boolean).
 */
export class Leadership extends EventEmitter {
  private leader = false;
  private readonly loop: Loop;

  constructor(private readonly pool: pg.Pool, private readonly prefix: string, private readonly options: LeadershipOptions) {
    super();
    this.loop = new Loop("leader", () => this.tick(), { interval: options.ttl * 500, onError: (error) => this.failed(error) });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): this {
    this.loop.start();
    return this;
  }

  /** Elect now, e.g. when the leader announced it is going down. */
  poke(): void {
    this.loop.poke();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    if (this.leader) {
      this.set(false);
      await resign(this.pool, this.prefix, this.options.name, this.options.identity).catch(this.options.onError);
    }
  }

  private async tick(): Promise<number> {
    const halfTtl = this.options.ttl * 500;
    const result = await elect(this.pool, this.prefix, this.options.name, this.options.identity, this.options.ttl);
    this.set(result.leader);
    if (result.leader || result.expiresIn === null) return halfTtl;
    // Someone else leads: try again just after their lease would run out, unless they renew first.
    return Math.max(50, Math.min(halfTtl, result.expiresIn * 1000 + 50));
  }

  /** Unable to reach the database: we cannot know whether our lease still holds, so stop leading. */
  private failed(error: unknown): void {
    this.set(false);
    this.options.onError(error);
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.emit("change", leader);
  }
}
