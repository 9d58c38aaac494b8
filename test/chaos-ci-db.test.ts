import { suite } from "uvu";
import * as assert from "uvu/assert";
import { assertGuarantees } from "./chaos/assert.js";
import { ChaosServer, openCtx, type Ctx } from "./chaos/harness.js";
import * as s from "./chaos/scenarios.js";

/**
 * The fault suite, CI versions, part 2: the database itself. Restarts of the embedded PostgreSQL
 * (pg_ctl fast and SIGQUIT immediate) under load, the database down when `oban work`, `migrate`
 * and `enqueue` start, and the LISTEN connection terminated every few seconds. The server is this
 * file's own (.oban-test/chaos-cidb-N), so restarting it disturbs nobody else.
 */
const test = suite("chaos (CI): the database");
let server: ChaosServer;

test.before(async () => {
  server = await ChaosServer.acquire("cidb");
});
test.after(async () => {
  await server.release();
});

async function withCtx<T>(fn: (ctx: Ctx & { server: ChaosServer }) => Promise<T>): Promise<T> {
  const ctx = await openCtx(server.url, server);
  try {
    return await fn({ ...ctx, server });
  } finally {
    await ctx.close();
  }
}

for (const mode of ["fast", "immediate"] as const) {
  test(`database restart under load (${mode}): oban work stays up, resumes, loses nothing, runs nothing twice`, async () => {
    const f = await withCtx((ctx) => s.databaseRestart(ctx, "ci", mode));
    assert.ok(f.notes.stayedUp, "every oban work process survived the restart");
    // No node died, so nothing may run twice: a job rescued from a live node is a duplicate.
    assertGuarantees(f, { duplicatesAllowed: false });
    assert.is(f.notes.rescuedWhileNodesAlive, 0, `jobs of live nodes rescued by the lifeline after the outage: ${JSON.stringify(f.notes.lifeline)}`);
  });
}

test("database down at start: work waits and retries with backoff, then starts; migrate/enqueue/inspect exit 3 with one line, no password", async () => {
  const f = await withCtx((ctx) => s.databaseDownAtStart(ctx, "ci"));
  assertGuarantees(f, { duplicatesAllowed: false });
  const password = decodeURIComponent(new URL(server.url).password);
  for (const [name, r] of Object.entries(f.cli)) {
    assert.is(r.code, 3, `${name} exit code (stderr: ${r.stderr})`);
    assert.not.ok((r.stderr + r.stdout).includes(password), `${name} echoed the password`);
    if (name.endsWith("--json")) {
      const parsed = JSON.parse(r.stdout);
      assert.is(parsed.error.code, "database_unavailable");
      assert.match(parsed.error.message, /cannot reach PostgreSQL/);
    } else {
      assert.is(r.stderr.trim().split("\n").length, 1, `${name}: one line, got ${JSON.stringify(r.stderr)}`);
      assert.match(r.stderr, /^Error: cannot reach PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres/);
    }
  }
  const n = f.notes as Record<string, any>;
  assert.ok(n.retries >= 2, `${n.retries} retries logged`);
  assert.ok(new Set(n.retryDelays).size >= 2 || n.retries < 3, `backoff grows: ${n.retryDelays}`);
  assert.is(n.passwordLeaked, false);
});

test("the LISTEN connection terminated every 2–3 s: no job waits longer than the poll interval (plus slack)", async () => {
  const f = await withCtx((ctx) => s.listenTerminated(ctx, "ci"));
  assertGuarantees(f, { duplicatesAllowed: false });
  const n = f.notes as Record<string, number>;
  assert.ok(f.faults >= 3, `${f.faults} terminations`);
  assert.ok(n.reconnects >= 3, `${n.reconnects} reconnections`);
  assert.ok(n.pickupMaxMs <= n.pollIntervalMs + 1_500, `longest wait ${n.pickupMaxMs} ms (poll interval ${n.pollIntervalMs} ms)`);
});

test.run();
