import { suite } from "uvu";
import * as assert from "uvu/assert";
import { useSchema, testDatabaseUrl } from "./support/schemas.js";
import { oban, spawnOban } from "./support/cli.js";
import { waitFor } from "./support/wait.js";

const test = suite("oban work");

const schema = useSchema(test, "ours", 2);

const db = () => ["--database-url", testDatabaseUrl(), "--prefix", schema.prefix];
const countIn = async (state: string) =>
  (await schema.pool.query(`SELECT count(*)::int AS n FROM "${schema.prefix}".oban_jobs WHERE state = $1`, [state])).rows[0].n as number;

test("1,000 jobs piped into enqueue are all completed by `oban work --queues default:10`", async () => {
  const input = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i })).join("\n");
  const enqueued = await oban(["enqueue", "Cli.Echo", ...db()], { input });
  assert.is(enqueued.exitCode, 0, String(enqueued.stderr));
  assert.is(String(enqueued.stdout).trim().split("\n").length, 1000);

  const worker = spawnOban(["work", "--queues", "default:10", "--require", "test/fixtures/cli-workers.js", "--node", "cli-test", ...db()]);
  try {
    await waitFor("1000 completed", async () => (await countIn("completed")) === 1000, 60_000, 100);
    worker.kill("SIGTERM");
    const result = await worker;
    assert.is(result.exitCode, 0, String(result.stderr));
    const lines = String(result.stdout).trim().split("\n").map((l) => JSON.parse(l));
    const completed = lines.filter((l) => l.event === "job:completed");
    assert.is(completed.length, 1000, "one structured line per job outcome");
    assert.is(completed[0].worker, "Cli.Echo");
    assert.ok(lines.some((l) => /stopped/.test(l.message ?? "")));
    const byNode = await schema.pool.query(`SELECT DISTINCT attempted_by[1] AS node FROM "${schema.prefix}".oban_jobs`);
    assert.equal(byNode.rows.map((r) => r.node), ["cli-test"]);
  } finally {
    worker.kill("SIGKILL");
  }
});

test("SIGTERM during long jobs: the process exits after the grace period and leaves no job executing", async () => {
  const enqueued = await oban(["enqueue", "Cli.Sleeper", "--queue", "slow", ...db()], { input: '{"ms":60000}\n{"ms":60000}\n{"ms":60000}\n' });
  assert.is(enqueued.exitCode, 0, String(enqueued.stderr));
  const worker = spawnOban(["work", "--queues", "slow:2", "--grace", "300ms", "--require", "test/fixtures/cli-workers.js", ...db()]);
  try {
    await waitFor("2 executing", async () => (await countIn("executing")) === 2, 30_000, 50);
    const signalled = Date.now();
    worker.kill("SIGTERM");
    const result = await worker;
    assert.is(result.exitCode, 0, String(result.stderr));
    assert.ok(Date.now() - signalled < 10_000, "exited promptly after the grace period");
    assert.is(await countIn("executing"), 0);
    assert.is(await countIn("available"), 3);
    const returned = await schema.pool.query(`SELECT to_jsonb(errors) AS errors FROM "${schema.prefix}".oban_jobs WHERE attempt = 1`);
    assert.is(returned.rows.length, 2);
    for (const r of returned.rows) assert.match(r.errors[0].error, /ShutdownError/);
  } finally {
    worker.kill("SIGKILL");
  }
});

test("bad --queues and a missing --require module exit 2 with a message", async () => {
  const badQueues = await oban(["work", "--queues", "default:zero", ...db()]);
  assert.is(badQueues.exitCode, 2);
  assert.match(String(badQueues.stderr), /--queues: limit for default must be an integer >= 1/);
  const badModule = await oban(["work", "--require", "./does/not/exist.js", ...db()]);
  assert.is(badModule.exitCode, 2);
  assert.match(String(badModule.stderr), /cannot load --require \.\/does\/not\/exist\.js/);
});

test("work refuses an unmigrated schema and names the fix; --migrate installs it", async () => {
  const fresh = `t_work_${Date.now().toString(36)}`;
  try {
    const refused = await oban(["work", "--database-url", testDatabaseUrl(), "--prefix", fresh]);
    assert.is(refused.exitCode, 1);
    assert.match(String(refused.stderr), /oban migrate/);
    const worker = spawnOban(["work", "--migrate", "--database-url", testDatabaseUrl(), "--prefix", fresh]);
    try {
      await waitFor("schema installed", async () => (await schema.pool.query(`SELECT to_regclass($1) AS t`, [`${fresh}.oban_jobs`])).rows[0].t, 30_000, 100);
      worker.kill("SIGTERM");
      assert.is((await worker).exitCode, 0);
    } finally {
      worker.kill("SIGKILL");
    }
  } finally {
    await schema.pool.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`);
  }
});

test.run();
