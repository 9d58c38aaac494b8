import { Flags } from "@oclif/core";
import { BaseCommand } from "../../src/cli/base.js";
import { embeddedStatus, type EmbeddedStatus } from "../../src/db/embedded.js";
import { redactUrl } from "../../src/db/pool.js";

export default class DbStatus extends BaseCommand {
  static override summary = "Show whether the embedded PostgreSQL is running (exit 0 running, 1 not)";
  static override examples = ["<%= config.bin %> db status", "<%= config.bin %> db status --json"];
  static override flags = {
    dir: Flags.string({ description: "folder holding the server's data (default: OBAN_EMBEDDED_DIR, else ./.oban)" }),
  };

  async run(): Promise<EmbeddedStatus> {
    const { flags } = await this.parse(DbStatus);
    const status = await embeddedStatus({ dir: flags.dir });
    if (status.running) {
      this.log(`running: pid ${status.pid}, port ${status.port}`);
      if (status.url) this.log(`url:  ${redactUrl(status.url)}`);
    } else {
      this.log(status.initialised ? "not running (initialised)" : "not running (not initialised)");
    }
    this.log(`data: ${status.dataDir}`);
    // "The answer is no" exits 1, so scripts can test `oban db status`.
    if (!status.running) process.exitCode = 1;
    return status;
  }
}
