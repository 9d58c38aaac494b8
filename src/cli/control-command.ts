import { Flags } from "@oclif/core";
import { BaseCommand } from "./base.js";
import { parseInteger } from "./job-input.js";
import { renderControlled } from "./inspect-render.js";
import {
  CONTROL_ACTIONS, UNTOUCHED_STATES, checkJobId, checkLimit, checkState, filterParams, previewJobs,
  type ControlAction, type ControlledJob, type JobFilter,
} from "../engine/control.js";
import { invalid } from "../errors.js";

export interface ControlResult {
  action: ControlAction;
  dryRun: boolean;
  /** Jobs changed (or, with --dry-run, that would change). */
  count: number;
  jobs: ControlledJob[];
  /** cancel: pkill signals sent (would be sent), one per job that was executing. */
  pkill?: number;
}

const PAST: Record<ControlAction, string> = { cancel: "cancelled", retry: "retried", delete: "deleted" };

/**
 * The shared shape of `oban cancel|retry|delete ID… | --queue Q --state S --worker W`: ids and
 * flags are checked before the database is touched, and at least one of them is required.
 */
export abstract class ControlCommand extends BaseCommand {
  static override strict = false;

  static override flags = {
    queue: Flags.string({ description: "only jobs in this queue" }),
    state: Flags.string({ description: "only jobs in this state" }),
    worker: Flags.string({ description: "only jobs of this worker" }),
    limit: Flags.string({ description: "at most this many jobs (lowest ids first)" }),
    "dry-run": Flags.boolean({ description: "print what would change; change nothing" }),
  };

  protected abstract readonly action: ControlAction;

  async run(): Promise<ControlResult> {
    // oclif spreads the options it is given, which drops static members inherited from this class.
    const ctor = this.constructor as typeof ControlCommand;
    const { argv, flags } = await this.parse({
      flags: ctor.flags, baseFlags: ctor.baseFlags, enableJsonFlag: ctor.enableJsonFlag, args: ctor.args, strict: ctor.strict,
    } as typeof ControlCommand);
    const filter = cliFilter(argv as string[], flags);
    const { pool, prefix } = await this.openPool(flags, 2);
    const dryRun = flags["dry-run"] ?? false;
    const jobs = dryRun ? await previewJobs(pool, prefix, this.action, filter) : await CONTROL_ACTIONS[this.action](pool, prefix, filter);
    const result: ControlResult = { action: this.action, dryRun, count: jobs.length, jobs };
    if (this.action === "cancel") result.pkill = jobs.filter((j) => j.previousState === "executing").length;

    const untouched = UNTOUCHED_STATES[this.action].join(", ");
    if (jobs.length === 0) {
      this.log(`no matching job to ${this.action} (${this.action} leaves ${untouched} jobs alone)`);
    } else {
      const noun = jobs.length === 1 ? "job" : "jobs";
      const signals = result.pkill ? ` and ${dryRun ? "would send" : "sent"} ${result.pkill} pkill signal${result.pkill === 1 ? "" : "s"} to running jobs` : "";
      this.log(`${dryRun ? `would ${this.action}` : PAST[this.action]} ${jobs.length} ${noun}${signals}${dryRun ? " (dry run: nothing changed)" : ""}`);
      this.log(renderControlled(jobs));
    }
    return result;
  }
}

/** Builds the engine filter from argv and flags, naming the offending flag or id in errors. */
export function cliFilter(argv: string[], flags: { queue?: string; state?: string; worker?: string; limit?: string }): JobFilter {
  const ids = argv.map((id) => checkJobId(id, "ID"));
  const filter: JobFilter = {
    ids: ids.length > 0 ? ids : undefined,
    queue: flags.queue,
    state: flags.state === undefined ? undefined : checkState(flags.state, "--state"),
    worker: flags.worker,
    limit: flags.limit === undefined ? undefined : checkLimit(parseInteger(flags.limit, "--limit"), "--limit"),
  };
  if (!filter.ids && filter.queue === undefined && filter.state === undefined && filter.worker === undefined) {
    throw invalid("filter", "give job ids or at least one of --queue, --state, --worker (refusing to act on every job)");
  }
  for (const [name, value] of [["--queue", filter.queue], ["--worker", filter.worker]] as const) {
    if (value === "") throw invalid(name, "must not be empty");
  }
  filterParams(filter); // the engine's own checks, before any connection
  return filter;
}
