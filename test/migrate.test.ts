import { suite } from "uvu";
import * as assert from "uvu/assert";
import type pg from "pg";
import { createPool } from "../src/db/pool.js";
import { quoteIdent } from "../src/db/sql.js";
import { ObanError } from "../src/errors.js";
import { latestVersion, migrateDown, migrateUp, migrationStatus } from "../src/engine/migrate.js";
import {
  createSchema,
  dropSchema,
  enumLabels,
  loadFixtures,
  randomPrefix,
  tableShape,
  tablesIn,
  testDatabaseUrl,
  type SchemaKind,
  type TableShape,
} from "./support/schemas.js";

const ELIXIR_LABELS = ["available", "suspended", "scheduled", "executing", "retryable", "completed", "discarded", "cancelled"];
const OBANPY_LABELS = ["available", "scheduled", "suspended", "executing", "retryable", "completed", "discarded", "cancelled"];
const ALL_TABLES = ["oban_jobs", "oban_leaders", "oban_peers", "oban_producers", "oban_ts_migrations"];

let pool: pg.Pool;
const prefixes: string[] = [];
const fresh = (kind = "mig") => {
  const prefix = randomPrefix(kind);
  prefixes.push(prefix);
  return prefix;
};

async function schemaExists(prefix: string): Promise<boolean> {
  const r = await pool.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [prefix]);
  return r.rowCount === 1;
}

const test = suite("migrate");

test.before(async () => {
  pool = createPool(testDatabaseUrl(), { max: 8 });
});

test.after(async () => {
  for (const prefix of prefixes) await dropSchema(pool, prefix).catch(() => {});
  await pool.end();
});

test("status on an empty prefix: version 0, everything pending", async () => {
  const prefix = fresh();
  const status = await migrationStatus(pool, prefix);
  assert.equal(status, { current: 0, latest: latestVersion(), pending: [1] });
  assert.ok(latestVersion() >= 1);
});

test("fresh install, then a second run is a no-op", async () => {
  const prefix = fresh();
  const first = await migrateUp(pool, prefix);
  assert.equal(first.applied, [1]);
  assert.equal(first.status, { current: 1, latest: 1, pending: [] });
  assert.equal(await tablesIn(pool, prefix), ALL_TABLES);
  assert.equal(await enumLabels(pool, prefix), ELIXIR_LABELS);
  for (const table of ["oban_peers", "oban_leaders", "oban_producers"]) {
    assert.is((await tableShape(pool, prefix, table)).persistence, "u", `${table} is UNLOGGED`);
  }
  const jobs = await tableShape(pool, prefix, "oban_jobs");
  assert.is(jobs.persistence, "p");
  assert.is(jobs.comment, null, "never comments oban_jobs");
  const triggers = await pool.query("SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal", [`${quoteIdent(prefix)}.oban_jobs`]);
  assert.is(triggers.rowCount, 0, "no triggers");
  const functions = await pool.query("SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1", [prefix]);
  assert.is(functions.rowCount, 0, "no functions (oban_count_estimate)");

  const before = await tableShape(pool, prefix, "oban_jobs");
  const second = await migrateUp(pool, prefix);
  assert.equal(second.applied, []);
  assert.equal(second.status, { current: 1, latest: 1, pending: [] });
  assert.equal(await tableShape(pool, prefix, "oban_jobs"), before);
  const rows = await pool.query(`SELECT version, created FROM ${quoteIdent(prefix)}.oban_ts_migrations`);
  assert.equal(rows.rows, [{ version: 1, created: ["schema", "oban_job_state", "oban_jobs", "oban_peers", "oban_leaders", "oban_producers"] }]);
});

test("the installed jobs table accepts a row the way the port writes it", async () => {
  const prefix = fresh();
  await migrateUp(pool, prefix);
  const q = quoteIdent(prefix);
  const r = await pool.query(
    `INSERT INTO ${q}.oban_jobs (state, queue, worker, args, meta, tags, attempted_by, max_attempts, priority)
     VALUES ('available', 'default', 'W', '{}', '{}', '{}', '{}', 20, 0) RETURNING id, to_jsonb(errors) AS errors`,
  );
  assert.equal(r.rows[0].errors, []);
  try {
    await pool.query(`INSERT INTO ${q}.oban_jobs (worker, priority) VALUES ('W', -1)`);
    assert.unreachable("negative priority must be rejected");
  } catch (error) {
    assert.is((error as { constraint?: string }).constraint, "non_negative_priority");
  }
});

test("status and --check semantics: pending before, none after", async () => {
  const prefix = fresh();
  assert.equal((await migrationStatus(pool, prefix)).pending, [1]);
  await migrateUp(pool, prefix);
  const status = await migrationStatus(pool, prefix);
  assert.equal(status.pending, []);
  assert.is(status.current, status.latest);
  // also through a client, as other modules call it inside transactions
  const client = await pool.connect();
  try {
    assert.equal(await migrationStatus(client, prefix), status);
  } finally {
    client.release();
  }
});

test("4 concurrent migrateUp on an empty prefix: all succeed, one install", async () => {
  const prefix = fresh();
  const pools = Array.from({ length: 4 }, () => createPool(testDatabaseUrl(), { max: 2 }));
  try {
    const results = await Promise.all(pools.map((p) => migrateUp(p, prefix)));
    const applied = results.flatMap((r) => r.applied);
    assert.equal(applied, [1], "exactly one run applied version 1");
    for (const r of results) assert.equal(r.status.pending, []);
    const rows = await pool.query(`SELECT count(*)::int AS n FROM ${quoteIdent(prefix)}.oban_ts_migrations`);
    assert.is(rows.rows[0].n, 1);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});

test("dry run returns the SQL and changes nothing", async () => {
  const prefix = fresh();
  const result = await migrateUp(pool, prefix, { dryRun: true });
  assert.equal(result.applied, []);
  assert.is(result.sql?.length, 1);
  assert.match(result.sql![0], `CREATE TABLE ${quoteIdent(prefix)}.oban_jobs`);
  assert.match(result.sql![0], "oban_ts_migrations");
  assert.not.match(result.sql![0], "{prefix}");
  assert.is(await schemaExists(prefix), false, "schema not created");
  assert.equal((await migrationStatus(pool, prefix)).current, 0);

  await migrateUp(pool, prefix);
  const none = await migrateUp(pool, prefix, { dryRun: true });
  assert.equal(none.sql, []);

  const down = await migrateDown(pool, prefix, 0, { dryRun: true });
  assert.equal(down.reverted, []);
  assert.is(down.sql?.length, 1);
  assert.match(down.sql![0], "DROP TABLE");
  assert.equal((await migrationStatus(pool, prefix)).current, 1, "down dry run changed nothing");
  assert.equal(await tablesIn(pool, prefix), ALL_TABLES);
});

test("down then up", async () => {
  const prefix = fresh();
  await migrateUp(pool, prefix);
  const down = await migrateDown(pool, prefix, 0);
  assert.equal(down.reverted, [1]);
  assert.equal(down.status, { current: 0, latest: 1, pending: [1] });
  assert.is(await schemaExists(prefix), false, "the port created the schema, so down removed it");
  assert.equal((await migrateDown(pool, prefix, 0)).reverted, [], "down again is a no-op");
  const up = await migrateUp(pool, prefix);
  assert.equal(up.applied, [1]);
  assert.equal(await tablesIn(pool, prefix), ALL_TABLES);
});

test("down keeps a schema it did not create, and refuses to drop jobs", async () => {
  const prefix = fresh();
  await pool.query(`CREATE SCHEMA ${quoteIdent(prefix)}`);
  await migrateUp(pool, prefix);
  await pool.query(`INSERT INTO ${quoteIdent(prefix)}.oban_jobs (worker) VALUES ('W')`);
  try {
    await migrateDown(pool, prefix, 0);
    assert.unreachable("must refuse");
  } catch (error) {
    assert.instance(error, ObanError);
    assert.is((error as ObanError).code, "schema");
    assert.match((error as Error).message, "oban_jobs");
  }
  assert.equal(await tablesIn(pool, prefix), ALL_TABLES, "nothing dropped");
  await pool.query(`DELETE FROM ${quoteIdent(prefix)}.oban_jobs`);
  assert.equal((await migrateDown(pool, prefix, 0)).reverted, [1]);
  assert.is(await schemaExists(prefix), true);
  assert.equal(await tablesIn(pool, prefix), []);
});

test("bad input: prefix and versions", async () => {
  for (const run of [
    () => migrationStatus(pool, "Bad-Prefix"),
    () => migrateUp(pool, "x; drop"),
    () => migrateUp(pool, fresh(), { to: 99 }),
    () => migrateDown(pool, fresh(), -1),
    () => migrateDown(pool, fresh(), 1.5),
  ]) {
    try {
      await run();
      assert.unreachable("must throw");
    } catch (error) {
      assert.instance(error, ObanError);
      assert.is((error as ObanError).code, "invalid_input");
    }
  }
});

test("an existing enum missing labels gets them added in Elixir positions", async () => {
  const prefix = fresh();
  const q = quoteIdent(prefix);
  await pool.query(`CREATE SCHEMA ${q}`);
  await pool.query(`CREATE TYPE ${q}.oban_job_state AS ENUM ('available','scheduled','executing','retryable','completed','discarded')`);
  const result = await migrateUp(pool, prefix);
  assert.equal(result.applied, [1]);
  assert.equal(await enumLabels(pool, prefix), ELIXIR_LABELS);
  const created = await pool.query(`SELECT created FROM ${q}.oban_ts_migrations`);
  assert.equal(created.rows[0].created, ["oban_job_state.suspended", "oban_job_state.cancelled", "oban_jobs", "oban_peers", "oban_leaders", "oban_producers"]);
  // down keeps the type it did not create
  await migrateDown(pool, prefix, 0);
  assert.equal(await enumLabels(pool, prefix), ELIXIR_LABELS);
});

// ---------------------------------------------------------------------------------------------
// Fixtures: the installer is a no-op on oban_jobs apart from the missing tables (COMPAT.md §16).

const fixtureCases: { kind: SchemaKind; labels: string[]; before: string[]; created: string[]; comment: string | null }[] = [
  { kind: "elixir", labels: ELIXIR_LABELS, before: ["oban_jobs", "oban_peers"], created: ["oban_leaders", "oban_producers"], comment: "14" },
  { kind: "obanpy", labels: OBANPY_LABELS, before: ["oban_jobs", "oban_leaders", "oban_producers"], created: ["oban_peers"], comment: null },
  { kind: "obanpy_on_elixir", labels: ELIXIR_LABELS, before: ["oban_jobs", "oban_leaders", "oban_peers", "oban_producers"], created: [], comment: "14" },
];

for (const c of fixtureCases) {
  test(`fixture ${c.kind}: adds only the missing tables, oban_jobs and the enum unchanged`, async () => {
    const prefix = await loadFixtures(pool, c.kind, fresh(c.kind));
    assert.equal(await tablesIn(pool, prefix), c.before);
    const shapes = async () =>
      Object.fromEntries(await Promise.all(["oban_jobs", "oban_peers", "oban_leaders", "oban_producers"].map(async (t) => [t, await tableShape(pool, prefix, t)] as const)));
    const before = await shapes();
    assert.equal(await enumLabels(pool, prefix), c.labels);
    assert.is(before.oban_jobs.comment, c.comment);

    const result = await migrateUp(pool, prefix);
    assert.equal(result.applied, [1]);

    const after = await shapes();
    assert.equal(after.oban_jobs, before.oban_jobs, "oban_jobs: columns, types, constraints, indexes, comment, options unchanged");
    assert.is(after.oban_jobs.comment, c.comment);
    assert.equal(await enumLabels(pool, prefix), c.labels, "enum labels and order preserved");
    assert.equal(await tablesIn(pool, prefix), ALL_TABLES);
    for (const t of ["oban_peers", "oban_leaders", "oban_producers"] as const) {
      if (c.before.includes(t)) assert.equal(after[t], before[t], `${t} untouched`);
      else assert.is(after[t].persistence, "u", `${t} created UNLOGGED`);
    }
    const rows = await pool.query(`SELECT created FROM ${quoteIdent(prefix)}.oban_ts_migrations`);
    assert.equal(rows.rows[0].created, c.created);

    // down removes only what the port created
    await migrateDown(pool, prefix, 0);
    assert.equal(await tablesIn(pool, prefix), c.before);
    assert.equal((await tableShape(pool, prefix, "oban_jobs")), before.oban_jobs);
  });
}

test("the port's oban_jobs has the Elixir v14 fixture's shape", async () => {
  const ours = fresh("ours");
  await migrateUp(pool, ours);
  const elixir = await loadFixtures(pool, "elixir", fresh("elixir"));
  const oursShape = await tableShape(pool, ours, "oban_jobs");
  const elixirShape = await tableShape(pool, elixir, "oban_jobs");
  const comparable = (shape: TableShape) => ({
    ...shape,
    comment: undefined, // Elixir writes '14'; the port never writes a comment
    // Elixir's V12 added non_negative_priority NOT VALID; the port creates it validated.
    constraints: shape.constraints!.map((c) => ({ ...c, definition: c.definition.replace(/ NOT VALID$/, ""), validated: undefined })),
  });
  assert.equal(comparable(oursShape), comparable(elixirShape));
  assert.equal(await tableShape(pool, ours, "oban_peers"), await tableShape(pool, elixir, "oban_peers"));
  assert.equal(await enumLabels(pool, ours), await enumLabels(pool, elixir));
});

test("createSchema: every kind installs, is current, and drops", async () => {
  const kinds: SchemaKind[] = ["ours", "elixir", "obanpy", "obanpy_on_elixir"];
  const made = await Promise.all(kinds.map((k) => createSchema(pool, k)));
  try {
    for (const [i, { prefix }] of made.entries()) {
      assert.match(prefix, new RegExp(`^t_${kinds[i]}_[0-9a-f]{10}$`));
      assert.equal((await migrationStatus(pool, prefix)).pending, []);
      assert.equal(await tablesIn(pool, prefix), ALL_TABLES);
    }
  } finally {
    await Promise.all(made.map((m) => m.drop()));
  }
  for (const { prefix } of made) assert.is(await schemaExists(prefix), false);
});

test.run();
