import path from "node:path";
import { pathToFileURL } from "node:url";
import { Flags } from "@oclif/core";
import { BaseCommand } from "../src/cli/base.js";
import { parseDuration } from "../src/cli/duration.js";
import { JobLog } from "../src/cli/job-log.js";
import { parseQueues } from "../src/cli/queues.js";
import { crontabFrom } from "../src/cli/crontab.js";
import { resolveCrontab } from "../src/cron/crontab.js";
import { migrateUp, migrationStatus } from "../src/engine/migrate.js";
import { ObanError } from "../src/errors.js";
import { Oban } from "../src/runtime/oban.js";
import { registeredWorkers } from "../src/worker.js";

export default class Work extends BaseCommand {
  static override summary = "Run queues: fetch and execute jobs until SIGTERM/SIGINT, then stop gracefully";
  static override enableJsonFlag = false;

  static override examples = [
    "<%= config.bin %> work --queues default:10,mailers:5 --require ./dist/workers.js",
    `<%= config.bin %> work --require ./dist/workers.js --cron "*/15 * * * * MyApp.Report {\"full\":true}" --cron "@daily MyApp.Cleanup"`,
    "NODE_OPTIONS='--import tsx' <%= config.bin %> work --require ./src/workers.ts",
  ];

  static override flags = {
    queues: Flags.string({ char: "q", description: "queue:limit pairs, e.g. default:10,mailers:5 (default: OBAN_QUEUES, config file, else default:10)" }),
    require: Flags.string({ char: "r", description: "module that defines workers (repeatable)", multiple: true }),
    node: Flags.string({ description: "node name written to attempted_by (default: OBAN_NODE or the hostname)" }),
    grace: Flags.string({ description: "time running jobs get to finish on shutdown, e.g. 15s", default: "15s" }),
    "poll-interval": Flags.string({ description: "fetch at least this often without notifications", default: "1s" }),
    cron: Flags.string({ description: "a periodic job, \"EXPR WORKER [JSON-ARGS]\" (repeatable; replaces the config file's crontab); the leader inserts it each matching minute", multiple: true }),
    "cron-timezone": Flags.string({ description: "IANA time zone the --cron expressions are read in (default UTC)" }),
    migrate: Flags.boolean({ description: "install or upgrade the schema before starting" }),
    name: Flags.string({ description: "instance name used in signal idents and producer rows", default: "Oban" }),
    leader: Flags.boolean({ description: "take part in leader election (lifeline, pruner and cron run on the leader)", default: true, allowNo: true }),
    "leader-ttl": Flags.string({ description: "leader lease length", default: "30s", helpGroup: "CLUSTER" }),
    "heartbeat-interval": Flags.string({ description: "producer heartbeat period", default: "15s", helpGroup: "CLUSTER" }),
    "producer-max-age": Flags.string({ description: "a producer silent this long is dead and its jobs are rescued", default: "60s", helpGroup: "CLUSTER" }),
    "rescue-interval": Flags.string({ description: "lifeline period (leader)", default: "60s", helpGroup: "CLUSTER" }),
    "rescue-after": Flags.string({ description: "rescue jobs of unknown producers after this long", default: "60m", helpGroup: "CLUSTER" }),
    "prune-interval": Flags.string({ description: "pruner period (leader)", default: "60s", helpGroup: "CLUSTER" }),
    "prune-max-age": Flags.string({ description: "keep finished jobs this long; 0 disables pruning", default: "1d", helpGroup: "CLUSTER" }),
    "stage-interval": Flags.string({ description: "how often due scheduled/retryable jobs are made available", default: "1s", helpGroup: "CLUSTER" }),
  };

  async run(): Promise<void> {
    // Listen first: a SIGTERM during startup (a deploy rolling on) must still stop cleanly, not kill.
    const signalled = new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    });
    const { flags } = await this.parse(Work);
    const ms = (flag: keyof typeof flags) => parseDuration(String(flags[flag]), `--${flag}`);
    const grace = ms("grace");
    const pollInterval = ms("poll-interval");
    const pruneMaxAge = ms("prune-max-age");
    const cluster = {
      name: flags.name,
      leader: flags.leader,
      leaderTtl: ms("leader-ttl"),
      heartbeatInterval: ms("heartbeat-interval"),
      producerMaxAge: ms("producer-max-age"),
      stageInterval: ms("stage-interval"),
      lifeline: { interval: ms("rescue-interval"), rescueAfter: ms("rescue-after") },
      pruner: pruneMaxAge === 0 ? (false as const) : { interval: ms("prune-interval"), maxAge: pruneMaxAge },
    };
    const { target, prefix } = await this.settings(flags);
    const queues = parseQueues(flags.queues ?? process.env.OBAN_QUEUES ?? this.fileConfig.queues ?? "default:10");
    const log = new JobLog();

    const modules = flags.require ?? toList(this.fileConfig.require);
    for (const module of modules) {
      try {
        await import(pathToFileURL(path.resolve(module)).href);
      } catch (error) {
        throw new ObanError("config", `cannot load --require ${module}: ${(error as Error).message}`, { cause: error });
      }
    }

    // Checked before the database is reached: a bad entry exits 2 at once, naming it.
    const crontab = crontabFrom(flags.cron, flags["cron-timezone"], this.fileConfig);
    const schedules = resolveCrontab(crontab, registeredWorkers(), flags.cron ? "--cron" : "crontab");

    const opened = await Promise.race([this.openPoolWithRetry(flags, log, signalled), signalled]);
    if (typeof opened === "string") {
      log.message({ level: "info", message: `${opened} before the database was reached: exiting` });
      return;
    }
    const { pool, connection } = opened;
    if (flags.migrate) await migrateUp(pool, prefix);
    const status = await migrationStatus(pool, prefix);
    if (status.pending.length > 0) {
      throw new ObanError("schema", `schema "${prefix}" needs migrations ${status.pending.join(", ")}: run \`oban migrate\` (or pass --migrate)`);
    }

    const oban = await Oban.start({ pool, databaseUrl: connection.url, prefix, queues, node: flags.node, pollInterval, shutdownGrace: grace, crontab, ...cluster });
    oban.on("job", (event) => log.job(event));
    oban.on("log", (event) => log.message(event));
    const workers = [...registeredWorkers().keys()];
    log.message({
      level: "info",
      message: `oban work started on ${connection.describe} (schema ${prefix}) as node ${oban.node}: queues ${Object.entries(queues).map(([q, n]) => `${q}:${n}`).join(", ")}; workers ${workers.length ? workers.join(", ") : "none (use --require)"}${schedules.length ? `; crontab ${schedules.map((s) => `${s.expression.source} ${s.worker} (${s.name})`).join(", ")}${flags.leader ? " (inserted by the leader)" : " (not inserted here: --no-leader)"}` : ""}`,
    });
    if (target.source === "embedded") log.message({ level: "info", message: "the embedded PostgreSQL keeps running after exit; stop it with `oban db stop`" });

    const signal = await signalled;
    log.message({ level: "info", message: `${signal}: stopping; running jobs get ${grace} ms (send SIGINT again to abort them now)` });
    const again = () => void oban.stop({ grace: 0 });
    process.once("SIGINT", again);
    process.once("SIGTERM", again);
    await oban.stop({ grace });
    log.message({ level: "info", message: "stopped" });
  }

  /** At start the database may not be up yet (a deploy, a restart): wait for it with backoff. */
  private async openPoolWithRetry(flags: Parameters<BaseCommand["openPool"]>[0], log: JobLog, signalled: Promise<unknown>) {
    let stopped = false;
    void signalled.then(() => (stopped = true));
    for (let attempt = 0; !stopped; attempt++) {
      try {
        return await this.openPool(flags, 10);
      } catch (error) {
        if (!(error instanceof ObanError) || error.code !== "database_unavailable") throw error;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        log.message({ level: "warn", message: `${error.message}; retrying in ${Math.round(delay / 1000)}s` });
        await Promise.race([new Promise((r) => setTimeout(r, delay)), signalled]);
      }
    }
    return undefined as never;
  }
}

function toList(value: string[] | string | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
