import { createHash } from "node:crypto";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Oban, ObanError, defineWorker, parseExpression, type CronEntry } from "../src/index.js";
import { cronName } from "../src/cron/crontab.js";
import { testDatabaseUrl, useSchema } from "./support/schemas.js";
import { waitFor } from "./support/wait.js";

// Expressions without a time zone are UTC (as in Oban), whatever the process's zone: a library that
// falls back to local time must fail here. Node applies a TZ assignment at once.
process.env.TZ = "Asia/Kolkata";

const test = suite("cron");
const schema = useSchema(test, "ours", 4, ["oban_jobs", "oban_peers"]);
const running: Oban[] = [];

test.after.each(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop({ grace: 0 })));
});

const start = async (crontab: CronEntry[], extra: Record<string, unknown> = {}) => {
  const oban = await Oban.start({ databaseUrl: testDatabaseUrl(), prefix: schema.prefix, crontab, leaderTtl: 10_000, ...extra });
  running.push(oban);
  return oban;
};
const at = (iso: string) => new Date(iso);
const matches = (expr: string, iso: string, tz?: string) => parseExpression(expr, tz).matches(at(iso));

// 2026-02-13 is a Friday; 2026-02-20 a Friday that is not the 13th; 2026-03-13 a Friday again.
test("expressions: day of month AND day of week, 7 and SUN are Sunday, names, steps, ranges, lists, nicknames", () => {
  assert.ok(matches("0 0 13 * 5", "2026-02-13T00:00:00Z"), "Friday the 13th");
  assert.not.ok(matches("0 0 13 * 5", "2026-02-20T00:00:00Z"), "a Friday that is not the 13th (Vixie's OR would match)");
  assert.not.ok(matches("0 0 13 * 5", "2026-01-13T00:00:00Z"), "a 13th that is not a Friday (Vixie's OR would match)");
  assert.is(parseExpression("0 0 13 * FRI").next(at("2026-01-01T00:00:00Z"))?.toISOString(), "2026-02-13T00:00:00.000Z");
  // 2026-02-15 is a Sunday.
  for (const dow of ["0", "7", "SUN", "sun", "6-7", "FRI-SUN"]) assert.ok(matches(`30 9 * * ${dow}`, "2026-02-15T09:30:00Z"), dow);
  assert.not.ok(matches("30 9 * * MON-FRI", "2026-02-15T09:30:00Z"));
  assert.ok(matches("0 12 * JAN,feb *", "2026-02-15T12:00:00Z"));
  assert.not.ok(matches("0 12 * MAR-DEC *", "2026-02-15T12:00:00Z"));
  assert.equal([0, 5, 7, 10, 55].map((m) => matches("*/5 * * * *", `2026-02-15T09:${String(m).padStart(2, "0")}:00Z`)), [true, true, false, true, true]);
  assert.equal([9, 10, 13, 16, 17, 31].map((m) => matches("10-30/3 * * * *", `2026-02-15T09:${String(m).padStart(2, "0")}:00Z`)), [false, true, true, true, false, false]);
  assert.ok(matches("1,2,58 * * * *", "2026-02-15T09:58:59Z"), "any second of a matching minute");
  assert.ok(matches("@hourly", "2026-02-15T09:00:00Z"));
  assert.not.ok(matches("@hourly", "2026-02-15T09:01:00Z"));
  for (const nick of ["@daily", "@midnight"]) assert.ok(matches(nick, "2026-02-15T00:00:00Z"), nick);
  assert.ok(matches("@weekly", "2026-02-15T00:00:00Z"), "weekly is Sunday midnight");
  assert.ok(matches("@monthly", "2026-03-01T00:00:00Z"));
  for (const nick of ["@yearly", "@annually"]) assert.ok(matches(nick, "2027-01-01T00:00:00Z"), nick);
  assert.ok(parseExpression("0 0 29 2 *").next(at("2026-01-01T00:00:00Z"))?.toISOString().startsWith("2028-02-29"), "29 February is possible");
  const reboot = parseExpression("@reboot");
  assert.ok(reboot.reboot);
  assert.is(reboot.next(at("2026-01-01T00:00:00Z")), null);
});

test("expressions: impossible dates, out-of-range values, other crons' syntax and unknown time zones are refused with the reason", () => {
  const refused = (expr: string, reason: RegExp, tz?: string) => {
    try {
      parseExpression(expr, tz, "entry");
    } catch (error) {
      assert.instance(error, ObanError);
      assert.is((error as ObanError).code, "invalid_input");
      assert.match((error as Error).message, /^entry: /);
      assert.match((error as Error).message, reason, expr);
      return;
    }
    assert.unreachable(`${expr} was accepted`);
  };
  refused("0 0 30 2 *", /can never run: day of month 30 never occurs in month 2/);
  refused("0 0 31 4,6,9,11 *", /can never run/);
  refused("* * * *", /has 4 field\(s\); expected 5/);
  refused("0 * * * * *", /has 6 field\(s\)/);
  refused("60 * * * *", /minute "60": 60 is outside 0-59/);
  refused("0 24 * * *", /hour "24": 24 is outside 0-23/);
  refused("0 0 0 * *", /day of month "0": 0 is outside 1-31/);
  refused("0 0 * 13 *", /month "13"/);
  refused("0 0 * * 8", /day of week "8": 8 is outside 0-7/);
  refused("0 0 1 FOO *", /"FOO" is not a number \(names: JAN/);
  refused("10-5 * * * *", /range 10-5 runs backwards/);
  refused("*/0 * * * *", /step must be at least 1/);
  refused("5/10 * * * *", /a step needs \* or a range/);
  for (const other of ["0 0 L * *", "0 0 15W * *", "0 0 * * 5#2", "0 0 ? * *", "0 0 * * 5L"]) refused(other, /is not|not a number/);
  refused("@fortnightly", /unknown nickname "@fortnightly"/);
  refused("0 9 * * *", /unknown timezone "Mars\/Olympus"/, "Mars/Olympus");
});

test("a time zone moves the matching minute, daylight saving time included", () => {
  assert.ok(matches("0 9 * * *", "2026-01-15T08:00:00Z", "Europe/Paris"), "09:00 in Paris is 08:00 UTC in winter");
  assert.ok(matches("0 9 * * *", "2026-07-15T07:00:00Z", "Europe/Paris"), "and 07:00 UTC in summer");
  assert.not.ok(matches("0 9 * * *", "2026-01-15T09:00:00Z", "Europe/Paris"));
  assert.ok(matches("0 9 * * *", "2026-01-15T09:00:00Z"), "UTC without a time zone");
  // Paris, 02:30 local: a normal day; 29 March 2026 has none (clocks jump 02:00 → 03:00); 25 October
  // 2026 has two (03:00 → 02:00), 00:30 and 01:30 UTC.
  const paris = (iso: string) => matches("30 2 * * *", iso, "Europe/Paris");
  assert.ok(paris("2026-03-28T01:30:00Z"));
  assert.equal(["00:30", "01:30", "02:30"].map((t) => paris(`2026-03-29T${t}:00Z`)), [false, false, false], "skipped when it does not exist");
  assert.equal(["00:30", "01:30", "02:30"].map((t) => paris(`2026-10-25T${t}:00Z`)), [true, true, false], "twice when it occurs twice");
  // 2026-02-13 23:30 in New York is already the 14th (a Saturday) in UTC.
  assert.ok(matches("30 23 13 * FRI", "2026-02-14T04:30:00Z", "America/New_York"));
});

test("cron_name: 8 hex characters of SHA-256 over expression, worker and options; Oban.py's value for entries without options", () => {
  const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 8);
  assert.is(cronName("* * * * *", "MyApp.Report", {}), sha("* * * * *:MyApp.Report:{}"));
  assert.is(cronName("@daily", "MyApp.Report", { timezone: "Europe/Paris" }), sha('@daily:MyApp.Report:{"timezone":"Europe/Paris"}'));
  assert.is(cronName("@daily", "W", { queue: "q", args: { b: 1, a: [2, { d: 1, c: 2 }] } }), sha('@daily:W:{"args":{"a":[2,{"c":2,"d":1}],"b":1},"queue":"q"}'), "sorted keys at every level");
  assert.is.not(cronName("@daily", "W", { args: { id: 1 } }), cronName("@daily", "W", { args: { id: 2 } }));
});

const Report = defineWorker<{ full?: boolean }>({
  name: "Test.Cron.Report",
  queue: "reports",
  priority: 2,
  maxAttempts: 3,
  tags: ["reports"],
  meta: { team: "finance", cron: "overwritten by the cron keys" },
  async perform() {},
});

test("Oban.start refuses an invalid crontab with an ObanError naming the entry, before touching the database", async () => {
  const refused = async (crontab: unknown, reason: RegExp) => {
    const error = await Oban.start({ databaseUrl: "postgres://nobody@127.0.0.1:1/none", prefix: schema.prefix, crontab: crontab as CronEntry[] }).then(
      (o) => (running.push(o), undefined),
      (e) => e,
    );
    assert.instance(error, ObanError, String(error));
    assert.is(error.code, "invalid_input");
    assert.match(error.message, reason);
  };
  await refused([{ expr: "*/5 * * * *", worker: Report }, { expr: "0 0 30 2 *", worker: Report }], /^crontab\[1\] "0 0 30 2 \* Test\.Cron\.Report": .*can never run/);
  await refused([{ expr: "0 9 * * *", worker: "Other.Service", timezone: "Europe/Pariss" }], /^crontab\[0\] "0 9 \* \* \* Other\.Service": unknown timezone "Europe\/Pariss"/);
  await refused([{ expr: "@daily", worker: Report, queu: "x" }], /crontab\[0\] .*unknown key "queu"/);
  await refused([{ expr: "@daily" }], /crontab\[0\] .*worker must be/);
  await refused([{ expr: "@daily", worker: Report, args: [1] }], /crontab\[0\] .*args/);
  await refused([{ expr: "@daily", worker: Report, priority: 10 }], /crontab\[0\] .*priority/);
  await refused([{ expr: "@daily", worker: "W" }, { expr: "@daily", worker: "W" }], /crontab\[1\] .*same entry as crontab\[0\]/);
  await refused({ expr: "@daily", worker: "W" }, /crontab: must be a list/);
});

const cronRows = async (where = "true") =>
  (
    await schema.pool.query(
      `SELECT worker, queue, priority, max_attempts, tags, meta, args, scheduled_at FROM "${schema.prefix}".oban_jobs WHERE ${where} ORDER BY scheduled_at, id`,
    )
  ).rows;

test("the leader inserts one job per matching minute, with cron meta merged into the worker's defaults; @reboot once", async () => {
  const oban = await start([
    { expr: "*/5 * * * *", worker: Report, args: { full: true }, meta: { source: "crontab" } },
    { expr: "0 9 * * *", worker: "Other.Service", timezone: "Europe/Paris", queue: "other" },
    { expr: "@reboot", worker: "Other.Warmup" },
  ]);
  await waitFor("leader", () => oban.isLeader, 15_000);
  // On election the service runs at once: @reboot is inserted then, for the current minute.
  await waitFor("@reboot job", async () => (await cronRows("worker = 'Other.Warmup'")).length === 1);

  // 08:00 UTC is 09:00 in Paris in January, and a multiple of 5 minutes.
  const minutes = ["2031-01-06T08:00", "2031-01-06T12:00", "2031-01-06T12:01", "2031-01-06T12:04", "2031-01-06T12:05", "2031-01-06T12:10"];
  for (const minute of minutes) {
    for (const second of ["07", "59"]) await oban.cron!.evaluate(at(`${minute}:${second}Z`)); // twice per minute
  }
  await oban.cron!.evaluate(at("2031-01-06T11:55:00Z")); // earlier than a minute already evaluated: never

  const rows = await cronRows("scheduled_at >= '2031-01-01'");
  assert.equal(
    rows.map((r) => `${r.scheduled_at.toISOString().slice(0, 16)} ${r.worker}`),
    ["2031-01-06T08:00 Test.Cron.Report", "2031-01-06T08:00 Other.Service", "2031-01-06T12:00 Test.Cron.Report", "2031-01-06T12:05 Test.Cron.Report", "2031-01-06T12:10 Test.Cron.Report"],
  );
  const report = rows.find((r) => r.worker === "Test.Cron.Report")!;
  const reportName = cronName("*/5 * * * *", "Test.Cron.Report", { args: { full: true }, meta: { source: "crontab" } });
  assert.equal(report.meta, { team: "finance", source: "crontab", cron: true, cron_expr: "*/5 * * * *", cron_name: reportName });
  assert.equal([report.queue, report.priority, report.max_attempts, report.tags, report.args], ["reports", 2, 3, ["reports"], { full: true }]);
  const other = rows.find((r) => r.worker === "Other.Service")!;
  assert.equal(other.meta, { cron: true, cron_expr: "0 9 * * *", cron_name: cronName("0 9 * * *", "Other.Service", { timezone: "Europe/Paris", queue: "other" }), cron_tz: "Europe/Paris" });
  assert.equal([other.queue, other.priority, other.max_attempts, other.args], ["other", 0, 20, {}]);
  const reboots = await cronRows("worker = 'Other.Warmup'");
  assert.is(reboots.length, 1, "@reboot inserted once, not on every evaluation");
  assert.equal(reboots[0].meta, { cron: true, cron_expr: "@reboot", cron_name: cronName("@reboot", "Other.Warmup", {}) });
});

test("two instances on one schema: only the leader inserts, one job per minute; a new leader skips the minute it took over in; a lost lease inserts nothing", async () => {
  const crontab = [{ expr: "* * * * *", worker: "Test.Cron.Minutely" }];
  const [a, b] = [await start(crontab, { node: "node-a" }), await start(crontab, { node: "node-b" })];
  const leader = (await waitFor("a leader", () => (a.isLeader ? a : b.isLeader ? b : undefined), 15_000))!;
  const follower = leader === a ? b : a;
  const countAt = async (minute: string) => (await cronRows(`scheduled_at = '${minute}'`)).length;

  for (let m = 0; m < 5; m++) {
    const t = at(`2031-03-01T10:0${m}:07Z`);
    const [ra, rb] = await Promise.all([a.cron!.evaluate(t), b.cron!.evaluate(t)]);
    assert.is([ra, rb].filter((r) => r !== undefined).length, 1, "exactly one instance holds the lease");
    assert.is((leader === a ? rb : ra), undefined, "the follower inserted nothing");
    assert.is(await countAt(`2031-03-01 10:0${m}:00`), 1);
  }

  // The leader stops after inserting 10:04; the follower is elected and, as if that happened at
  // 10:04:30, must not insert 10:04 again, but does insert 10:05.
  await leader.stop({ grace: 0 });
  await waitFor("the follower leads", () => follower.isLeader, 15_000);
  await schema.pool.query(`UPDATE "${schema.prefix}".oban_peers SET started_at = '2031-03-01 10:04:30' WHERE node = $1`, [follower.identity]);
  const same = await follower.cron!.evaluate(at("2031-03-01T10:04:40Z"));
  assert.equal(same?.jobs, [], "the minute the lease changed hands belongs to the old leader");
  await follower.cron!.evaluate(at("2031-03-01T10:05:01Z"));
  assert.equal([await countAt("2031-03-01 10:04:00"), await countAt("2031-03-01 10:05:00")], [1, 1]);

  // A leader whose lease went to someone else (it has not noticed yet) inserts nothing.
  await schema.pool.query(`UPDATE "${schema.prefix}".oban_peers SET node = 'someone-else' WHERE node = $1`, [follower.identity]);
  assert.is(await follower.cron!.evaluate(at("2031-03-01T10:06:01Z")), undefined);
  assert.is(await countAt("2031-03-01 10:06:00"), 0);
});

test("a node with leader: false never inserts cron jobs", async () => {
  const oban = await start([{ expr: "@reboot", worker: "Test.Cron.Never" }], { leader: false });
  assert.is(oban.cron, undefined);
  await new Promise((r) => setTimeout(r, 300));
  assert.is((await cronRows()).length, 0);
});

test.run();
