import { readdirSync } from "node:fs";
import path from "node:path";
import type pg from "pg";
import { checkPrefix } from "../config.js";
import { withTransaction, type Queryable } from "../db/pool.js";
import { SQL_ROOT, compile, quoteIdent, readSql, script } from "../db/sql.js";
import { ObanError, invalid } from "../errors.js";

/**
 * The port's schema migrations: sql/migrations/NNN_name.up.sql and NNN_name.down.sql.
 *
 * - The applied version lives in `<prefix>.oban_ts_migrations` (one row per applied version,
 *   with `created text[]` listing what that migration created). Never in the comment on
 *   oban_jobs, which belongs to Elixir Oban (COMPAT.md §5).
 * - Each migration runs in its own transaction that first takes a transaction-scoped advisory
 *   lock keyed on the prefix, then re-reads the version: concurrent `oban migrate` runs
 *   serialise and exactly one of them installs.
 * - SQL is in sql/migrations (the version bookkeeping in sql/migrations/meta).
 */

export const VERSION_TABLE = "oban_ts_migrations";

export interface MigrationStatus {
  current: number;
  latest: number;
  pending: number[];
}

export interface Migration {
  version: number;
  name: string;
  up: string;
  down: string;
}

const MIGRATION_FILE = /^(\d{3})_([a-z0-9_]+)\.(up|down)\.sql$/;

let known: Migration[] | undefined;

/** The migrations shipped with this package, in version order. */
export function migrations(): Migration[] {
  if (known) return known;
  const byVersion = new Map<number, Partial<Migration>>();
  for (const file of readdirSync(path.join(SQL_ROOT, "migrations"))) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) continue;
    const version = Number(match[1]);
    const entry = byVersion.get(version) ?? { version, name: match[2] };
    entry[match[3] as "up" | "down"] = `migrations/${file}`;
    byVersion.set(version, entry);
  }
  const list = [...byVersion.values()].sort((a, b) => a.version! - b.version!);
  list.forEach((m, i) => {
    if (m.version !== i + 1 || !m.up || !m.down) {
      throw new ObanError("internal", `sql/migrations: version ${m.version} must be ${i + 1} and have both .up.sql and .down.sql`);
    }
  });
  known = list as Migration[];
  return known;
}

export function latestVersion(): number {
  const list = migrations();
  return list.length === 0 ? 0 : list[list.length - 1].version;
}

function migration(version: number): Migration {
  const found = migrations().find((m) => m.version === version);
  if (!found) throw new ObanError("schema", `no migration ${version} in this oban-ts (latest is ${latestVersion()})`);
  return found;
}

async function query<R extends pg.QueryResultRow = any>(db: Queryable, prefix: string, file: string, params: Record<string, unknown> = {}): Promise<R[]> {
  const { text, params: names } = compile(readSql(`migrations/meta/${file}.sql`), prefix);
  const result = await db.query<R>(text, names.map((n) => params[n]));
  return result.rows;
}

async function currentVersion(db: Queryable, prefix: string): Promise<number> {
  const [{ present }] = await query<{ present: boolean }>(db, prefix, "version_table", { table: `${quoteIdent(prefix)}.${VERSION_TABLE}` });
  if (!present) return 0;
  const [{ current }] = await query<{ current: number }>(db, prefix, "version_current");
  return current;
}

function statusFor(current: number): MigrationStatus {
  const latest = latestVersion();
  const pending = migrations()
    .map((m) => m.version)
    .filter((v) => v > current);
  return { current, latest, pending };
}

/** Works on an empty database too: no schema or no version table means version 0. */
export async function migrationStatus(db: pg.Pool | pg.ClientBase, prefix: string): Promise<MigrationStatus> {
  checkPrefix(prefix);
  return statusFor(await currentVersion(db, prefix));
}

function checkVersion(field: string, value: number): number {
  const latest = latestVersion();
  if (!Number.isInteger(value) || value < 0 || value > latest) {
    throw invalid(field, `must be a whole number from 0 to ${latest} (the latest migration), got ${value}`);
  }
  return value;
}

/** Turns the down migration's deliberate refusal (SQLSTATE OBTS1) into a typed error. */
function translate(error: unknown): unknown {
  const e = error as { code?: string; message?: string; hint?: string } | null;
  if (e?.code === "OBTS1") {
    return new ObanError("schema", `${e.message}${e.hint ? ` (${e.hint})` : ""}`, { cause: error });
  }
  return error;
}

function upText(m: Migration, prefix: string): string {
  const record = script("migrations/meta/version_record.sql", prefix).replace(":version", String(m.version)).trimEnd();
  return `-- migration ${String(m.version).padStart(3, "0")}_${m.name} (up)\n${script(m.up, prefix).trimEnd()}\n${record};\n`;
}

function downText(m: Migration, prefix: string): string {
  return `-- migration ${String(m.version).padStart(3, "0")}_${m.name} (down)\n${script(m.down, prefix).trimEnd()}\n`;
}

/**
 * Applies the pending migrations up to `to` (default: the latest), each in its own transaction.
 * `applied` lists what this call applied; versions a concurrent run applied first are skipped.
 * With `dryRun`, nothing is changed and `sql` holds the text that would run.
 */
export async function migrateUp(
  pool: pg.Pool,
  prefix: string,
  options: { dryRun?: boolean; to?: number } = {},
): Promise<{ applied: number[]; sql?: string[]; status: MigrationStatus }> {
  checkPrefix(prefix);
  const target = options.to === undefined ? latestVersion() : checkVersion("to", options.to);

  if (options.dryRun) {
    const status = await migrationStatus(pool, prefix);
    const sql = migrations()
      .filter((m) => m.version > status.current && m.version <= target)
      .map((m) => upText(m, prefix));
    return { applied: [], sql, status };
  }

  const applied: number[] = [];
  for (;;) {
    const next = await withTransaction(pool, async (client) => {
      await query(client, prefix, "lock", { prefix });
      const current = await currentVersion(client, prefix);
      const version = current + 1;
      if (version > target) return undefined;
      const m = migration(version);
      await client.query(script(m.up, prefix));
      await query(client, prefix, "version_record", { version });
      return version;
    }).catch((error) => {
      throw translate(error);
    });
    if (next === undefined) break;
    applied.push(next);
  }
  return { applied, status: await migrationStatus(pool, prefix) };
}

/**
 * Reverts applied migrations down to `toVersion` (0 uninstalls what the port created), newest
 * first, each in its own transaction under the same lock. Version 1's down drops only objects the
 * port created and refuses (ObanError "schema") to drop an oban_jobs that still holds rows.
 */
export async function migrateDown(
  pool: pg.Pool,
  prefix: string,
  toVersion: number,
  options: { dryRun?: boolean } = {},
): Promise<{ reverted: number[]; sql?: string[]; status: MigrationStatus }> {
  checkPrefix(prefix);
  checkVersion("down", toVersion);

  const before = await migrationStatus(pool, prefix);
  if (before.current > before.latest) {
    throw new ObanError("schema", `the database is at version ${before.current}, newer than this oban-ts knows (${before.latest}); use a newer oban-ts to migrate down`);
  }

  if (options.dryRun) {
    const sql = migrations()
      .filter((m) => m.version > toVersion && m.version <= before.current)
      .reverse()
      .map((m) => downText(m, prefix));
    return { reverted: [], sql, status: before };
  }

  const reverted: number[] = [];
  for (;;) {
    const done = await withTransaction(pool, async (client) => {
      await query(client, prefix, "lock", { prefix });
      const current = await currentVersion(client, prefix);
      if (current <= toVersion) return undefined;
      const m = migration(current);
      await client.query(script(m.down, prefix));
      // Version 1's down drops the version table itself.
      const [{ present }] = await query<{ present: boolean }>(client, prefix, "version_table", { table: `${quoteIdent(prefix)}.${VERSION_TABLE}` });
      if (present) await query(client, prefix, "version_forget", { version: current });
      return current;
    }).catch((error) => {
      throw translate(error);
    });
    if (done === undefined) break;
    reverted.push(done);
  }
  return { reverted, status: await migrationStatus(pool, prefix) };
}
