import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type pg from "pg";
import { createPool } from "../src/db/pool.js";
import { cronName } from "../src/cron/crontab.js";
import { createSchema, testDatabaseUrl } from "./support/schemas.js";
import { ROOT, oban, spawnOban } from "./support/cli.js";
import { sleep, waitFor } from "./support/wait.js";

const test = suite("oban work --cron");
let pool: pg.Pool;
let prefix: string;
let drop: () => Promise<void>;
const dirs: string[] = [];

test.before(async () => {
  pool = createPool(testDatabaseUrl(), { max: 2 });
  ({ prefix, drop } = await createSchema(pool, "ours"));
});
test.after(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await drop();
  await pool.end();
});

const db = () => ["--database-url", testDatabaseUrl(), "--prefix", prefix];
const workers = path.join(ROOT, "test", "fixtures", "cli-workers.js");
/** A working directory holding an oban.config.json. */
const configDir = (config: unknown) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "oban-cron-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, "oban.config.json"), JSON.stringify(config));
  return dir;
};

test("invalid --cron entries and config crontabs exit 2 with a message naming the entry, before reaching the database", async () => {
  const unreachable = ["--database-url", "postgres://nobody@127.0.0.1:1/none"];
  const cases: [string[], RegExp][] = [
    [["--cron", "*/5 * * * * Cli.Echo", "--cron", "0 0 30 2 * Cli.Echo"], /--cron\[1\] "0 0 30 2 \* Cli\.Echo": "0 0 30 2 \*" can never run/],
    [["--cron", "0 0 * * 8 Cli.Echo"], /--cron\[0\] "0 0 \* \* 8 Cli\.Echo": day of week "8": 8 is outside 0-7/],
    [["--cron", "* * * * *"], /--cron\[0\] "\* \* \* \* \*": expected "EXPR WORKER \[JSON-ARGS\]"/],
    [["--cron", "@daily Cli.Echo {oops"], /--cron\[0\] "@daily Cli\.Echo \{oops": args are not valid JSON/],
    [["--cron", "@daily Cli.Echo [1]"], /--cron\[0\] "@daily Cli\.Echo".*args/],
    [["--cron", "0 9 * * * Cli.Echo", "--cron-timezone", "Europe/Pariss"], /--cron-timezone: unknown timezone "Europe\/Pariss"/],
  ];
  for (const [flags, message] of cases) {
    const result = await oban(["work", ...flags, ...unreachable], { timeout: 20_000 });
    assert.is(result.exitCode, 2, `${flags.join(" ")}: ${result.stderr}`);
    assert.match(String(result.stderr), message);
  }
  const fromFile = await oban(["work", ...unreachable], { cwd: configDir({ crontab: ["@daily Cli.Echo", { expr: "@fortnightly", worker: "Cli.Echo" }] }), timeout: 20_000 });
  assert.is(fromFile.exitCode, 2, String(fromFile.stderr));
  assert.match(String(fromFile.stderr), /crontab\[1\] "@fortnightly Cli\.Echo": unknown nickname "@fortnightly"/);
});

test("two `oban work` nodes with the same crontab (flags on one, config file on the other): @reboot once, one job per minute, run and completed", async () => {
  // Start well inside a minute, so the leader is elected before the next one begins (a leader
  // fires only minutes that begin after it took over): at most ~75 s in all.
  const second = Number((await pool.query("SELECT extract(second FROM now())::float8 AS s")).rows[0].s);
  if (second > 40) await sleep((62 - second) * 1000);
  const flags = ["--cron", `@reboot Cli.Echo {"from":"reboot"}`, "--cron", `* * * * * Cli.Echo {"from": "minute"}`];
  const config = configDir({ require: [workers], crontab: [`@reboot Cli.Echo {"from":"reboot"}`, { expr: "* * * * *", worker: "Cli.Echo", args: { from: "minute" } }] });
  const nodes = [
    spawnOban(["work", "--queues", "default:2", "--require", workers, "--node", "cron-a", ...flags, ...db()]),
    spawnOban(["work", "--queues", "default:2", "--node", "cron-b", ...db()], { cwd: config }),
  ];
  const rows = async () =>
    (await pool.query(`SELECT args, meta, state, scheduled_at FROM "${prefix}".oban_jobs WHERE worker = 'Cli.Echo' ORDER BY id`)).rows;
  try {
    await waitFor("a minute job completed", async () => (await rows()).some((r) => r.args.from === "minute" && r.state === "completed"), 80_000, 250);
    await sleep(1_500); // a duplicate from the other node would have arrived by now
    const all = await rows();
    const reboot = all.filter((r) => r.args.from === "reboot");
    const minutes = all.filter((r) => r.args.from === "minute");
    assert.is(reboot.length, 1, "@reboot once, by the leader");
    assert.equal(reboot[0].meta, { cron: true, cron_expr: "@reboot", cron_name: cronName("@reboot", "Cli.Echo", { args: { from: "reboot" } }) });
    assert.is(minutes.length, 1, "one job for the minute, though both nodes have the entry");
    assert.equal(minutes[0].meta, { cron: true, cron_expr: "* * * * *", cron_name: cronName("* * * * *", "Cli.Echo", { args: { from: "minute" } }) });
    assert.is(minutes[0].scheduled_at.getTime() % 60_000, 0, "scheduled at the start of its minute");
    assert.ok(all.every((r) => r.state === "completed"), "and both ran");
    for (const node of nodes) node.kill("SIGTERM");
    const results = await Promise.all(nodes);
    for (const result of results) assert.is(result.exitCode, 0, String(result.stderr));
    const started = String(results[0].stdout).split("\n").find((l) => l.includes("oban work started"));
    assert.match(started ?? "", /crontab @reboot Cli\.Echo \([0-9a-f]{8}\), \* \* \* \* \* Cli\.Echo \([0-9a-f]{8}\) \(inserted by the leader\)/);

    // What an operator sees: the config file's crontab, next runs, and the minute last inserted.
    const inspected = await oban(["inspect", "cron", "--json", ...db()], { cwd: config });
    assert.is(inspected.exitCode, 0, String(inspected.stderr));
    const view = JSON.parse(String(inspected.stdout));
    const now = new Date(view.now).getTime();
    assert.equal(view.entries.map((e: { expr: string; worker: string }) => `${e.expr} ${e.worker}`), ["@reboot Cli.Echo", "* * * * * Cli.Echo"]);
    assert.is(view.entries[0].nextAt, null);
    assert.is(view.entries[0].lastAt, reboot[0].scheduled_at.toISOString());
    assert.is(new Date(view.entries[1].nextAt).getTime(), Math.floor(now / 60_000) * 60_000 + 60_000, "the next minute by the database clock");
    assert.ok(new Date(view.entries[1].lastAt).getTime() >= minutes[0].scheduled_at.getTime());
    assert.is(view.entries[1].name, minutes[0].meta.cron_name);
  } finally {
    for (const node of nodes) node.kill("SIGKILL");
  }
});

test.run();
