import { suite } from "uvu";
import * as assert from "uvu/assert";
import { insertJobs, prepareJob } from "../src/engine/insert.js";
import { ackJobs } from "../src/engine/ack.js";
import { useSchema, testDatabaseUrl } from "./support/schemas.js";
import { oban } from "./support/cli.js";

const test = suite("oban inspect");

const schema = useSchema(test, "ours", 2, ["oban_jobs", "oban_producers", "oban_peers"]);

const db = () => ["--database-url", testDatabaseUrl(), "--prefix", schema.prefix];
const jobs = () => `"${schema.prefix}".oban_jobs`;
const ANSI = /\x1b\[/;

async function put(queue: string, state: string, extra = ""): Promise<string> {
  const [job] = await insertJobs(schema.pool, schema.prefix, [prepareJob({ worker: "W.Test", args: { q: queue }, queue })]);
  if (state !== "available" || extra) {
    await schema.pool.query(`UPDATE ${jobs()} SET state = $2::text::"${schema.prefix}".oban_job_state ${extra} WHERE id = $1`, [job.id, state]);
  }
  return job.id;
}

/** mail: 2 available (one waiting 2 minutes), 1 discarded; reports: 1 completed. */
async function fixture(): Promise<void> {
  await put("mail", "available");
  await put("mail", "available", `, scheduled_at = timezone('UTC', now()) - interval '2 minutes'`);
  await put("mail", "discarded", `, attempt = 1, discarded_at = timezone('UTC', now())`);
  await put("reports", "completed", `, attempt = 1, completed_at = timezone('UTC', now())`);
}

test("queues (the default view): a plain table; --json gives counts, total, lag and stuck per queue", async () => {
  await fixture();
  const text = await oban(["inspect", ...db()]);
  assert.is(text.exitCode, 0, String(text.stderr));
  assert.not.match(String(text.stdout), ANSI, "no colour codes into a pipe");
  assert.match(String(text.stdout), /mail/);
  assert.match(String(text.stdout), /discarded/);

  const json = await oban(["inspect", "queues", "--json", ...db()]);
  assert.is(json.exitCode, 0, String(json.stderr));
  const result = JSON.parse(String(json.stdout));
  assert.is(result.view, "queues");
  assert.equal(result.checks, []);
  assert.equal(result.failed, []);
  const [mail, reports] = result.queues;
  assert.equal({ ...mail, lag: undefined }, { queue: "mail", counts: { available: 2, discarded: 1 }, total: 3, lag: undefined, stuckAttempts: 0 });
  assert.ok(mail.lag >= 120, `lag is the oldest available job's wait (${mail.lag})`);
  assert.equal(reports, { queue: "reports", counts: { completed: 1 }, total: 1, lag: null, stuckAttempts: 0 });
});

test("--fail-if: exit 1 naming the conditions that hold, 0 when none does", async () => {
  await fixture();
  const fails = await oban(["inspect", "--fail-if", "discarded>0,available>1000", ...db()]);
  assert.is(fails.exitCode, 1, String(fails.stderr));
  assert.match(String(fails.stdout), /FAIL discarded>0 \(1\)/);
  assert.match(String(fails.stdout), /ok +available>1000 \(2\)/);

  const lag = await oban(["inspect", "--fail-if", "lag>60s", "--json", ...db()]);
  assert.is(lag.exitCode, 1);
  const parsed = JSON.parse(String(lag.stdout));
  assert.equal(parsed.failed, ["lag>60s"]);
  assert.is(parsed.checks[0].holds, true);

  const passes = await oban(["inspect", "--fail-if", "discarded>5, available>=3, lag>1h, stuck, total!=4", ...db()]);
  assert.is(passes.exitCode, 0, String(passes.stdout));
  assert.not.match(String(passes.stdout), /FAIL/);

  const scoped = await oban(["inspect", "--queue", "reports", "--fail-if", "discarded", "--json", ...db()]);
  assert.is(scoped.exitCode, 0, "--queue scopes the conditions to that queue");
  assert.equal(JSON.parse(String(scoped.stdout)).queues.map((q: { queue: string }) => q.queue), ["reports"]);
});

test("--fail-if stuck: available rows whose attempts are exhausted", async () => {
  await put("mail", "available");
  assert.is((await oban(["inspect", "--fail-if", "stuck", ...db()])).exitCode, 0);
  await put("mail", "available", ", attempt = max_attempts");
  const result = await oban(["inspect", "--fail-if", "stuck", "--json", ...db()]);
  assert.is(result.exitCode, 1);
  assert.is(JSON.parse(String(result.stdout)).queues[0].stuckAttempts, 1);
});

test("a malformed --fail-if exits 2 naming the condition", async () => {
  const bad = ["discarded>>0", "bogus>1", "lag>soon", "available>1.5", "", "discarded>0,,what ever"];
  const results = await Promise.all(bad.map((spec) => oban(["inspect", "--fail-if", spec, ...db()])));
  bad.forEach((spec, i) => {
    const stderr = String(results[i].stderr);
    assert.is(results[i].exitCode, 2, `${JSON.stringify(spec)}: ${stderr}`);
    assert.match(stderr, /--fail-if/);
    const named = spec.split(",").map((p) => p.trim()).find((p) => p && p !== "discarded>0");
    if (named) assert.ok(stderr.includes(named), `names "${named}": ${stderr}`);
  });
});

test("jobs: filters and --json; bad state and limit exit 2", async () => {
  await fixture();
  const result = await oban(["inspect", "jobs", "--queue", "mail", "--state", "available", "--json", ...db()]);
  assert.is(result.exitCode, 0, String(result.stderr));
  const parsed = JSON.parse(String(result.stdout));
  assert.is(parsed.view, "jobs");
  assert.is(parsed.jobs.length, 2);
  for (const job of parsed.jobs) {
    assert.is(job.state, "available");
    assert.is(job.queue, "mail");
    assert.type(job.id, "string");
    assert.ok(Array.isArray(job.errors));
  }
  assert.ok(Number(parsed.jobs[0].id) > Number(parsed.jobs[1].id), "newest first");
  const oldest = JSON.parse(String((await oban(["inspect", "jobs", "--order", "oldest", "--limit", "1", "--json", ...db()])).stdout));
  assert.is(oldest.jobs.length, 1);
  assert.is(oldest.jobs[0].args.q, "mail");

  const text = await oban(["inspect", "jobs", ...db()]);
  assert.is(text.exitCode, 0);
  assert.not.match(String(text.stdout), ANSI);

  const badState = await oban(["inspect", "jobs", "--state", "done", ...db()]);
  assert.is(badState.exitCode, 2);
  assert.match(String(badState.stderr), /--state: unknown state "done" \(valid states: available, suspended, scheduled, executing, retryable, completed, discarded, cancelled\)/);
  assert.is((await oban(["inspect", "jobs", "--limit", "1001", ...db()])).exitCode, 2);
  assert.is((await oban(["inspect", "queues", "--state", "available", ...db()])).exitCode, 2, "a flag of another view is refused");
});

test("job ID: the job with its errors; unknown id exits 1, a malformed or missing id exits 2", async () => {
  const id = await put("mail", "executing", `, attempt = 1, attempted_by = ARRAY['n1', 'u1']`);
  await ackJobs(schema.pool, schema.prefix, [{ id, attempt: 1, state: "retryable", delay: 30, error: "Error: the printer is on fire" }]);
  const json = await oban(["inspect", "job", id, "--json", ...db()]);
  assert.is(json.exitCode, 0, String(json.stderr));
  const { view, job } = JSON.parse(String(json.stdout));
  assert.is(view, "job");
  assert.is(job.id, id);
  assert.is(job.state, "retryable");
  assert.equal(job.errors.map((e: { attempt: number; error: string }) => [e.attempt, e.error]), [[1, "Error: the printer is on fire"]]);

  const text = await oban(["inspect", "job", id, ...db()]);
  assert.is(text.exitCode, 0);
  assert.match(String(text.stdout), /the printer is on fire/);
  assert.not.match(String(text.stdout), ANSI);

  const missing = await oban(["inspect", "job", "987654321", ...db()]);
  assert.is(missing.exitCode, 1);
  assert.match(String(missing.stderr), /no job with id 987654321/);
  const missingJson = await oban(["inspect", "job", "987654321", "--json", ...db()]);
  assert.is(missingJson.exitCode, 1);
  assert.is(JSON.parse(String(missingJson.stdout)).error.code, "not_found");
  assert.is((await oban(["inspect", "job", "abc", ...db()])).exitCode, 2);
  assert.is((await oban(["inspect", "job", ...db()])).exitCode, 2);
});

test("leader and producers read oban_peers and oban_producers", async () => {
  await schema.pool.query(
    `INSERT INTO "${schema.prefix}".oban_peers (name, node, started_at, expires_at) VALUES
       ('Oban', 'elixir-1', timezone('UTC', now()), timezone('UTC', now()) + interval '30 seconds'),
       ('Oban.ts', 'ts-1', timezone('UTC', now()), timezone('UTC', now()) + interval '30 seconds')`,
  );
  await schema.pool.query(
    `INSERT INTO "${schema.prefix}".oban_producers (uuid, name, node, queue, meta)
     VALUES ('00000000-0000-4000-8000-000000000001', 'Oban', 'ts-1', 'mail', '{"local_limit": 10, "paused": true}')`,
  );
  const leader = JSON.parse(String((await oban(["inspect", "leader", "--json", ...db()])).stdout));
  assert.is(leader.view, "leader");
  assert.is(leader.name, "Oban.ts");
  assert.is(leader.leader, "ts-1");
  assert.equal(leader.peers.map((p: { name: string; ours: boolean; expired: boolean }) => [p.name, p.ours, p.expired]), [["Oban", false, false], ["Oban.ts", true, false]]);
  const named = JSON.parse(String((await oban(["inspect", "leader", "--leader-name", "Oban", "--json", ...db()])).stdout));
  assert.is(named.leader, "elixir-1");

  const producers = JSON.parse(String((await oban(["inspect", "producers", "--json", ...db()])).stdout));
  assert.is(producers.view, "producers");
  assert.is(producers.producers.length, 1);
  const [p] = producers.producers;
  assert.is(p.uuid, "00000000-0000-4000-8000-000000000001");
  assert.equal(p.meta, { local_limit: 10, paused: true });
  assert.type(p.heartbeatAge, "number");
  const text = await oban(["inspect", "producers", ...db()]);
  assert.is(text.exitCode, 0);
  assert.match(String(text.stdout), /ts-1/);
  assert.not.match(String(text.stdout), ANSI);
});

test.run();
