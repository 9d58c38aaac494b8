import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../src/cli/base.js";
import { evaluateConditions, parseConditions, type ConditionResult } from "../src/cli/fail-if.js";
import { crontabFrom } from "../src/cli/crontab.js";
import { renderCron, renderJob, renderJobs, renderLeader, renderProducers, renderQueues, type CronInfo } from "../src/cli/inspect-render.js";
import { parseInteger } from "../src/cli/job-input.js";
import { checkJobId, checkLimit, checkState } from "../src/engine/control.js";
import { latestCronJobs } from "../src/engine/cron.js";
import { resolveCrontab } from "../src/cron/crontab.js";
import {
  DEFAULT_LEADER_NAME, LIST_LIMIT_MAX, inspectJob, leaderInfo, listJobs, listProducers, queueCounts,
  type LeaderInfo, type ProducerInfo, type QueueCount,
} from "../src/engine/inspect.js";
import type { Job, JobState } from "../src/engine/job.js";
import { invalid } from "../src/errors.js";

const VIEWS = ["queues", "jobs", "job", "leader", "producers", "cron"] as const;
type View = (typeof VIEWS)[number];

export type InspectResult =
  | { view: "queues"; queues: QueueCount[]; checks: ConditionResult[]; failed: string[] }
  | { view: "jobs"; jobs: Job[] }
  | { view: "job"; job: Job }
  | ({ view: "leader" } & LeaderInfo)
  | { view: "producers"; producers: ProducerInfo[] }
  | ({ view: "cron" } & CronInfo);

export default class Inspect extends BaseCommand {
  static override summary = "Show queues (default), jobs, one job, the leader lease, the producers or the crontab";

  static override description = [
    "queues: jobs per queue and state, lag (seconds the oldest fetchable available job has waited) and",
    "stuck rows (available with attempts exhausted: no fetch takes them). With --fail-if, exits 1 when any",
    "condition holds, for CI: METRIC[OP VALUE], comma-separated; METRIC is a state, total, lag or stuck;",
    "OP is > >= < <= = !=; a bare METRIC means METRIC>0. Counts add up over the queues shown; lag is their maximum.",
    "cron: the crontab of --cron flags or the config file, with each entry's next run (database clock) and",
    "the minute of the latest job it inserted.",
  ].join("\n");

  static override examples = [
    "<%= config.bin %> inspect",
    `<%= config.bin %> inspect --fail-if "discarded>0,lag>60s,stuck"`,
    "<%= config.bin %> inspect jobs --state retryable --queue mailers --limit 20",
    "<%= config.bin %> inspect job 42 --json",
    "<%= config.bin %> inspect leader",
    "<%= config.bin %> inspect producers",
    `<%= config.bin %> inspect cron --cron "*/15 * * * * MyApp.Report"`,
  ];

  static override args = {
    view: Args.string({ description: "what to show", options: [...VIEWS], default: "queues" }),
    id: Args.string({ description: "job id (for `inspect job`)" }),
  };

  static override flags = {
    state: Flags.string({ description: "jobs: only this state" }),
    queue: Flags.string({ description: "queues, jobs: only this queue" }),
    worker: Flags.string({ description: "jobs: only this worker" }),
    limit: Flags.string({ description: `jobs: at most this many (default 50, max ${LIST_LIMIT_MAX})` }),
    order: Flags.string({ description: "jobs: newest (default) or oldest first, by id", options: ["newest", "oldest"] }),
    "fail-if": Flags.string({ description: "queues: exit 1 when a condition holds, e.g. discarded>0,lag>60s,stuck" }),
    "leader-name": Flags.string({ description: `leader: the lease name that is ours (default ${DEFAULT_LEADER_NAME})` }),
    cron: Flags.string({ description: "cron: an entry \"EXPR WORKER [JSON-ARGS]\" (repeatable; default: the config file's crontab)", multiple: true }),
    "cron-timezone": Flags.string({ description: "cron: IANA time zone of the --cron entries" }),
  };

  async run(): Promise<InspectResult> {
    const { args, flags } = await this.parse(Inspect);
    const view = args.view as View;
    // Everything is checked before the database is touched.
    const allowed: Record<View, string[]> = {
      queues: ["queue", "fail-if"],
      jobs: ["state", "queue", "worker", "limit", "order"],
      job: [],
      leader: ["leader-name"],
      producers: [],
      cron: ["cron", "cron-timezone"],
    };
    for (const name of ["state", "queue", "worker", "limit", "order", "fail-if", "leader-name", "cron", "cron-timezone"] as const) {
      if (flags[name] !== undefined && !allowed[view].includes(name)) {
        throw invalid(`--${name}`, `does not apply to \`inspect ${view}\``);
      }
    }
    if (view === "job" && args.id === undefined) throw invalid("ID", "`inspect job` needs a job id, e.g. `oban inspect job 42`");
    if (view !== "job" && args.id !== undefined) throw invalid("ID", `unexpected argument "${args.id}" (only \`inspect job ID\` takes one)`);
    const id = args.id === undefined ? undefined : checkJobId(args.id, "ID");
    const state = flags.state === undefined ? undefined : checkState(flags.state, "--state");
    const limit = flags.limit === undefined ? undefined : checkLimit(parseInteger(flags.limit, "--limit"), "--limit", LIST_LIMIT_MAX);
    const conditions = flags["fail-if"] === undefined ? undefined : parseConditions(flags["fail-if"]);
    // The config file is read by openPool; the entries are checked before the query runs. Worker
    // modules are not loaded here: cron_name depends only on the entry, never on worker defaults.
    const crontab = () => resolveCrontab(crontabFrom(flags.cron, flags["cron-timezone"], this.fileConfig), new Map(), flags.cron ? "--cron" : "crontab");

    const { pool, prefix } = await this.openPool(flags, 2);
    switch (view) {
      case "queues": {
        const all = await queueCounts(pool, prefix);
        const queues = flags.queue === undefined ? all : all.filter((q) => q.queue === flags.queue);
        const checks = conditions ? evaluateConditions(conditions, queues) : [];
        const failed = checks.filter((c) => c.holds).map((c) => c.condition);
        this.log(queues.length === 0 && flags.queue !== undefined ? `no jobs in queue ${flags.queue}` : renderQueues(queues));
        for (const c of checks) this.log(`${c.holds ? "FAIL" : "ok  "} ${c.condition} (${c.actual})`);
        // "The answer is no" for CI: exit 1, still printing the counts (also with --json).
        if (failed.length > 0) process.exitCode = 1;
        return { view, queues, checks, failed };
      }
      case "jobs": {
        const jobs = await listJobs(pool, prefix, {
          state: state as JobState | undefined,
          queue: flags.queue,
          worker: flags.worker,
          limit,
          order: flags.order as "newest" | "oldest" | undefined,
        });
        this.log(renderJobs(jobs));
        return { view, jobs };
      }
      case "job": {
        const job = await inspectJob(pool, prefix, id!);
        this.log(renderJob(job));
        return { view, job };
      }
      case "leader": {
        const info = await leaderInfo(pool, prefix, flags["leader-name"] ?? DEFAULT_LEADER_NAME);
        this.log(renderLeader(info));
        return { view, ...info };
      }
      case "producers": {
        const producers = await listProducers(pool, prefix);
        this.log(renderProducers(producers));
        return { view, producers };
      }
      case "cron": {
        const schedules = crontab();
        const { now, latest } = await latestCronJobs(pool, prefix, schedules.map((s) => s.name));
        const entries = schedules.map((s) => ({
          name: s.name,
          expr: s.expression.source,
          worker: s.worker,
          timezone: s.expression.timezone ?? null,
          nextAt: s.expression.next(now),
          lastAt: latest.get(s.name) ?? null,
        }));
        this.log(renderCron({ now, entries }));
        return { view, now, entries };
      }
    }
  }
}
