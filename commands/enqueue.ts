import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../src/cli/base.js";
import { parseDuration } from "../src/cli/duration.js";
import { parseInteger, parseJsonObject, parseList, readStdinLines } from "../src/cli/job-input.js";
import { insertJobs, prepareJob, type JobSpec, type PreparedJob } from "../src/engine/insert.js";
import { insertUnique } from "../src/engine/unique.js";
import type { Job } from "../src/engine/job.js";
import { parseUniqueFlags, uniqueFlags } from "../src/cli/unique-flags.js";
import { invalid } from "../src/errors.js";
import { DEFAULT_MAX_ARGS_BYTES } from "../src/engine/validate.js";

export interface EnqueueResult {
  count: number;
  /** With --unique: how many of the jobs were already there (nothing inserted for those). */
  conflicts?: number;
  /** With --unique, each job says whether it is an existing match (`conflict: true`) or new. */
  jobs: { id: string; worker: string; queue: string; state: string; scheduledAt: string; conflict?: boolean }[];
}

export default class Enqueue extends BaseCommand {
  static override summary = "Insert jobs for a worker; with no --args, each JSON line on stdin is one job";

  static override description = [
    "WORKER is the name stored in oban_jobs.worker (e.g. MyApp.Workers.Email); the nodes that run the queue must define it.",
    "Every job is validated before anything is written: one bad line in a stdin batch inserts none of it.",
  ].join("\n");

  static override examples = [
    `<%= config.bin %> enqueue MyApp.Mailer --args '{"to":"a@b.c"}' --queue mailers --priority 1`,
    `<%= config.bin %> enqueue MyApp.Report --args '{"id":7}' --schedule-in 10m --tags nightly,reports`,
    "cat jobs.jsonl | <%= config.bin %> enqueue MyApp.Import --json",
    `<%= config.bin %> enqueue MyApp.Sync --args '{"account":7}' --unique 10m --unique-states incomplete`,
  ];

  static override args = {
    worker: Args.string({ description: "worker name", required: true }),
  };

  static override flags = {
    args: Flags.string({ description: "job args as a JSON object (default: read JSON lines from stdin when piped, else {})" }),
    queue: Flags.string({ description: "queue name (default: default)" }),
    priority: Flags.string({ description: "0 (first) to 9 (default 0)" }),
    "max-attempts": Flags.string({ description: "attempts before the job is discarded (default 20)" }),
    "schedule-in": Flags.string({ description: "run after this delay: 30s, 10m, 2h, or seconds", exclusive: ["scheduled-at"] }),
    "scheduled-at": Flags.string({ description: "run at this ISO-8601 time, e.g. 2030-01-01T09:00:00Z" }),
    tags: Flags.string({ description: "comma-separated tags" }),
    meta: Flags.string({ description: "meta as a JSON object" }),
    "max-args-bytes": Flags.string({ description: "reject args larger than this many bytes of JSON (default 1048576)" }),
    ...uniqueFlags,
  };

  async run(): Promise<EnqueueResult> {
    const { args, flags } = await this.parse(Enqueue);
    // Everything is parsed and validated before the database is touched.
    const common: Omit<JobSpec, "args"> = {
      worker: args.worker,
      queue: flags.queue,
      priority: parseInteger(flags.priority, "--priority"),
      maxAttempts: parseInteger(flags["max-attempts"], "--max-attempts"),
      scheduleIn: flags["schedule-in"] === undefined ? undefined : parseDuration(flags["schedule-in"], "--schedule-in") / 1000,
      scheduledAt: flags["scheduled-at"],
      tags: parseList(flags.tags, "--tags"),
      meta: flags.meta === undefined ? undefined : parseJsonObject(flags.meta, "--meta"),
    };
    const maxArgsBytes = parseInteger(flags["max-args-bytes"], "--max-args-bytes") ?? DEFAULT_MAX_ARGS_BYTES;
    if (maxArgsBytes < 1) throw invalid("--max-args-bytes", `must be a positive number of bytes (got ${maxArgsBytes})`);
    const unique = parseUniqueFlags(flags);
    const prepared = await this.prepare(common, flags.args, maxArgsBytes);
    const { pool, prefix } = await this.openPool(flags, 2);
    const inserted: { job: Job; conflict?: boolean }[] = unique
      ? await insertUnique(pool, prefix, prepared, unique)
      : (await insertJobs(pool, prefix, prepared)).map((job) => ({ job }));
    const result: EnqueueResult = {
      count: inserted.length,
      ...(unique ? { conflicts: inserted.filter((r) => r.conflict).length } : {}),
      jobs: inserted.map(({ job, conflict }) => ({
        id: job.id, worker: job.worker, queue: job.queue, state: job.state, scheduledAt: job.scheduledAt.toISOString(),
        ...(unique ? { conflict } : {}),
      })),
    };
    // stdout keeps one id per line either way (the existing job's on a conflict), so scripts that
    // capture it work unchanged; the conflict is said on stderr, and the exit code stays 0.
    for (const { job, conflict } of inserted) {
      this.log(job.id);
      if (conflict && !this.jsonEnabled()) process.stderr.write(`job ${job.id} (${job.state}) already matches: nothing inserted (unique conflict)\n`);
    }
    return result;
  }

  private async prepare(common: Omit<JobSpec, "args">, argsFlag: string | undefined, maxArgsBytes: number): Promise<PreparedJob[]> {
    const field = (name: string) => (name === "args" ? "--args" : `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    const fromFlag = (spec: JobSpec) => {
      try {
        return prepareJob(spec, "", maxArgsBytes);
      } catch (error) {
        throw renameField(error, field);
      }
    };
    if (argsFlag !== undefined) return [fromFlag({ ...common, args: parseJsonObject(argsFlag, "--args") })];
    if (process.stdin.isTTY) return [fromFlag({ ...common, args: {} })];
    const lines = await readStdinLines();
    const prepared: PreparedJob[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      const where = `stdin line ${i + 1}:`;
      prepared.push(prepareJob({ ...common, args: parseJsonObject(line, `${where} args`) }, where, maxArgsBytes));
    });
    // Nothing piped (e.g. stdin is /dev/null): one job with empty args, as without a pipe.
    if (prepared.length === 0 && lines.every((l) => l.trim() === "")) return [fromFlag({ ...common, args: {} })];
    return prepared;
  }
}

/** Engine messages name API fields (maxAttempts); on the command line the flag name reads better. */
function renameField(error: unknown, rename: (field: string) => string): unknown {
  const e = error as { field?: string; message?: string };
  if (!e.field || !/^[a-zA-Z]+$/.test(e.field)) return error;
  return invalid(rename(e.field), e.message!.slice(e.field.length + 2));
}
