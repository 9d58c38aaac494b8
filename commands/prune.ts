import { Flags } from "@oclif/core";
import { BaseCommand } from "../src/cli/base.js";
import { parseDuration } from "../src/cli/duration.js";
import { countsTable } from "../src/cli/render.js";
import { pruneJobs, type PruneResult } from "../src/engine/maintenance.js";

export default class Prune extends BaseCommand {
  static override summary = "Delete completed, cancelled and discarded jobs older than --max-age, once";

  static override description =
    "Age is counted from each job's own completed_at, cancelled_at or discarded_at. At most --limit rows are deleted, skipping rows others have locked.";

  static override examples = ["<%= config.bin %> prune --max-age 7d --dry-run", "<%= config.bin %> prune --max-age 1d --limit 50000 --json"];

  static override flags = {
    "max-age": Flags.string({ description: "keep finished jobs this long", default: "1d" }),
    limit: Flags.integer({ description: "delete at most this many rows", default: 10_000, min: 1 }),
    "dry-run": Flags.boolean({ description: "report what would be deleted; change nothing" }),
  };

  async run(): Promise<PruneResult> {
    const { flags } = await this.parse(Prune);
    const maxAge = parseDuration(flags["max-age"], "--max-age") / 1000;
    const { pool, prefix } = await this.openPool(flags, 1);
    const result = await pruneJobs(pool, prefix, { maxAge, limit: flags.limit, dryRun: flags["dry-run"] });
    this.log(`${result.dryRun ? "would delete" : "deleted"} ${result.total} job(s)`);
    if (result.total > 0) this.log(countsTable(result.pruned));
    return result;
  }
}
