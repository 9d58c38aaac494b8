import { suite } from "uvu";
import * as assert from "uvu/assert";
import { fileURLToPath } from "node:url";
import { execa, type Result } from "execa";
import type pg from "pg";
import { createPool } from "../src/db/pool.js";
import { dropSchema, randomPrefix, tablesIn, testDatabaseUrl } from "./support/schemas.js";

// dist/test/cli-migrate.test.js → repository root
const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = fileURLToPath(new URL("../../bin/run.js", import.meta.url));

let pool: pg.Pool;
const prefixes: string[] = [];
const fresh = () => {
  const prefix = randomPrefix("cli");
  prefixes.push(prefix);
  return prefix;
};

async function oban(args: string[]): Promise<Result> {
  const child = execa("node", [bin, ...args], {
    cwd: root,
    reject: false,
    timeout: 30_000,
    env: { NO_COLOR: "1", FORCE_COLOR: "0", OBAN_PREFIX: undefined },
    extendEnv: true,
  });
  try {
    return await child;
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

const migrate = (prefix: string, ...extra: string[]) => oban(["migrate", "--database-url", testDatabaseUrl(), "--prefix", prefix, ...extra]);

const test = suite("cli migrate");

test.before(async () => {
  pool = createPool(testDatabaseUrl(), { max: 2 });
});

test.after(async () => {
  for (const prefix of prefixes) await dropSchema(pool, prefix).catch(() => {});
  await pool.end();
});

test("migrate twice: installs, then already up to date", async () => {
  const prefix = fresh();
  const first = await migrate(prefix);
  assert.is(first.exitCode, 0, String(first.stderr));
  assert.match(String(first.stdout), /applied migration 1/);
  assert.match(String(first.stdout), /now at version 1/);
  const second = await migrate(prefix);
  assert.is(second.exitCode, 0, String(second.stderr));
  assert.match(String(second.stdout), /already up to date \(version 1\)/);
});

test("--check: exit 1 on a fresh prefix, exit 0 when current", async () => {
  const prefix = fresh();
  const pending = await migrate(prefix, "--check");
  assert.is(pending.exitCode, 1, String(pending.stderr));
  assert.match(String(pending.stdout), /pending migrations/);
  assert.equal(await tablesIn(pool, prefix), [], "--check changes nothing");
  await migrate(prefix);
  const current = await migrate(prefix, "--check");
  assert.is(current.exitCode, 0, String(current.stderr));
  assert.match(String(current.stdout), /up to date \(version 1\)/);
});

test("--dry-run prints the SQL and changes nothing", async () => {
  const prefix = fresh();
  const result = await migrate(prefix, "--dry-run");
  assert.is(result.exitCode, 0, String(result.stderr));
  assert.match(String(result.stdout), `CREATE TABLE "${prefix}".oban_jobs`);
  const exists = await pool.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [prefix]);
  assert.is(exists.rowCount, 0, "schema not created");
});

test("--json shapes: up, check, down", async () => {
  const prefix = fresh();
  const up = await migrate(prefix, "--json");
  assert.is(up.exitCode, 0, String(up.stderr));
  assert.equal(JSON.parse(String(up.stdout)), { action: "up", dryRun: false, applied: [1], status: { current: 1, latest: 1, pending: [] } });

  const check = await migrate(prefix, "--check", "--json");
  assert.is(check.exitCode, 0);
  assert.equal(JSON.parse(String(check.stdout)), { action: "check", dryRun: false, upToDate: true, status: { current: 1, latest: 1, pending: [] } });

  const dry = await migrate(prefix, "--down", "0", "--dry-run", "--json");
  assert.is(dry.exitCode, 0, String(dry.stderr));
  const dryResult = JSON.parse(String(dry.stdout));
  assert.is(dryResult.action, "down");
  assert.equal(dryResult.reverted, []);
  assert.is(dryResult.sql.length, 1);

  const down = await migrate(prefix, "--down", "0", "--json");
  assert.is(down.exitCode, 0, String(down.stderr));
  assert.equal(JSON.parse(String(down.stdout)), { action: "down", dryRun: false, reverted: [1], status: { current: 0, latest: 1, pending: [1] } });

  const pending = await migrate(prefix, "--check", "--json");
  assert.is(pending.exitCode, 1);
  assert.equal(JSON.parse(String(pending.stdout)).upToDate, false);
});

test("a bad --prefix exits 2", async () => {
  const result = await migrate("Bad-Prefix");
  assert.is(result.exitCode, 2);
  assert.match(String(result.stderr), /prefix/);
});

test("--down out of range exits 2", async () => {
  const result = await migrate(fresh(), "--down", "99");
  assert.is(result.exitCode, 2, String(result.stderr));
});

test("an unreachable database exits 3 without echoing the password", async () => {
  const result = await oban(["migrate", "--database-url", "postgres://x:secret@127.0.0.1:1/db", "--prefix", fresh()]);
  assert.is(result.exitCode, 3, String(result.stderr));
  assert.not.match(String(result.stdout) + String(result.stderr), "secret");
  assert.match(String(result.stderr), /cannot reach PostgreSQL/);
  const json = await oban(["migrate", "--database-url", "postgres://x:secret@127.0.0.1:1/db", "--prefix", fresh(), "--json"]);
  assert.is(json.exitCode, 3);
  assert.not.match(String(json.stdout) + String(json.stderr), "secret");
  assert.is(JSON.parse(String(json.stdout)).error.code, "database_unavailable");
});

test.run();
