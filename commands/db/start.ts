import { Flags } from "@oclif/core";
import { BaseCommand } from "../../src/cli/base.js";
import { ensureEmbedded, type EmbeddedServer } from "../../src/db/embedded.js";
import { redactUrl } from "../../src/db/pool.js";

export default class DbStart extends BaseCommand {
  static override summary = "Start the embedded PostgreSQL (or reuse the one already running)";
  static override description =
    "The server runs in the background, shared by every oban command using the same folder, until `oban db stop`. " +
    "Text output hides the password; --json prints the full URL for scripts.";
  static override examples = ["<%= config.bin %> db start", "<%= config.bin %> db start --json", "<%= config.bin %> db start --dir ./.oban"];
  static override flags = {
    dir: Flags.string({ description: "folder holding the server's data (default: OBAN_EMBEDDED_DIR, else ./.oban)" }),
  };

  async run(): Promise<EmbeddedServer> {
    const { flags } = await this.parse(DbStart);
    const server = await ensureEmbedded({ dir: flags.dir, log: (line) => this.log(line) });
    this.log(`${server.startedNow ? "started" : "already running"}: pid ${server.pid}, port ${server.port}`);
    this.log(`url:  ${redactUrl(server.url)}`);
    this.log(`data: ${server.dataDir}`);
    return server;
  }
}
