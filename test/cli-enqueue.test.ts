import { suite } from "uvu";
import * as assert from "uvu/assert";
import { useSchema, testDatabaseUrl } from "./support/schemas.js";
import { oban } from "./support/cli.js";

const test = suite("oban enqueue");

const schema = useSchema(test, "ours", 2);

const db = () => ["--database-url", testDatabaseUrl(), "--prefix", schema.prefix];
const count = async () => (await schema.pool.query(`SELECT count(*)::int AS n FROM "${schema.prefix}".oban_jobs`)).rows[0].n as number;

test("one job from flags: prints its id; --json prints the typed result", async () => {
  const text = await oban(["enqueue", "MyApp.Mailer", "--args", '{"to":"a@b.c"}', "--queue", "mailers", "--priority", "2", "--max-attempts", "5", "--tags", "Mail, urgent", "--meta", '{"source":"cli"}', ...db()]);
  assert.is(text.exitCode, 0, String(text.stderr));
  const id = String(text.stdout).trim();
  const row = (await schema.pool.query(`SELECT * FROM "${schema.prefix}".oban_jobs WHERE id = $1`, [id])).rows[0];
  assert.is(row.worker, "MyApp.Mailer");
  assert.is(row.queue, "mailers");
  assert.is(row.priority, 2);
  assert.is(row.max_attempts, 5);
  assert.equal(row.tags, ["mail", "urgent"]);
  assert.equal(row.meta, { source: "cli" });
  assert.equal(row.args, { to: "a@b.c" });

  const json = await oban(["enqueue", "MyApp.Report", "--args", "{}", "--schedule-in", "10m", "--json", ...db()]);
  assert.is(json.exitCode, 0, String(json.stderr));
  const result = JSON.parse(String(json.stdout));
  assert.is(result.count, 1);
  assert.is(result.jobs[0].state, "scheduled");
  const ahead = (Date.parse(result.jobs[0].scheduledAt) - Date.now()) / 1000;
  assert.ok(ahead > 500 && ahead <= 600, `scheduled about 10 minutes ahead (${ahead})`);
});

test("JSON lines on stdin are inserted in bulk", async () => {
  const input = Array.from({ length: 250 }, (_, i) => JSON.stringify({ i })).join("\n") + "\n";
  const result = await oban(["enqueue", "Bulk.Worker", "--json", ...db()], { input });
  assert.is(result.exitCode, 0, String(result.stderr));
  assert.is(JSON.parse(String(result.stdout)).count, 250);
  assert.is(await count(), 250);
});

const badInputs: [string, string[], string | undefined, RegExp][] = [
  ["malformed JSON", ["--args", "{not json"], undefined, /--args: malformed JSON/],
  ["args that are an array", ["--args", "[1,2]"], undefined, /--args: must be a JSON object .*got an array/],
  ["args that are a string", ["--args", '"x"'], undefined, /--args: must be a JSON object .*got a string/],
  ["args that are null", ["--args", "null"], undefined, /got null/],
  ["\\u0000 in args", ["--args", '{"a":"x\\u0000y"}'], undefined, /args\.a: contains \\u0000/],
  ["a lone surrogate in args", ["--args", '{"a":"\\ud800"}'], undefined, /args\.a: contains a lone UTF-16 surrogate/],
  ["priority above 9", ["--args", "{}", "--priority", "10"], undefined, /--priority: must be an integer from 0 to 9/],
  ["negative priority", ["--args", "{}", "--priority", "-1"], undefined, /--priority: must be an integer from 0 to 9/],
  ["priority that is not a number", ["--args", "{}", "--priority", "high"], undefined, /--priority: must be an integer/],
  ["max attempts below 1", ["--args", "{}", "--max-attempts", "0"], undefined, /--max-attempts: must be an integer from 1 to 32767/],
  ["an unparseable time", ["--args", "{}", "--scheduled-at", "next tuesday"], undefined, /--scheduled-at: must be a date or an ISO-8601 time/],
  ["an unparseable delay", ["--args", "{}", "--schedule-in", "soonish"], undefined, /--schedule-in: "soonish" is not a duration/],
  ["a queue with a quote", ["--args", "{}", "--queue", 'a"b'], undefined, /--queue: .*must not contain quotes/],
  ["malformed --meta", ["--args", "{}", "--meta", "{"], undefined, /--meta: malformed JSON/],
  ["one bad line in a stdin batch", [], '{"ok":1}\n{"ok":2}\n{"ok":\n{"ok":4}\n', /stdin line 3: args: malformed JSON/],
  ["a non-object line in a stdin batch", [], '{"ok":1}\n[]\n', /stdin line 2: args: must be a JSON object/],
];

for (const [name, flags, input, message] of badInputs) {
  test(`rejects ${name}: exit 2, a message naming the field, nothing inserted`, async () => {
    const result = await oban(["enqueue", "Some.Worker", ...flags, ...db()], input === undefined ? {} : { input });
    assert.is(result.exitCode, 2, `exit code (stderr: ${result.stderr})`);
    assert.match(String(result.stderr), message);
    assert.is(await count(), 0);
  });
}

test("--max-args-bytes sets the args size limit", async () => {
  const args = JSON.stringify({ a: "0123456789" });
  const refused = await oban(["enqueue", "Some.Worker", "--args", args, "--max-args-bytes", "10", ...db()]);
  assert.is(refused.exitCode, 2);
  assert.match(String(refused.stderr), /--args: is 18 bytes of JSON, above the limit of 10/);
  assert.is(await count(), 0);
  const accepted = await oban(["enqueue", "Some.Worker", "--args", args, "--max-args-bytes", "100", ...db()]);
  assert.is(accepted.exitCode, 0, String(accepted.stderr));
  assert.is(await count(), 1);
});

test("--json errors are printed as {error: {code, message}}", async () => {
  const result = await oban(["enqueue", "Some.Worker", "--args", "[]", "--json", ...db()]);
  assert.is(result.exitCode, 2);
  const parsed = JSON.parse(String(result.stdout));
  assert.is(parsed.error.code, "invalid_input");
  assert.match(parsed.error.message, /--args: must be a JSON object/);
});

test("an unreachable database exits 3 without echoing the password", async () => {
  const result = await oban(["enqueue", "Some.Worker", "--args", "{}", "--database-url", "postgres://u:s3cr%40t@127.0.0.1:1/db"]);
  assert.is(result.exitCode, 3, String(result.stderr));
  assert.match(String(result.stderr), /cannot reach PostgreSQL/);
  assert.not.match(String(result.stderr) + String(result.stdout), /s3cr/);
});

test("a schema that was never migrated is named, with the fix", async () => {
  const result = await oban(["enqueue", "Some.Worker", "--args", "{}", "--database-url", testDatabaseUrl(), "--prefix", "never_migrated_here"]);
  assert.is(result.exitCode, 1);
  assert.match(String(result.stderr), /oban migrate/);
});

test.run();
