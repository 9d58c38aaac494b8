import { suite } from "uvu";
import * as assert from "uvu/assert";
import type pg from "pg";
import { createPool } from "../src/db/pool.js";
import { insertJobs, prepareJob } from "../src/engine/insert.js";
import { decodePayload } from "../src/codec/notification.js";
import { createSchema, testDatabaseUrl } from "./support/schemas.js";
import { oban } from "./support/cli.js";
import { listen } from "./support/listen.js";

const test = suite("oban cancel|retry|delete and queues pause|resume|scale");
let pool: pg.Pool;
let prefix: string;
let drop: () => Promise<void>;
let listener: Awaited<ReturnType<typeof listen>>;

test.before(async () => {
  pool = createPool(testDatabaseUrl(), { max: 2 });
  ({ prefix, drop } = await createSchema(pool, "ours"));
  listener = await listen(testDatabaseUrl(), [`${prefix}.oban_signal`, `${prefix}.oban_insert`]);
});
test.after(async () => {
  await listener.close();
  await drop();
  await pool.end();
});
test.before.each(async () => {
  await pool.query(`DELETE FROM "${prefix}".oban_jobs`);
  await listener.settle(pool);
  listener.clear();
});

const db = () => ["--database-url", testDatabaseUrl(), "--prefix", prefix];
const jobs = () => `"${prefix}".oban_jobs`;
const signals = () => listener.json(`${prefix}.oban_signal`);
const inserts = () => listener.json(`${prefix}.oban_insert`);

async function put(state: string, over: Record<string, unknown> = {}): Promise<string> {
  const [job] = await insertJobs(pool, prefix, [prepareJob({ worker: "W.Test", args: {}, queue: "mail", ...over } as any)]);
  const set: Record<string, string> = {
    available: "",
    executing: `, attempt = 1, attempted_at = timezone('UTC', now()), attempted_by = ARRAY['n1', 'u1']`,
    scheduled: `, scheduled_at = timezone('UTC', now()) + interval '1 hour'`,
    completed: `, attempt = 1, completed_at = timezone('UTC', now())`,
    discarded: `, attempt = max_attempts, discarded_at = timezone('UTC', now())`,
    cancelled: `, cancelled_at = timezone('UTC', now())`,
  };
  await pool.query(`UPDATE ${jobs()} SET state = $2::text::"${prefix}".oban_job_state ${set[state]} WHERE id = $1`, [job.id, state]);
  return job.id;
}

/** Forgets the messages the fixture itself caused (insert notifications of the setup jobs). */
async function quiet(): Promise<void> {
  await listener.settle(pool);
  listener.clear();
}

const snapshot = async () =>
  (await pool.query(`SELECT id, state::text AS state, max_attempts, scheduled_at, cancelled_at, completed_at, discarded_at FROM ${jobs()} ORDER BY id`)).rows;

test("cancel IDs: running and waiting jobs are cancelled; exactly one pkill per running job", async () => {
  const running = await put("executing");
  const waiting = await put("available");
  const done = await put("completed");
  await quiet();
  const result = await oban(["cancel", running, waiting, done, "--json", ...db()]);
  assert.is(result.exitCode, 0, String(result.stderr));
  const parsed = JSON.parse(String(result.stdout));
  assert.equal(parsed, {
    action: "cancel",
    dryRun: false,
    count: 2,
    pkill: 1,
    jobs: [
      { id: running, queue: "mail", worker: "W.Test", previousState: "executing" },
      { id: waiting, queue: "mail", worker: "W.Test", previousState: "available" },
    ],
  });
  const states = Object.fromEntries((await snapshot()).map((r) => [r.id, r.state]));
  assert.equal(states, { [running]: "cancelled", [waiting]: "cancelled", [done]: "completed" });
  await listener.settle(pool);
  assert.equal(signals(), [{ action: "pkill", job_id: Number(running) }]);
});

test("--dry-run lists what would change, changes nothing and sends nothing", async () => {
  const running = await put("executing");
  await put("available");
  await put("discarded");
  await quiet();
  const before = await snapshot();
  for (const action of ["cancel", "retry", "delete"]) {
    const result = await oban([action, "--queue", "mail", "--dry-run", "--json", ...db()]);
    assert.is(result.exitCode, 0, String(result.stderr));
    const parsed = JSON.parse(String(result.stdout));
    assert.is(parsed.dryRun, true);
    const expected = { cancel: ["executing", "available"], retry: ["discarded"], delete: ["available", "discarded"] }[action]!;
    assert.equal(parsed.jobs.map((j: { previousState: string }) => j.previousState), expected, action);
    if (action === "cancel") assert.is(parsed.pkill, 1);
  }
  const text = await oban(["cancel", running, "--dry-run", ...db()]);
  assert.match(String(text.stdout), /would cancel 1 job and would send 1 pkill signal/);
  assert.equal(await snapshot(), before);
  await listener.settle(pool);
  assert.equal(listener.heard, []);
});

test("retry --state: finished jobs become available, exhausted attempts get one more, insert is notified per queue", async () => {
  const discarded = await put("discarded", { maxAttempts: 3 });
  const cancelled = await put("cancelled", { queue: "reports" });
  const running = await put("executing");
  await quiet();
  const result = await oban(["retry", "--state", "discarded", "--json", ...db()]);
  assert.is(result.exitCode, 0, String(result.stderr));
  assert.equal(JSON.parse(String(result.stdout)).jobs.map((j: { id: string }) => j.id), [discarded]);
  const rows = Object.fromEntries((await snapshot()).map((r) => [r.id, r]));
  assert.is(rows[discarded].state, "available");
  assert.is(rows[discarded].max_attempts, 4);
  assert.is(rows[discarded].discarded_at, null);
  assert.is(rows[cancelled].state, "cancelled");
  assert.is(rows[running].state, "executing");
  const all = await oban(["retry", "--worker", "W.Test", ...db()]);
  assert.is(all.exitCode, 0);
  assert.match(String(all.stdout), /retried 1 job/);
  await listener.settle(pool);
  assert.equal(inserts(), [{ queue: "mail" }, { queue: "reports" }]);
});

test("delete never removes a running job", async () => {
  const running = await put("executing");
  const done = await put("completed");
  const byId = await oban(["delete", running, "--json", ...db()]);
  assert.is(byId.exitCode, 0);
  assert.equal(JSON.parse(String(byId.stdout)).count, 0);
  const byQueue = await oban(["delete", "--queue", "mail", ...db()]);
  assert.is(byQueue.exitCode, 0);
  assert.match(String(byQueue.stdout), /deleted 1 job/);
  assert.not.match(String(byQueue.stdout), /\x1b\[/, "no colour codes into a pipe");
  assert.equal((await snapshot()).map((r) => [r.id, r.state]), [[running, "executing"]]);
  assert.ok(done);
});

const badInputs: [string, string[], RegExp][] = [
  ["no filter at all", [], /give job ids or at least one of --queue, --state, --worker/],
  ["an unknown state", ["--state", "done"], /--state: unknown state "done" \(valid states: available, suspended, scheduled, executing, retryable, completed, discarded, cancelled\)/],
  ["id 0", ["0"], /ID: job ids are positive integers/],
  ["a non-numeric id", ["12", "abc"], /ID: job ids are positive integers \(got "abc"\)/],
  ["a fractional id", ["1.5"], /positive integers/],
  ["an id beyond 64 bits", ["99999999999999999999"], /positive integers/],
  ["limit 0", ["--queue", "mail", "--limit", "0"], /--limit: must be a positive integer/],
  ["a non-numeric limit", ["--queue", "mail", "--limit", "lots"], /--limit: must be an integer/],
];

for (const action of ["cancel", "retry", "delete"]) {
  test(`${action}: bad input exits 2 with a message and changes nothing`, async () => {
    await put("executing");
    await put("available");
    await put("discarded");
    await quiet();
    const before = await snapshot();
    // Independent processes: run them side by side to keep the suite short.
    const results = await Promise.all(badInputs.map(([, args]) => oban([action, ...args, ...db()])));
    badInputs.forEach(([name, , message], i) => {
      assert.is(results[i].exitCode, 2, `${name}: ${results[i].stderr}`);
      assert.match(String(results[i].stderr), message, name);
    });
    const json = await oban([action, "--state", "nope", "--json", ...db()]);
    assert.is(json.exitCode, 2);
    assert.is(JSON.parse(String(json.stdout)).error.code, "invalid_input");
    assert.equal(await snapshot(), before);
    await listener.settle(pool);
    assert.equal(listener.heard, []);
  });
}

test("queues pause|resume|scale publish exactly the COMPAT §13 payloads", async () => {
  const pause = await oban(["queues", "pause", "mail", "--json", ...db()]);
  assert.is(pause.exitCode, 0, String(pause.stderr));
  assert.equal(JSON.parse(String(pause.stdout)), { channel: `${prefix}.oban_signal`, payload: { action: "pause", queue: "mail", ident: "any" } });
  const all = await oban(["queues", "resume", "*", "--node", "web-1", ...db()]);
  assert.is(all.exitCode, 0, String(all.stderr));
  assert.match(String(all.stdout), /sent resume for all queues to ident Oban\.web-1/);
  const scale = await oban(["queues", "scale", "mail", "--limit", "25", "--node", "web-2", "--name", "MyApp.Oban", ...db()]);
  assert.is(scale.exitCode, 0, String(scale.stderr));
  await listener.settle(pool);
  assert.equal(listener.heard.map((h) => h.channel), Array(3).fill(`${prefix}.oban_signal`));
  for (const h of listener.heard) assert.ok(h.payload.startsWith("{"), "small payloads are plain JSON");
  assert.equal(listener.heard.map((h) => decodePayload(h.payload)), [
    { action: "pause", queue: "mail", ident: "any" },
    { action: "resume", queue: "*", ident: "Oban.web-1" },
    { action: "scale", queue: "mail", limit: 25, ident: "MyApp.Oban.web-2" },
  ]);
});

test("queues: bad input exits 2 and sends nothing", async () => {
  const cases: [string[], RegExp][] = [
    [["scale", "*", "--limit", "2"], /scale needs one queue/],
    [["scale", "mail", "--limit", "0"], /--limit: must be a positive integer/],
    [["scale", "mail", "--limit", "many"], /--limit: must be an integer/],
    [["scale", "mail"], /limit/],
    [["pause"], /queue/i],
    [["pause", 'ma"il'], /must not contain quotes/],
    [["resume", "mail", "--name", "X"], /--node/],
  ];
  const results = await Promise.all(cases.map(([args]) => oban(["queues", ...args, ...db()])));
  cases.forEach(([args, message], i) => {
    assert.is(results[i].exitCode, 2, `${args.join(" ")}: ${results[i].stderr}`);
    assert.match(String(results[i].stderr), message, args.join(" "));
  });
  await listener.settle(pool);
  assert.equal(listener.heard, []);
});

test.run();
