import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";

export interface ProducerBeat {
  uuid: string;
  queue: string;
  startedAt: Date;
  /** Oban.py's producer meta keys: local_limit, paused, shutdown_started_at. */
  meta: { local_limit: number; paused: boolean; shutdown_started_at?: string };
}

/** Upserts the heartbeat rows of one node's producers in one statement. */
export async function beatProducers(db: Queryable, prefix: string, name: string, node: string, beats: ProducerBeat[]): Promise<void> {
  if (beats.length === 0) return;
  await run(db, prefix, "producer_upsert", {
    name,
    node,
    uuids: beats.map((b) => b.uuid),
    queues: beats.map((b) => b.queue),
    metas: beats.map((b) => JSON.stringify(b.meta)),
    started_at: beats.map((b) => b.startedAt.toISOString()),
  });
}

export async function deleteProducers(db: Queryable, prefix: string, uuids: string[]): Promise<void> {
  if (uuids.length === 0) return;
  await run(db, prefix, "producer_delete", { uuids });
}
