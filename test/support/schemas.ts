import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import type { Test } from "uvu";
import { createPool } from "../../src/db/pool.js";
import { quoteIdent } from "../../src/db/sql.js";
import { migrateUp } from "../../src/engine/migrate.js";

/**
 * Test schemas for the storage tests (COMPAT.md §4, §16):
 * - "ours": an empty prefix installed by the port's migrations only (Elixir v14 shape of oban_jobs);
 * - "elixir": the Elixir v14 fixture (comment '14', jsonb[] errors, nullable meta/tags/attempted_by);
 * - "obanpy": the Oban.py install (identity id, smallints, jsonb errors, NOT NULL meta/tags/attempted_by);
 * - "obanpy_on_elixir": the Oban.py install applied on top of the Elixir v14 fixture.
 * Every kind then runs the port's migrateUp, as a deployment would.
 */
export type SchemaKind = "ours" | "elixir" | "obanpy" | "obanpy_on_elixir";

export const SCHEMA_KINDS: readonly SchemaKind[] = ["ours", "elixir", "obanpy", "obanpy_on_elixir"];

export function testDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
}

const FIXTURES: Record<SchemaKind, string[]> = {
  ours: [],
  elixir: ["elixir_v14.sql"],
  obanpy: ["obanpy.sql"],
  obanpy_on_elixir: ["elixir_v14.sql", "obanpy.sql"],
};

function fixturesDir(): string {
  // Works from test/support (tsx) and from dist/test/support (compiled).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, "test", "fixtures");
    if (existsSync(path.join(candidate, "elixir_v14.sql"))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error("test/fixtures not found above " + fileURLToPath(import.meta.url));
}

const fixtureCache = new Map<string, string>();

/** Fixture text with `{prefix}` replaced by the quoted schema name. */
export function fixtureSql(file: string, prefix: string): string {
  let text = fixtureCache.get(file);
  if (text === undefined) {
    text = readFileSync(path.join(fixturesDir(), file), "utf8");
    fixtureCache.set(file, text);
  }
  return text.replaceAll("{prefix}", quoteIdent(prefix));
}

export function randomPrefix(kind: string): string {
  return `t_${kind}_${randomBytes(5).toString("hex")}`;
}

/** Creates the schema and loads the kind's fixtures, without running the port's migrations. */
export async function loadFixtures(pool: pg.Pool, kind: SchemaKind, prefix = randomPrefix(kind)): Promise<string> {
  if (kind === "ours") return prefix;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(`CREATE SCHEMA ${quoteIdent(prefix)}`);
    for (const file of FIXTURES[kind]) await client.query(fixtureSql(file, prefix));
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  return prefix;
}

/**
 * A fresh schema with a random name (`t_<kind>_<hex>`), fixtures loaded and the port's migrations
 * applied. `drop()` removes the schema with everything in it (idempotent).
 */
export async function createSchema(pool: pg.Pool, kind: SchemaKind): Promise<{ prefix: string; drop: () => Promise<void> }> {
  const prefix = randomPrefix(kind);
  const drop = () => dropSchema(pool, prefix);
  try {
    await loadFixtures(pool, kind, prefix);
    await migrateUp(pool, prefix);
  } catch (error) {
    await drop().catch(() => {});
    throw error;
  }
  return { prefix, drop };
}

/**
 * Wires a suite to a fresh schema of `kind`: a pool and the schema before the suite, both gone
 * after it, and the `clear` tables emptied at the start of each test. Read `pool` and `prefix`
 * inside tests.
 */
export function useSchema(
  test: Test,
  kind: SchemaKind,
  poolMax = 4,
  clear: readonly string[] = ["oban_jobs"],
): { pool: pg.Pool; prefix: string } {
  const context = {} as { pool: pg.Pool; prefix: string };
  let drop = async () => {};
  test.before(async () => {
    context.pool = createPool(testDatabaseUrl(), { max: poolMax });
    ({ prefix: context.prefix, drop } = await createSchema(context.pool, kind));
  });
  test.after(async () => {
    await drop();
    await context.pool.end();
  });
  test.before.each(async () => {
    for (const table of clear) await context.pool.query(`DELETE FROM ${quoteIdent(context.prefix)}.${quoteIdent(table)}`);
  });
  return context;
}

export async function dropSchema(pool: pg.Pool, prefix: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(prefix)} CASCADE`);
}

export interface TableShape {
  exists: boolean;
  persistence?: string; // p permanent, u unlogged
  comment?: string | null;
  options?: string[] | null;
  columns?: { name: string; type: string; notNull: boolean; default: string | null; identity: string }[];
  constraints?: { name: string; type: string; definition: string; validated: boolean }[];
  indexes?: { name: string; definition: string }[];
}

/**
 * A catalog snapshot of one table, with the schema name replaced by `{prefix}` so shapes from
 * different schemas compare equal.
 */
export async function tableShape(db: pg.Pool | pg.ClientBase, prefix: string, table: string): Promise<TableShape> {
  const norm = (text: string | null) =>
    text === null ? null : text.replaceAll(`${quoteIdent(prefix)}.`, "{prefix}.").replaceAll(`${prefix}.`, "{prefix}.");
  const qualified = `${quoteIdent(prefix)}.${quoteIdent(table)}`;
  const rel = await db.query(
    `SELECT c.oid, c.relpersistence, c.reloptions, obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [qualified],
  );
  if (rel.rows.length === 0) return { exists: false };
  const oid = rel.rows[0].oid;
  const columns = await db.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  );
  const constraints = await db.query(
    `SELECT conname AS name, contype AS type, pg_get_constraintdef(oid) AS definition, convalidated AS validated
       FROM pg_constraint WHERE conrelid = $1 ORDER BY conname`,
    [oid],
  );
  const indexes = await db.query(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1 ORDER BY c.relname`,
    [oid],
  );
  return {
    exists: true,
    persistence: rel.rows[0].relpersistence,
    comment: rel.rows[0].comment,
    options: rel.rows[0].reloptions,
    columns: columns.rows.map((r) => ({
      name: r.name,
      type: norm(r.type)!,
      notNull: r.not_null,
      default: norm(r.default),
      identity: r.identity,
    })),
    constraints: constraints.rows.map((r) => ({ name: r.name, type: r.type, definition: norm(r.definition)!, validated: r.validated })),
    indexes: indexes.rows.map((r) => ({ name: r.name, definition: norm(r.definition)! })),
  };
}

/** The labels of `<prefix>.oban_job_state` in enum order ([] when the type is missing). */
export async function enumLabels(db: pg.Pool | pg.ClientBase, prefix: string): Promise<string[]> {
  const result = await db.query(
    `SELECT enumlabel FROM pg_enum WHERE enumtypid = to_regtype($1) ORDER BY enumsortorder`,
    [`${quoteIdent(prefix)}.oban_job_state`],
  );
  return result.rows.map((r) => r.enumlabel);
}

/** Names of the tables (relkind r) in the schema, sorted. */
export async function tablesIn(db: pg.Pool | pg.ClientBase, prefix: string): Promise<string[]> {
  const result = await db.query(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname`,
    [prefix],
  );
  return result.rows.map((r) => r.relname);
}
