import { suite } from "uvu";
import * as assert from "uvu/assert";
import { randomUUID } from "node:crypto";
import { useSchema, testDatabaseUrl } from "./support/schemas.js";
import { oban } from "./support/cli.js";

const test = suite("oban prune and oban rescue");

const schema = useSchema(test, "ours", 2, ["oban_jobs", "oban_producers"]);

const db = () => ["--database-url", testDatabaseUrl(), "--prefix", schema.prefix];
const insert = (sql: string) => schema.pool.query(`INSERT INTO "${schema.prefix}".oban_jobs (state, queue, worker, args, attempt, attempted_by, attempted_at, completed_at, cancelled_at, discarded_at) ${sql}`);
const snapshot = async () => (await schema.pool.query(`SELECT id, state, meta FROM "${schema.prefix}".oban_jobs ORDER BY id`)).rows;

test("prune reports per queue and state, deletes exactly the old finished jobs; --dry-run changes nothing", async () => {
  await insert(`VALUES
    ('completed', 'a', 'W', '{}', 1, '{}', now(), timezone('UTC', now()) - interval '8 days', NULL, NULL),
    ('completed', 'b', 'W', '{}', 1, '{}', now(), timezone('UTC', now()) - interval '8 days', NULL, NULL),
    ('cancelled', 'a', 'W', '{}', 1, '{}', now(), NULL, timezone('UTC', now()) - interval '8 days', NULL),
    ('completed', 'a', 'W', '{}', 1, '{}', now(), timezone('UTC', now()) - interval '1 day', NULL, NULL),
    ('available', 'a', 'W', '{}', 0, '{}', NULL, NULL, NULL, NULL)`);
  const before = await snapshot();
  const dry = await oban(["prune", "--max-age", "7d", "--dry-run", "--json", ...db()]);
  assert.is(dry.exitCode, 0, String(dry.stderr));
  const preview = JSON.parse(String(dry.stdout));
  assert.is(preview.total, 3);
  assert.is(preview.dryRun, true);
  assert.equal(await snapshot(), before);

  const text = await oban(["prune", "--max-age", "7d", ...db()]);
  assert.is(text.exitCode, 0, String(text.stderr));
  assert.match(String(text.stdout), /deleted 3 job\(s\)/);
  assert.match(String(text.stdout), /│ a\s+│ cancelled │ 1\s+│/);
  assert.equal((await snapshot()).map((r) => r.state), ["completed", "available"]);
});

test("rescue rescues jobs of dead producers and unknown producers past --after, never live ones; --dry-run changes nothing", async () => {
  const [dead, alive, unknown] = [randomUUID(), randomUUID(), randomUUID()];
  await schema.pool.query(`INSERT INTO "${schema.prefix}".oban_producers (uuid, node, queue, updated_at) VALUES ($1, 'gone', 'q', timezone('UTC', now()) - interval '5 minutes'), ($2, 'here', 'q', timezone('UTC', now()))`, [dead, alive]);
  const old = "timezone('UTC', now()) - interval '3 hours'";
  await insert(`VALUES
    ('executing', 'q', 'W', '{}', 1, ARRAY['gone', '${dead}'], timezone('UTC', now()), NULL, NULL, NULL),
    ('executing', 'q', 'W', '{}', 1, ARRAY['here', '${alive}'], ${old}, NULL, NULL, NULL),
    ('executing', 'q', 'W', '{}', 1, ARRAY['elixir@host', '${unknown}'], ${old}, NULL, NULL, NULL),
    ('executing', 'q', 'W', '{}', 1, ARRAY['elixir@host', '${unknown}'], timezone('UTC', now()), NULL, NULL, NULL)`);
  const before = await snapshot();
  const dry = await oban(["rescue", "--after", "1h", "--dry-run", "--json", ...db()]);
  assert.is(dry.exitCode, 0, String(dry.stderr));
  const preview = JSON.parse(String(dry.stdout));
  assert.equal(preview.rescued, [{ queue: "q", state: "available", count: 2 }]);
  assert.is(preview.deadProducers, 1);
  assert.equal(await snapshot(), before);

  const run = await oban(["rescue", "--after", "1h", "--json", ...db()]);
  assert.is(run.exitCode, 0, String(run.stderr));
  assert.equal(JSON.parse(String(run.stdout)).rescued, [{ queue: "q", state: "available", count: 2 }]);
  const after = await snapshot();
  assert.equal(after.map((r) => r.state), ["available", "executing", "available", "executing"]);
  assert.equal(after.map((r) => r.meta?.rescued ?? 0), [1, 0, 1, 0]);
  const producers = await schema.pool.query(`SELECT node FROM "${schema.prefix}".oban_producers`);
  assert.equal(producers.rows, [{ node: "here" }]);
});

test("bad durations exit 2 and change nothing", async () => {
  const result = await oban(["prune", "--max-age", "forever", ...db()]);
  assert.is(result.exitCode, 2);
  assert.match(String(result.stderr), /--max-age: "forever" is not a duration/);
});

test.run();
