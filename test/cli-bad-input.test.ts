import { suite } from "uvu";
import * as assert from "uvu/assert";
import type pg from "pg";
import { createPool } from "../src/db/pool.js";
import { ChaosServer } from "./chaos/harness.js";
import { createSchema, testDatabaseUrl } from "./support/schemas.js";
import { oban } from "./support/cli.js";

/**
 * Bad input on the command line, beyond what cli-enqueue.test.ts covers: malformed JSON in its many
 * forms, NUL and lone surrogates in every text field, odd queue and worker names, bad database URLs
 * (wrong scheme, unreachable, wrong password, missing database, passwords with @#% and spaces),
 * and --json errors. Every case checks the exit code, the message, and that oban_jobs is unchanged.
 * Wrong passwords need a server that checks them: an embedded one of this file's own.
 */
const test = suite("CLI bad input");
let pool: pg.Pool;
let prefix: string;
let drop: () => Promise<void>;
let auth: ChaosServer;

test.before(async () => {
  pool = createPool(testDatabaseUrl(), { max: 2 });
  ({ prefix, drop } = await createSchema(pool, "ours"));
  await pool.query(`INSERT INTO "${prefix}".oban_jobs (worker, args) VALUES ('Existing.Job', '{"keep":1}')`);
  auth = await ChaosServer.acquire("badinput");
});
test.after(async () => {
  await drop();
  await pool.end();
  await auth.release();
});

const db = () => ["--database-url", testDatabaseUrl(), "--prefix", prefix];

/** Everything about oban_jobs that a write would change. */
async function snapshot(): Promise<string> {
  const r = await pool.query(`SELECT count(*)::int AS n, coalesce(max(id), 0)::text AS max, md5(coalesce(string_agg(id || ':' || state || ':' || worker || ':' || queue || ':' || args::text, ',' ORDER BY id), '')) AS sum FROM "${prefix}".oban_jobs`);
  return JSON.stringify(r.rows[0]);
}

async function rejects(args: string[], code: number, message: RegExp, options: { input?: string; json?: string; env?: Record<string, string | undefined>; secret?: string } = {}) {
  const before = await snapshot();
  const r = await oban(args, { ...(options.input !== undefined ? { input: options.input } : {}), env: options.env, timeout: 30_000 });
  const out = String(r.stdout) + String(r.stderr);
  assert.is(r.exitCode, code, `exit code of ${JSON.stringify(args)}: ${out}`);
  if (options.json) {
    const parsed = JSON.parse(String(r.stdout));
    assert.equal(Object.keys(parsed), ["error"]);
    assert.equal(Object.keys(parsed.error).sort(), ["code", "message"]);
    assert.is(parsed.error.code, options.json);
    assert.match(parsed.error.message, message);
  } else {
    assert.match(String(r.stderr), message);
    assert.is(String(r.stderr).trim().split("\n").length, 1, `one line: ${JSON.stringify(String(r.stderr))}`);
  }
  if (options.secret) assert.not.ok(out.includes(options.secret), `the password ${JSON.stringify(options.secret)} was echoed: ${out}`);
  assert.is(await snapshot(), before, "oban_jobs changed");
}

// ── malformed JSON ───────────────────────────────────────────────────────────────────────────

const malformed: [string, string, RegExp][] = [
  ["empty", "", /--args: malformed JSON/],
  ["whitespace only", "   ", /--args: malformed JSON/],
  ["a trailing comma", '{"a":1,}', /--args: malformed JSON/],
  ["single quotes", "{'a':1}", /--args: malformed JSON/],
  ["unquoted keys", "{a:1}", /--args: malformed JSON/],
  ["garbage after the object", "{} x", /--args: malformed JSON/],
  ["two objects", "{}{}", /--args: malformed JSON/],
  ["NaN", '{"a":NaN}', /--args: malformed JSON/],
  ["a comment", '{"a":1 /* c */}', /--args: malformed JSON/],
  ["an unterminated string", '{"a":"', /--args: malformed JSON/],
  ["a byte order mark", "\ufeff{}", /--args: malformed JSON/],
  ["a number too large for a double", '{"a":1e400}', /args\.a: Infinity is not representable in JSON/],
  ["a bare number", "42", /--args: must be a JSON object .*got a number/],
  ["a boolean", "true", /--args: must be a JSON object .*got a boolean/],
  ["\\u0000 in a key", '{"a\\u0000b":1}', /args key: contains \\u0000/],
  ["\\u0000 deep in an array", '{"a":[1,{"b":["x\\u0000"]}]}', /args\.a\[1\]\.b\[0\]: contains \\u0000/],
  ["a lone low surrogate", '{"a":"\\udc00x"}', /args\.a: contains a lone UTF-16 surrogate/],
  ["a lone surrogate in a key", '{"\\ud800":1}', /args key: contains a lone UTF-16 surrogate/],
];
for (const [name, text, message] of malformed) {
  test(`--args ${name}: exit 2, named, nothing written`, () => rejects(["enqueue", "Some.Worker", "--args", text, ...db()], 2, message));
}

test("--meta with \\u0000 or a lone surrogate, or not an object: exit 2", async () => {
  await rejects(["enqueue", "W", "--args", "{}", "--meta", '{"x":"a\\u0000"}', ...db()], 2, /meta\.x: contains \\u0000/);
  await rejects(["enqueue", "W", "--args", "{}", "--meta", '{"x":"\\ud83d"}', ...db()], 2, /meta\.x: contains a lone UTF-16 surrogate/);
  await rejects(["enqueue", "W", "--args", "{}", "--meta", "[1]", ...db()], 2, /--meta: must be a JSON object/);
});

test("stdin: a lone surrogate, \\u0000 or a BOM on one line rejects the whole batch", async () => {
  await rejects(["enqueue", "W", ...db()], 2, /stdin line 2: args\.a: contains a lone UTF-16 surrogate/, { input: '{"ok":1}\n{"a":"\\ud800"}\n{"ok":3}\n' });
  await rejects(["enqueue", "W", ...db()], 2, /stdin line 3: args\.a: contains \\u0000/, { input: '{"ok":1}\n\n{"a":"\\u0000"}\n' });
  await rejects(["enqueue", "W", ...db()], 2, /stdin line 1: args: malformed JSON/, { input: '\ufeff{"ok":1}\n' });
  await rejects(["enqueue", "W", "--json", ...db()], 2, /stdin line 2: args: malformed JSON/, { input: '{"ok":1}\n{"ok":2\n', json: "invalid_input" });
});

test("args above the 1 MiB limit are rejected before any connection: exit 2 even when the database is unreachable", async () => {
  const big = JSON.stringify({ pad: "x".repeat(1024 * 1024) }) + "\n";
  await rejects(["enqueue", "W", "--database-url", "postgres://u:hunter2@127.0.0.1:1/x"], 2, /stdin line 1: args: is 1048586 bytes of JSON, above the limit of 1048576/, { input: big, secret: "hunter2" });
  await rejects(["enqueue", "W", "--json", ...db()], 2, /above the limit of 1048576/, { input: `{"ok":1}\n${big}`, json: "invalid_input" });
});

// ── names ────────────────────────────────────────────────────────────────────────────────────

test("worker names with quotes, semicolons, backslashes and unicode are opaque strings that round-trip exactly", async () => {
  const names = [`O'Brien"s.Worker; DROP TABLE oban_jobs; --`, "Émile.Wörker.日本語.🚀", "Back\\slash.Worker", "  padded  "];
  for (const name of names) {
    const r = await oban(["enqueue", name, "--args", "{}", "--json", ...db()]);
    assert.is(r.exitCode, 0, String(r.stderr));
    const result = JSON.parse(String(r.stdout));
    assert.is(result.jobs[0].worker, name, "printed back exactly");
    const row = (await pool.query(`SELECT worker FROM "${prefix}".oban_jobs WHERE id = $1`, [result.jobs[0].id])).rows[0];
    assert.is(row.worker, name, "stored exactly");
  }
  assert.ok((await pool.query(`SELECT to_regclass($1) AS t`, [`${prefix}.oban_jobs`])).rows[0].t, "the table is still there");
  await pool.query(`DELETE FROM "${prefix}".oban_jobs WHERE worker <> 'Existing.Job'`);
});

test("queue names with semicolons and unicode round-trip; a backslash, a control character or 128 characters are rejected", async () => {
  for (const queue of ["a;b", "очередь-ü", "🚀"]) {
    const r = await oban(["enqueue", "W", "--args", "{}", "--queue", queue, "--json", ...db()]);
    assert.is(r.exitCode, 0, String(r.stderr));
    const id = JSON.parse(String(r.stdout)).jobs[0].id;
    assert.is((await pool.query(`SELECT queue FROM "${prefix}".oban_jobs WHERE id = $1`, [id])).rows[0].queue, queue);
  }
  await pool.query(`DELETE FROM "${prefix}".oban_jobs WHERE worker <> 'Existing.Job'`);
  await rejects(["enqueue", "W", "--args", "{}", "--queue", "a\\b", ...db()], 2, /--queue: .*must not contain quotes, backslashes or control characters/);
  await rejects(["enqueue", "W", "--args", "{}", "--queue", "a\tb", "--json", ...db()], 2, /--queue: .*must not contain/, { json: "invalid_input" });
  await rejects(["enqueue", "W", "--args", "{}", "--queue", "q".repeat(128), ...db()], 2, /--queue: must be at most 127 characters/);
  await rejects(["enqueue", "W", "--args", "{}", "--queue", "", ...db()], 2, /queue/);
});

test("worker names: blank, a control character or 128 characters are rejected", async () => {
  await rejects(["enqueue", "   ", "--args", "{}", ...db()], 2, /--worker: must be a non-empty string/);
  await rejects(["enqueue", "W\u0001x", "--args", "{}", ...db()], 2, /--worker: must not contain control characters/);
  await rejects(["enqueue", "W".repeat(128), "--args", "{}", "--json", ...db()], 2, /--worker: must be at most 127 characters/, { json: "invalid_input" });
});

test("a queue name with a quote in `work --queues` is rejected before anything starts", async () => {
  await rejects(["work", "--queues", 'a"b:2', ...db()], 2, /queue|quotes/);
});

// ── database URLs ────────────────────────────────────────────────────────────────────────────

test("a URL with the wrong scheme or no URL at all: exit 2, the password not echoed", async () => {
  await rejects(["enqueue", "W", "--args", "{}", "--database-url", "mysql://u:hunter2@127.0.0.1/x"], 2, /--database-url: unsupported scheme "mysql"/, { secret: "hunter2" });
  await rejects(["migrate", "--database-url", "http://u:hunter2@127.0.0.1/x", "--json"], 2, /unsupported scheme "http"/, { json: "invalid_input", secret: "hunter2" });
  await rejects(["inspect", "--database-url", "not a url"], 2, /--database-url: not a valid URL/);
  await rejects(["enqueue", "W", "--args", "{}"], 2, /DATABASE_URL: unsupported scheme "redis"/, { env: { DATABASE_URL: "redis://:hunter2@127.0.0.1:6379" }, secret: "hunter2" });
  await rejects(["enqueue", "W", "--args", "{}", "--database-url", "postgres://u:p#ss@127.0.0.1:1/x"], 2, /not a valid URL/, { secret: "p#ss" });
});

test("an unreachable host: exit 3 from enqueue, migrate, inspect, cancel, prune, rescue; --json gives database_unavailable", async () => {
  const url = "postgres://u:hunter2@127.0.0.1:1/x";
  for (const args of [["enqueue", "W", "--args", "{}"], ["migrate"], ["inspect"], ["cancel", "1"], ["prune"], ["rescue"]]) {
    await rejects([...args, "--database-url", url], 3, /^Error: cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/, { secret: "hunter2" });
  }
  await rejects(["migrate", "--json", "--database-url", url], 3, /cannot reach PostgreSQL/, { json: "database_unavailable", secret: "hunter2" });
});

test("passwords with @ # % (percent-encoded) are never echoed, whatever the failure", async () => {
  const raw = "p@ss#w%rd";
  const encoded = encodeURIComponent(raw);
  await rejects(["enqueue", "W", "--args", "{}", "--database-url", `postgres://u:${encoded}@127.0.0.1:1/x`], 3, /cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@/, { secret: encoded });
  await rejects(["migrate", "--database-url", `postgres://u:${encoded}@127.0.0.1:1/x`, "--json"], 3, /cannot reach/, { json: "database_unavailable", secret: raw });
  // Unencoded "@" or "#" in the password would split the URL in the wrong place (a piece of the
  // password would become the host): refused as usage before connecting, the password not echoed.
  await rejects(["inspect", "--database-url", "postgres://u:p@ss@127.0.0.1:1/x"], 2, /--database-url: cannot be parsed safely: percent-encode/, { secret: "p@ss" });
  await rejects(["inspect", "--database-url", `postgres://u:${raw}@127.0.0.1:1/x`], 2, /--database-url: cannot be parsed safely: percent-encode/, { secret: "ss#w" });
});

test("a password containing a space is never echoed", async () => {
  // Demonstrates a redaction bug: the URL parses, and the unreachable message printed it whole.
  await rejects(["enqueue", "W", "--args", "{}", "--database-url", "postgres://u:top secret@127.0.0.1:1/x"], 3, /cannot reach PostgreSQL/, { secret: "secret" });
});

test("a wrong password and a missing database (a server that checks passwords): exit 3, the password not echoed", async () => {
  const good = new URL(auth.url);
  const wrong = new URL(auth.url);
  wrong.password = encodeURIComponent("wr@ng#pa%ss");
  await rejects(["enqueue", "W", "--args", "{}", "--database-url", wrong.toString()], 3, /cannot reach PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres: password authentication failed/, { secret: "wr@ng" });
  await rejects(["migrate", "--json", "--database-url", wrong.toString()], 3, /password authentication failed/, { json: "database_unavailable", secret: "pa%ss" });
  const missing = new URL(auth.url);
  missing.pathname = "/no_such_database";
  await rejects(["enqueue", "W", "--args", "{}", "--database-url", missing.toString()], 3, /database "no_such_database" does not exist/, { secret: decodeURIComponent(good.password) });
  await rejects(["inspect", "--json", "--database-url", missing.toString()], 3, /does not exist/, { json: "database_unavailable", secret: decodeURIComponent(good.password) });
});

// ── usage errors with --json ─────────────────────────────────────────────────────────────────

test("--json usage errors: unknown flag, missing argument, bad integer, exclusive flags", async () => {
  await rejects(["enqueue", "W", "--args", "{}", "--bogus", "--json", ...db()], 2, /Nonexistent flag: --bogus/, { json: "invalid_input" });
  await rejects(["enqueue", "--json", ...db()], 2, /worker/i, { json: "invalid_input" });
  await rejects(["enqueue", "W", "--args", "{}", "--priority", "1.5", "--json", ...db()], 2, /--priority: must be an integer/, { json: "invalid_input" });
  await rejects(["enqueue", "W", "--args", "{}", "--schedule-in", "1m", "--scheduled-at", "2030-01-01T00:00:00Z", "--json", ...db()], 2, /schedule/, { json: "invalid_input" });
  await rejects(["prune", "--max-age", "forever", "--json", ...db()], 2, /--max-age/, { json: "invalid_input" });
});

test.run();
