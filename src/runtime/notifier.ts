import { EventEmitter } from "node:events";
import type pg from "pg";
import { quoteIdent } from "../db/sql.js";
import { decodePayload } from "../codec/notification.js";
import { channel } from "../engine/job.js";

export type NotifierChannel = "insert" | "signal" | "leader";

/**
 * One dedicated LISTEN connection per node. Each message is decoded on its own; a malformed one is
 * reported and dropped (a malformed `insert` is delivered as `{}` so every local producer wakes).
 * A lost connection is re-established with jittered exponential backoff; meanwhile producers poll.
 *
 * Events: "insert" | "signal" | "leader" (payload object), "connected", "disconnected" (error),
 * "malformed" ({ channel, payload, error }).
 */
export class Notifier extends EventEmitter {
  private client: pg.Client | undefined;
  private stopped = true;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private readonly channels: Map<string, NotifierChannel>;
  private readonly dead = new WeakSet<pg.Client>();

  constructor(
    /** Makes a new dedicated client (not from the pool: LISTEN holds its connection). */
    private readonly newClient: () => pg.Client,
    prefix: string,
    private readonly options: { keepaliveInterval?: number; maxBackoff?: number } = {},
  ) {
    super();
    this.channels = new Map((["insert", "signal", "leader"] as const).map((name) => [channel(prefix, name), name]));
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    void this.connect();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.keepalive) clearInterval(this.keepalive);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = this.newClient();
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("LISTEN connection ended")));
    client.on("notification", (message) => this.dispatch(message.channel, message.payload ?? ""));
    try {
      await client.connect();
      for (const name of this.channels.keys()) await client.query(`LISTEN ${quoteIdent(name)}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.attempts = 0;
    // A half-open TCP connection delivers nothing and reports nothing; a periodic query finds it.
    this.keepalive = setInterval(() => {
      client.query("SELECT 1").catch((error) => this.lost(client, error));
    }, this.options.keepaliveInterval ?? 15_000);
    this.emit("connected");
  }

  private lost(client: pg.Client, error: unknown): void {
    // A client reports its death several ways (error, end, failed query): act on the first only.
    if (this.dead.has(client)) return;
    this.dead.add(client);
    if (this.client === client) this.client = undefined;
    if (this.keepalive) clearInterval(this.keepalive);
    client.end().catch(() => {});
    if (this.stopped) return;
    this.emit("disconnected", error);
    const base = Math.min(this.options.maxBackoff ?? 5_000, 100 * 2 ** this.attempts++);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, base / 2 + Math.random() * (base / 2));
  }

  private dispatch(channelName: string, payload: string): void {
    const name = this.channels.get(channelName);
    if (!name) return;
    let message: Record<string, unknown>;
    try {
      message = decodePayload(payload);
    } catch (error) {
      this.emit("malformed", { channel: name, payload, error });
      if (name === "insert") this.emit("insert", {});
      return;
    }
    this.emit(name, message);
  }
}
