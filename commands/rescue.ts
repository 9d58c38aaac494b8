import { Flags } from "@oclif/core";
import { BaseCommand } from "../src/cli/base.js";
import { parseDuration } from "../src/cli/duration.js";
import { countsTable } from "../src/cli/render.js";
import { rescueJobs, type RescueResult } from "../src/engine/maintenance.js";

export default class Rescue extends BaseCommand {
  static override summary = "Rescue orphaned executing jobs once, as the leader's lifeline does";

  static override description = [
    "Jobs whose producer stopped heartbeating (older than --producer-max-age) are rescued at once, however long they ran;",
    "jobs of a producer that is alive are never touched; jobs with no known producer (other implementations) are rescued",
    "once they have been executing longer than --after. Rescued jobs become available (meta.rescued + 1), or discarded",
    "when out of attempts.",
  ].join("\n");

  static override examples = ["<%= config.bin %> rescue --dry-run", "<%= config.bin %> rescue --after 30m --json"];

  static override flags = {
    after: Flags.string({ description: "time floor for jobs with no known producer", default: "60m" }),
    "producer-max-age": Flags.string({ description: "a producer silent this long is dead", default: "60s" }),
    limit: Flags.integer({ description: "at most this many time-floor rescues", default: 5000, min: 1 }),
    "dry-run": Flags.boolean({ description: "report what would be rescued; change nothing" }),
  };

  async run(): Promise<RescueResult> {
    const { flags } = await this.parse(Rescue);
    const rescueAfter = parseDuration(flags.after, "--after") / 1000;
    const producerMaxAge = parseDuration(flags["producer-max-age"], "--producer-max-age") / 1000;
    const { pool, prefix } = await this.openPool(flags, 1);
    const result = await rescueJobs(pool, prefix, { rescueAfter, producerMaxAge, limit: flags.limit, dryRun: flags["dry-run"] });
    const total = result.rescued.reduce((sum, r) => sum + r.count, 0);
    const verb = result.dryRun ? "would rescue" : "rescued";
    this.log(`${verb} ${total} job(s); ${result.dryRun ? "would remove" : "removed"} ${result.deadProducers} dead producer(s)`);
    if (total > 0) this.log(countsTable(result.rescued));
    return result;
  }
}
