import { suite } from "uvu";
import * as assert from "uvu/assert";
import type pg from "pg";
import { createPool } from "../src/db/pool.js";
import { createSchema, testDatabaseUrl } from "./support/schemas.js";
import { oban, spawnOban } from "./support/cli.js";
import { sleep, waitFor } from "./support/wait.js";

/** Several real `oban work` processes on one database, with intervals shortened so this runs in seconds. */
const test = suite("cluster of oban work processes");
let pool: pg.Pool;
let prefix: string;
let drop: () => Promise<void>;
const nodes: Node[] = [];

interface Node {
  name: string;
  child: ReturnType<typeof spawnOban>;
  lines: any[];
}

test.before(async () => {
  pool = createPool(testDatabaseUrl(), { max: 3 });
  ({ prefix, drop } = await createSchema(pool, "ours"));
});
test.after(async () => {
  await drop();
  await pool.end();
});
test.before.each(async () => {
  await pool.query(`DELETE FROM "${prefix}".oban_jobs`);
});
test.after.each(async () => {
  for (const node of nodes.splice(0)) node.child.kill("SIGKILL");
  await sleep(100);
  await pool.query(`DELETE FROM "${prefix}".oban_producers`);
  await pool.query(`DELETE FROM "${prefix}".oban_peers`);
});

const db = () => ["--database-url", testDatabaseUrl(), "--prefix", prefix];
const FAST = ["--poll-interval", "200ms", "--heartbeat-interval", "300ms", "--producer-max-age", "2s", "--rescue-interval", "300ms", "--leader-ttl", "3s", "--stage-interval", "200ms"];

function start(name: string, queues: string, extra: string[] = []): Node {
  const child = spawnOban(["work", "--queues", queues, "--require", "test/fixtures/cli-workers.js", "--node", name, "--grace", "200ms", ...FAST, ...extra, ...db()]);
  const node: Node = { name, child, lines: [] };
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    for (const line of parts) if (line.trim()) node.lines.push(JSON.parse(line));
  });
  nodes.push(node);
  return node;
}
const started = (node: Node) => waitFor(`${node.name} started`, () => node.lines.some((l) => /oban work started/.test(l.message ?? "")), 20_000);
const count = async (where: string) => (await pool.query(`SELECT count(*)::int AS n FROM "${prefix}".oban_jobs WHERE ${where}`)).rows[0].n as number;
const leaseHolder = async () =>
  (await pool.query(`SELECT node FROM "${prefix}".oban_peers WHERE name = 'Oban.ts' AND expires_at > timezone('UTC', now())`)).rows.map((r) => r.node as string);

test("a node killed with SIGKILL mid-job: its jobs are rescued and completed by the others, none lost, no live job rescued", async () => {
  const input = Array.from({ length: 24 }, () => JSON.stringify({ ms: 1500 })).join("\n");
  assert.is((await oban(["enqueue", "Cli.Sleeper", "--queue", "slow", ...db()], { input })).exitCode, 0);
  const [a, b, c] = [start("node-a", "slow:3"), start("node-b", "slow:3"), start("node-c", "slow:3")];
  await Promise.all([a, b, c].map(started));
  await waitFor("node-b running jobs", async () => (await count(`state = 'executing' AND attempted_by[1] = 'node-b'`)) >= 2, 20_000);
  const held = (await pool.query(`SELECT id FROM "${prefix}".oban_jobs WHERE state = 'executing' AND attempted_by[1] = 'node-b'`)).rows.map((r) => r.id);
  b.child.kill("SIGKILL");
  const killedAt = Date.now();
  await waitFor("all 24 completed", async () => (await count(`state = 'completed'`)) === 24, 60_000, 100).catch(async (error) => {
    const states = await pool.query(`SELECT state, attempted_by[1] AS node, meta, count(*) FROM "${prefix}".oban_jobs GROUP BY 1, 2, 3`);
    const producers = await pool.query(`SELECT node, queue, updated_at, timezone('UTC', now()) AS now FROM "${prefix}".oban_producers`);
    const peers = await pool.query(`SELECT * FROM "${prefix}".oban_peers`);
    const logs = [a, c].flatMap((n) => n.lines.filter((l) => l.event === "log"));
    throw new Error(`${error.message}\n${JSON.stringify({ states: states.rows, producers: producers.rows, peers: peers.rows, logs }, null, 1)}`);
  });
  const rescued = await pool.query(`SELECT id, attempted_by[1] AS node, to_jsonb(errors) AS errors FROM "${prefix}".oban_jobs WHERE (meta->>'rescued')::int > 0 ORDER BY id`);
  assert.equal(rescued.rows.map((r) => r.id).sort(), [...held].sort(), "exactly the killed node's jobs were rescued");
  for (const r of rescued.rows) {
    assert.ok(r.node === "node-a" || r.node === "node-c", "completed by a live node");
    assert.match(r.errors[0].error, /producer on node node-b stopped heartbeating/);
  }
  const lastDone = (await pool.query(`SELECT max(completed_at) AS t FROM "${prefix}".oban_jobs WHERE id = ANY($1::bigint[])`, [held])).rows[0].t as Date;
  // producer max age 2 s + lifeline interval 0.3 s + the 1.5 s job itself, with slack for a loaded machine
  assert.ok(lastDone.getTime() - killedAt < 12_000, `rescued jobs done ${lastDone.getTime() - killedAt} ms after the kill`);
  assert.is(await count(`state = 'executing'`), 0);
});

test("exactly one leader at every sample; a killed leader is replaced within the TTL, a stopped one at once", async () => {
  const all = [start("lead-a", "default:1"), start("lead-b", "default:1"), start("lead-c", "default:1")];
  await Promise.all(all.map(started));
  await waitFor("a leader", async () => (await leaseHolder()).length === 1, 10_000);
  for (let i = 0; i < 10; i++) {
    assert.is((await leaseHolder()).length, 1, "one live lease");
    const believers = all.filter((n) => {
      const changes = n.lines.filter((l) => /is (now|no longer) the leader/.test(l.message ?? ""));
      return changes.length > 0 && /is now the leader/.test(changes[changes.length - 1].message);
    });
    assert.is(believers.length, 1, "exactly one process believes it leads");
    await sleep(150);
  }
  const first = (await leaseHolder())[0];
  const victim = all.find((n) => first.startsWith(`${n.name}:`))!;
  victim.child.kill("SIGKILL");
  const killedAt = Date.now();
  const second: string = await waitFor("a new leader after SIGKILL", async () => {
    const holder = (await leaseHolder())[0];
    return holder && holder !== first ? holder : undefined;
  }, 15_000, 50) as string;
  assert.ok(Date.now() - killedAt < 3_000 + 1_500, `taken over ${Date.now() - killedAt} ms after the kill (TTL 3 s)`);

  const stopped = all.find((n) => second.startsWith(`${n.name}:`))!;
  stopped.child.kill("SIGTERM");
  const stoppedAt = Date.now();
  await waitFor("a new leader after SIGTERM", async () => {
    const holder = (await leaseHolder())[0];
    return holder && holder !== second && holder !== first;
  }, 10_000, 25);
  assert.ok(Date.now() - stoppedAt < 2_000, `taken over ${Date.now() - stoppedAt} ms after SIGTERM, well inside the 3 s TTL`);
});

test("the LISTEN connection terminated: jobs keep running by polling and the notifier reconnects", async () => {
  const node = start("listen-a", "default:2");
  await started(node);
  await waitFor("notifier connected", async () => (await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'oban-ts notifier listen-a:%'`)).rows[0].n === 1);
  const killed = await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'oban-ts notifier listen-a:%'`);
  assert.is(killed.rowCount, 1);
  assert.is((await oban(["enqueue", "Cli.Echo", "--args", "{}", ...db()])).exitCode, 0);
  await waitFor("job completed", async () => (await count(`state = 'completed'`)) === 1, 10_000);
  await waitFor("reconnected", () => node.lines.some((l) => /LISTEN connection re-established/.test(l.message ?? "")), 10_000);
  assert.ok(node.lines.some((l) => /LISTEN connection lost/.test(l.message ?? "")));
});

test("scheduled and retryable jobs start within about a second of their time", async () => {
  const node = start("sched-a", "default:2");
  await started(node);
  assert.is((await oban(["enqueue", "Cli.Echo", "--args", "{}", "--schedule-in", "2s", ...db()])).exitCode, 0);
  assert.is((await oban(["enqueue", "Cli.FailOnce", "--args", "{}", ...db()])).exitCode, 0);
  await waitFor("both completed", async () => (await count(`state = 'completed'`)) === 2, 15_000);
  const rows = await pool.query(`SELECT worker, scheduled_at, attempted_at, to_jsonb(errors) AS errors FROM "${prefix}".oban_jobs ORDER BY id`);
  const [scheduled, retried] = rows.rows;
  const late1 = scheduled.attempted_at.getTime() - scheduled.scheduled_at.getTime();
  assert.ok(late1 >= 0 && late1 < 1_500, `scheduled job started ${late1} ms after its time`);
  const due = Date.parse(retried.errors[0].at) + 2_000;
  const late2 = retried.attempted_at.getTime() - due;
  assert.ok(late2 >= -50 && late2 < 1_500, `retry started ${late2} ms after its time`);
});

test.run();
