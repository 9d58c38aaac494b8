import { Flags } from "@oclif/core";
import { BaseCommand } from "../src/cli/base.js";
import { migrateDown, migrateUp, migrationStatus, type MigrationStatus } from "../src/engine/migrate.js";

export interface MigrateResult {
  action: "up" | "down" | "check";
  dryRun: boolean;
  /** versions this run applied (up) */
  applied?: number[];
  /** versions this run reverted (down) */
  reverted?: number[];
  /** with --dry-run: the SQL that would run, one entry per migration */
  sql?: string[];
  /** --check: true when nothing is pending */
  upToDate?: boolean;
  status: MigrationStatus;
}

export default class Migrate extends BaseCommand {
  static override summary = "Install or upgrade the oban-ts schema objects (additive; never alters an existing oban_jobs)";

  static override description = [
    "Creates what the port needs in the prefix when missing: the oban_job_state enum (or its missing labels),",
    "oban_jobs in the Elixir Oban v14 shape, and the oban_peers, oban_leaders and oban_producers tables.",
    "The applied version is kept in <prefix>.oban_ts_migrations; the comment on oban_jobs is never touched.",
  ].join("\n");

  static override examples = [
    "<%= config.bin %> migrate",
    "<%= config.bin %> migrate --check",
    "<%= config.bin %> migrate --dry-run",
    "<%= config.bin %> migrate --down 0 --prefix my_schema",
  ];

  static override flags = {
    check: Flags.boolean({ description: "exit 1 when migrations are pending, 0 when current; changes nothing", exclusive: ["down", "dry-run"] }),
    "dry-run": Flags.boolean({ description: "print the SQL that would run; changes nothing" }),
    down: Flags.integer({ description: "revert to this version (0 removes what oban-ts created)", min: 0 }),
  };

  async run(): Promise<MigrateResult> {
    const { flags } = await this.parse(Migrate);
    const { pool, prefix } = await this.openPool(flags, 2);
    const dryRun = flags["dry-run"] ?? false;

    if (flags.check) {
      const status = await migrationStatus(pool, prefix);
      const upToDate = status.pending.length === 0;
      if (upToDate) {
        this.log(`up to date (version ${status.current}) in ${prefix}`);
      } else {
        this.log(`pending migrations in ${prefix}: ${status.pending.join(", ")} (current ${status.current}, latest ${status.latest})`);
        // "The answer is no" for CI: exit 1, still printing the status (also with --json).
        process.exitCode = 1;
      }
      return { action: "check", dryRun: false, upToDate, status };
    }

    if (flags.down !== undefined) {
      const result = await migrateDown(pool, prefix, flags.down, { dryRun });
      if (dryRun) {
        if (result.sql!.length === 0) this.log(`-- nothing to revert in ${prefix} (version ${result.status.current})`);
        for (const text of result.sql!) this.log(text);
      } else if (result.reverted.length === 0) {
        this.log(`nothing to revert (version ${result.status.current}) in ${prefix}`);
      } else {
        this.log(`reverted ${result.reverted.map((v) => `migration ${v}`).join(", ")} in ${prefix}; now at version ${result.status.current}`);
      }
      return { action: "down", dryRun, reverted: result.reverted, sql: result.sql, status: result.status };
    }

    const result = await migrateUp(pool, prefix, { dryRun });
    if (dryRun) {
      if (result.sql!.length === 0) this.log(`-- already up to date (version ${result.status.current}) in ${prefix}`);
      for (const text of result.sql!) this.log(text);
    } else if (result.applied.length === 0) {
      this.log(`already up to date (version ${result.status.current}) in ${prefix}`);
    } else {
      this.log(`applied ${result.applied.map((v) => `migration ${v}`).join(", ")} in ${prefix}; now at version ${result.status.current}`);
    }
    return { action: "up", dryRun, applied: result.applied, sql: result.sql, status: result.status };
  }
}
