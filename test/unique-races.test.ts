import { suite } from "uvu";
import * as assert from "uvu/assert";
import { prepareJob } from "../src/engine/insert.js";
import { insertUnique, normaliseUnique, type UniqueResult } from "../src/engine/unique.js";
import { useSchema, type SchemaKind } from "./support/schemas.js";
import { sleep, waitFor } from "./support/wait.js";

/**
 * COMPAT §15 #7 and §16: concurrent unique inserts, including holders that roll back, leave
 * exactly one committed row and never report a conflict with a row that does not exist.
 */
for (const kind of ["ours", "obanpy"] as SchemaKind[]) {
  const test = suite(`unique races on ${kind} schema`);
  const db = useSchema(test, kind, 24);

  const spec = normaliseUnique({ period: 300 });
  const job = (args: Record<string, unknown>) => prepareJob({ worker: "Race.Worker", args });
  const ids = async () => (await db.pool.query(`SELECT id::text FROM "${db.prefix}".oban_jobs ORDER BY id`)).rows.map((r) => r.id as string);
  /** Sessions of this test's database blocked on an advisory lock (so we know a waiter is waiting). */
  const advisoryWaiters = async () =>
    (await db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'
        AND query LIKE '%pg_advisory_xact_lock(u.key)%'`)).rows[0].n as number;

  /** A caller's own transaction on a dedicated connection. */
  async function callerTransaction(isolation = "") {
    const client = await db.pool.connect();
    await client.query(`BEGIN ${isolation}`);
    return client;
  }

  test("20 concurrent inserts of the same unique job from separate connections: one row, 19 conflicts", async () => {
    for (let round = 0; round < 3; round++) {
      await db.pool.query(`DELETE FROM "${db.prefix}".oban_jobs`);
      const results = await Promise.all(Array.from({ length: 20 }, () => insertUnique(db.pool, db.prefix, [job({ id: round })], spec)));
      const rows = await ids();
      assert.is(rows.length, 1, `round ${round}: exactly one row`);
      const flat = results.map(([r]) => r);
      assert.is(flat.filter((r) => !r.conflict).length, 1);
      assert.ok(flat.every((r) => r.job.id === rows[0]), "every caller got the one row");
    }
  });

  test("a holder that rolls back: the waiter inserts its own job (no false conflict)", async () => {
    const holder = await callerTransaction();
    try {
      const [held] = await insertUnique(holder, db.prefix, [job({ id: 1 })], spec);
      assert.is(held.conflict, false);
      let settled = false;
      const waiter = insertUnique(db.pool, db.prefix, [job({ id: 1 })], spec).finally(() => (settled = true));
      await waitFor("the waiter to block on the advisory lock", async () => (await advisoryWaiters()) > 0);
      await sleep(100);
      assert.is(settled, false, "the waiter waits for the holder instead of guessing");
      await holder.query("ROLLBACK");
      const [waited] = await waiter;
      assert.is(waited.conflict, false, "the holder's row never existed: no conflict");
      assert.equal(await ids(), [waited.job.id]);
      assert.is.not(waited.job.id, held.job.id);
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      holder.release();
    }
  });

  test("a holder that commits: the waiter gets the holder's job as a conflict", async () => {
    const holder = await callerTransaction();
    try {
      const [held] = await insertUnique(holder, db.prefix, [job({ id: 2 })], spec);
      const waiter = insertUnique(db.pool, db.prefix, [job({ id: 2 })], spec);
      await waitFor("the waiter to block on the advisory lock", async () => (await advisoryWaiters()) > 0);
      await holder.query("COMMIT");
      const [waited] = await waiter;
      assert.is(waited.conflict, true);
      assert.is(waited.job.id, held.job.id);
      assert.equal(await ids(), [held.job.id]);
    } finally {
      holder.release();
    }
  });

  test("20 callers in their own transactions, half rolling back: the committed rows never duplicate", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const client = await callerTransaction();
        try {
          const [result] = await insertUnique(client, db.prefix, [job({ id: 3 })], spec);
          await sleep(5);
          await client.query(i % 2 === 0 ? "ROLLBACK" : "COMMIT");
          return { result, committed: i % 2 === 1 };
        } finally {
          client.release();
        }
      }),
    );
    const rows = await ids();
    assert.is(rows.length, 1, "exactly one committed row");
    const inserters = outcomes.filter((o) => !o.result.conflict);
    for (const o of outcomes.filter((o) => o.result.conflict)) {
      // a conflict always names a row that was committed when it was reported: the surviving one
      assert.is(o.result.job.id, rows[0], "conflicts point at the committed row, never at a rolled-back one");
    }
    assert.ok(inserters.some((o) => o.committed && o.result.job.id === rows[0]), "the surviving row is a committed inserter's");
  });

  test("an idle client gets a transaction of its own; REPEATABLE READ is refused", async () => {
    const client = await db.pool.connect();
    try {
      const [result] = await insertUnique(client, db.prefix, [job({ id: 4 })], spec);
      assert.is(result.conflict, false);
      assert.is(client.getTransactionStatus(), "I", "committed and back to idle");
      assert.equal(await ids(), [result.job.id]);
    } finally {
      client.release();
    }
    const snapshot = await callerTransaction("ISOLATION LEVEL REPEATABLE READ");
    try {
      const refused = await insertUnique(snapshot, db.prefix, [job({ id: 5 })], spec).then(() => undefined, (error: Error) => error);
      assert.match(String(refused?.message), /unique jobs need a READ COMMITTED transaction \(this one is REPEATABLE READ\)/);
    } finally {
      await snapshot.query("ROLLBACK");
      snapshot.release();
    }
    assert.is((await ids()).length, 1, "the refused insert wrote nothing");
  });

  test("bulk inserters with overlapping keys in opposite orders neither deadlock nor duplicate", async () => {
    const keys = Array.from({ length: 12 }, (_, i) => i);
    const forward = keys.map((id) => job({ id }));
    const backward = [...keys].reverse().map((id) => job({ id }));
    // Each caller holds its locks until commit, after a pause: unsorted locking would deadlock here.
    const bulk = async (jobs: ReturnType<typeof job>[]): Promise<UniqueResult[]> => {
      const client = await callerTransaction();
      try {
        const results = await insertUnique(client, db.prefix, jobs, spec);
        await sleep(20);
        await client.query("COMMIT");
        return results;
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    };
    const [a, b, c] = await Promise.all([bulk(forward), bulk(backward), bulk(forward)]);
    assert.is((await ids()).length, keys.length, "each key once");
    const inserted = [...a, ...b, ...c].filter((r) => !r.conflict).length;
    assert.is(inserted, keys.length);
  });

  test.run();
}
