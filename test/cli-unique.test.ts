import { suite } from "uvu";
import * as assert from "uvu/assert";
import { testDatabaseUrl, useSchema } from "./support/schemas.js";
import { oban } from "./support/cli.js";

const test = suite("oban enqueue --unique");
const db = useSchema(test, "ours", 2);

const flags = () => ["--database-url", testDatabaseUrl(), "--prefix", db.prefix];
const ids = async () => (await db.pool.query(`SELECT id::text FROM "${db.prefix}".oban_jobs ORDER BY id`)).rows.map((r) => r.id as string);

test("a conflict prints the existing job's id, says so on stderr, exits 0 and inserts nothing", async () => {
  const first = await oban(["enqueue", "MyApp.Sync", "--args", '{"account":7}', "--unique", "10m", ...flags()]);
  assert.is(first.exitCode, 0, String(first.stderr));
  const id = String(first.stdout).trim();
  assert.equal(await ids(), [id]);
  assert.is(String(first.stderr), "", "no conflict, nothing said");

  const again = await oban(["enqueue", "MyApp.Sync", "--args", '{"account":7}', "--unique", "10m", ...flags()]);
  assert.is(again.exitCode, 0, String(again.stderr));
  assert.is(String(again.stdout).trim(), id);
  assert.match(String(again.stderr), new RegExp(`job ${id} \\(available\\) already matches: nothing inserted \\(unique conflict\\)`));
  assert.equal(await ids(), [id]);

  const other = await oban(["enqueue", "MyApp.Sync", "--args", '{"account":8}', "--unique", "10m", "--json", ...flags()]);
  const parsed = JSON.parse(String(other.stdout));
  assert.is(parsed.conflicts, 0);
  assert.is(parsed.jobs[0].conflict, false);
  assert.is((await ids()).length, 2);
});

test("--json reports each job's conflict; stdin lines are checked one by one, in order", async () => {
  const input = ['{"id":1}', '{"id":2}', '{"id":1}', '{"id":3}', '{"id":2}'].join("\n") + "\n";
  const result = await oban(["enqueue", "MyApp.Import", "--unique", "infinity", "--json", ...flags()], { input });
  assert.is(result.exitCode, 0, String(result.stderr));
  const parsed = JSON.parse(String(result.stdout));
  assert.is(parsed.count, 5);
  assert.is(parsed.conflicts, 2);
  assert.equal(parsed.jobs.map((j: { conflict: boolean }) => j.conflict), [false, false, true, false, true]);
  assert.is(parsed.jobs[2].id, parsed.jobs[0].id);
  assert.is((await ids()).length, 3);

  const plain = await oban(["enqueue", "MyApp.Import", "--args", '{"id":1}', "--json", ...flags()]);
  const plainResult = JSON.parse(String(plain.stdout));
  assert.ok(!("conflicts" in plainResult) && !("conflict" in plainResult.jobs[0]), "without --unique the result is as before");
  assert.is((await ids()).length, 4, "and a duplicate is inserted");
});

test("--unique-fields, --unique-keys, --unique-states and --unique-timestamp are applied", async () => {
  const run = (args: string, extra: string[], worker = "MyApp.Report") =>
    oban(["enqueue", worker, "--args", args, "--unique", "60", ...extra, "--json", ...flags()]).then((r) => {
      assert.is(r.exitCode, 0, String(r.stderr));
      return JSON.parse(String(r.stdout)).jobs[0].conflict as boolean;
    });
  assert.is(await run('{"id":1,"at":"9"}', []), false);
  assert.is(await run('{"id":1,"at":"10"}', ["--unique-keys", "id"]), true);
  assert.is(await run('{"id":1,"at":"10"}', []), false, "without keys, all of args is compared");
  assert.is(await run('{"id":9}', ["--unique-fields", "worker"]), true, "one per worker");
  assert.is(await run('{"id":9}', ["--unique-fields", "worker, args"]), false);
  await db.pool.query(`UPDATE "${db.prefix}".oban_jobs SET state = 'completed'`);
  assert.is(await run('{"id":9}', ["--unique-states", "incomplete"]), false, "completed is not incomplete");
  assert.is(await run('{"id":9}', ["--unique-states", "available,completed"]), true);
  assert.is(await run('{"id":9}', ["--unique-states", "available,completed", "--unique-timestamp", "scheduled_at"]), true);
});

const badInputs: [string, string[], RegExp][] = [
  ["an unknown field", ["--unique", "60", "--unique-fields", "args,priority"], /--unique-fields: unknown field "priority"/],
  ["an unknown state", ["--unique", "60", "--unique-states", "available,done"], /--unique-states: unknown state "done"/],
  ["a negative period", ["--unique=-5"], /--unique: "-5" is not a duration/],
  ["a zero period", ["--unique", "0s"], /--unique: must be a positive number of seconds or "infinity" \(got 0\)/],
  ["an unknown timestamp", ["--unique", "60", "--unique-timestamp", "updated_at"], /--unique-timestamp: must be "inserted_at" or "scheduled_at"/],
  ["--unique-states without --unique", ["--unique-states", "incomplete"], /--unique/],
];

for (const [name, extra, message] of badInputs) {
  test(`rejects ${name}: exit 2, a message naming the flag, nothing inserted`, async () => {
    const result = await oban(["enqueue", "Some.Worker", "--args", "{}", ...extra, ...flags()]);
    assert.is(result.exitCode, 2, `exit code (stderr: ${result.stderr})`);
    assert.match(String(result.stderr), message);
    assert.equal(await ids(), []);
  });
}

test.run();
