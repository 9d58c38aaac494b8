import { suite } from "uvu";
import * as assert from "uvu/assert";
import { assertGuarantees } from "./chaos/assert.js";
import { ChaosServer, openCtx, type Ctx } from "./chaos/harness.js";
import * as s from "./chaos/scenarios.js";

/**
 * The fault suite, CI versions, part 3: big args and the size limit, and `oban prune` / `oban
 * rescue` over 100k rows while workers run (lock waits sampled from pg_stat_activity).
 */
const test = suite("chaos (CI): args and maintenance");
let server: ChaosServer;

test.before(async () => {
  server = await ChaosServer.acquire("ciops");
});
test.after(async () => {
  await server.release();
});

async function withCtx<T>(fn: (ctx: Ctx) => Promise<T>): Promise<T> {
  const ctx = await openCtx(server.url, server);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

test("args from 1 KB to 10 MB: up to the limit they round-trip and run; above it they are rejected before any SQL", async () => {
  const f = await withCtx((ctx) => s.argsSizes(ctx, "ci"));
  assertGuarantees(f, { duplicatesAllowed: false });
  for (const c of f.cases) {
    const label = `${c.via}, ${c.bytes} bytes`;
    if (c.bytes <= c.limit) {
      assert.ok(c.accepted, `${label}: accepted`);
      assert.ok(c.completed, `${label}: ran to completion`);
      assert.is(c.storedBytes, c.bytes + 1, `${label}: stored whole`); // jsonb text adds a space after the colon
    } else {
      assert.not.ok(c.accepted, `${label}: rejected`);
      assert.ok(c.code === "invalid_input" || c.code === 2, `${label}: code ${c.code}`);
      assert.match(c.message ?? "", new RegExp(`above the limit of ${c.limit}`), label);
    }
  }
  assert.is(f.notes.rowsAddedBeyondAccepted, 0, "a rejected insert wrote nothing");
});

test("prune 100k rows and rescue 10k orphans while workers run: no lock wait reaches a second, nothing lost", async () => {
  const f = await withCtx((ctx) => s.maintenanceUnderLoad(ctx, "ci"));
  assertGuarantees(f, { duplicatesAllowed: false });
  const n = f.notes as Record<string, number>;
  assert.is(n.pruned, 100_000);
  assert.is(n.rescued, 10_000);
  assert.is(n.failedCommands, 0);
  assert.ok(n.maxLockWaitMs < 1_000, `a backend waited ${n.maxLockWaitMs} ms for a lock`);
});

test.run();
