import { Flags } from "@oclif/core";
import { BaseCommand } from "../../src/cli/base.js";
import { stopEmbedded } from "../../src/db/embedded.js";

export default class DbStop extends BaseCommand {
  static override summary = "Stop the embedded PostgreSQL";
  static override description = "Fast shutdown: open transactions are rolled back. Exits 0 whether or not it was running.";
  static override examples = ["<%= config.bin %> db stop", "<%= config.bin %> db stop --json"];
  static override flags = {
    dir: Flags.string({ description: "folder holding the server's data (default: OBAN_EMBEDDED_DIR, else ./.oban)" }),
  };

  async run(): Promise<{ stopped: boolean; dataDir: string }> {
    const { flags } = await this.parse(DbStop);
    const result = await stopEmbedded({ dir: flags.dir });
    this.log(result.stopped ? `stopped (${result.dataDir})` : `not running (${result.dataDir})`);
    return result;
  }
}
