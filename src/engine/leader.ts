import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { channel } from "./job.js";

export interface Election {
  leader: boolean;
  /** Who holds the lease now (ourselves when leader), or null when nobody does. */
  holder: string | null;
  /** Seconds until the holder's lease expires, by the database clock. */
  expiresIn: number | null;
}

/** Acquires, takes over (when expired) or renews the lease `name` for `node`. */
export async function elect(db: Queryable, prefix: string, name: string, node: string, ttlSeconds: number): Promise<Election> {
  const rows = await run<{ node: string; leader: boolean; expires_in: number }>(db, prefix, "leader_elect", { name, node, ttl: ttlSeconds });
  const row = rows[0];
  return row ? { leader: row.leader, holder: row.node, expiresIn: row.expires_in } : { leader: false, holder: null, expiresIn: null };
}

/** Deletes our lease (if we hold it) and notifies `leader` with {down: name}. */
export async function resign(db: Queryable, prefix: string, name: string, node: string): Promise<boolean> {
  const rows = await run(db, prefix, "leader_resign", { name, node, channel: channel(prefix, "leader") });
  return rows.length > 0;
}
