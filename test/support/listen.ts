import { randomBytes } from "node:crypto";
import pg from "pg";
import { waitFor } from "./wait.js";

export interface Heard {
  channel: string;
  payload: string;
}

/**
 * LISTENs on some channels with its own connection. `settle()` publishes a unique marker from
 * another connection and waits until it arrives: PostgreSQL delivers notifications in commit
 * order, so every message committed before the call has been received by then. Tests can thus
 * assert the exact set of messages (and that none was sent) without sleeping.
 */
export async function listen(url: string, channels: string[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const heard: Heard[] = [];
  const marker = `test.settle_${randomBytes(4).toString("hex")}`;
  const seenMarkers = new Set<string>();
  client.on("notification", (m) => {
    if (m.channel === marker) seenMarkers.add(m.payload ?? "");
    else heard.push({ channel: m.channel, payload: m.payload ?? "" });
  });
  for (const name of [...channels, marker]) await client.query(`LISTEN "${name.replace(/"/g, '""')}"`);
  return {
    heard,
    /** Messages on one channel, parsed as JSON. */
    json(channel: string): Record<string, unknown>[] {
      return heard.filter((h) => h.channel === channel).map((h) => JSON.parse(h.payload));
    },
    clear() {
      heard.length = 0;
    },
    async settle(sender: { query: (text: string, values?: unknown[]) => Promise<unknown> }): Promise<void> {
      const token = randomBytes(6).toString("hex");
      await sender.query("SELECT pg_notify($1, $2)", [marker, token]);
      await waitFor(`settle marker ${token}`, () => seenMarkers.has(token));
    },
    async close() {
      await client.end().catch(() => {});
    },
  };
}
