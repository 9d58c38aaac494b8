import { Command, Flags, Errors } from "@oclif/core";
import type pg from "pg";
import { checkPrefix, loadConfigFile, resolveDatabase, type FileConfig } from "../config.js";
import { connectionFor, type Connection } from "../db/connect.js";
import { createPool, isConnectionError, redactUrl, unreachable } from "../db/pool.js";
import { ObanError, exitCodeFor } from "../errors.js";

/**
 * Shared flags and error handling for every command. Commands stay thin: parse flags, call one
 * core function, return a typed result (printed as JSON with --json, rendered otherwise).
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    "database-url": Flags.string({ description: "PostgreSQL URL (default: DATABASE_URL, PG* variables, config file, else the embedded server)", helpGroup: "GLOBAL" }),
    prefix: Flags.string({ description: "schema holding the Oban tables", helpGroup: "GLOBAL" }),
    config: Flags.string({ description: "config file (default: oban.config.json|mjs|js in the working directory)", helpGroup: "GLOBAL" }),
  };

  private pools: pg.Pool[] = [];
  private prefixInUse = "public";
  protected fileConfig: FileConfig = {};

  protected async settings(flags: { "database-url"?: string; prefix?: string; config?: string }) {
    this.fileConfig = await loadConfigFile(process.cwd(), flags.config);
    const target = resolveDatabase(flags["database-url"], this.fileConfig);
    const prefix = checkPrefix(flags.prefix ?? process.env.OBAN_PREFIX ?? this.fileConfig.prefix ?? "public");
    this.prefixInUse = prefix;
    return { target, prefix };
  }

  /** Opens a pool and checks it answers, so an unreachable database fails fast with a clear message. */
  protected async openPool(flags: { "database-url"?: string; prefix?: string; config?: string }, max = 4): Promise<{ pool: pg.Pool; prefix: string; connection: Connection }> {
    const { target, prefix } = await this.settings(flags);
    const connection = await connectionFor(target);
    const pool = createPool(connection.url as string, { max, applicationName: `oban-ts ${this.id ?? ""}`.trim() });
    this.pools.push(pool);
    try {
      await pool.query("select 1");
    } catch (error) {
      throw isConnectionError(error) || (error as { code?: string }).code?.startsWith("28") || (error as { code?: string }).code === "3D000"
        ? unreachable(error, connection.url ?? connection.describe)
        : error;
    }
    return { pool, prefix, connection };
  }

  protected override async finally(error: Error | undefined): Promise<any> {
    await Promise.all(this.pools.map((p) => p.end().catch(() => {})));
    return super.finally(error);
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<any> {
    // oclif's own exits (help, version, parse errors) keep their codes.
    if (error instanceof Errors.ExitError) throw error;
    error = explainDatabaseError(error, this.prefixInUse);
    const parseError = error.oclif?.exit !== undefined && !(error instanceof ObanError);
    const code = parseError ? (error.oclif!.exit as number) : exitCodeFor(error);
    const obanCode = error instanceof ObanError ? error.code : parseError ? "invalid_input" : "internal";
    const message = redactUrl(error.message ?? String(error));
    if (this.jsonEnabled()) {
      this.logJson({ error: { code: obanCode, message } });
    } else {
      process.stderr.write(`Error: ${message}\n`);
    }
    process.exitCode = code;
  }
}

/** A missing table or schema almost always means "not migrated yet": say so. */
function explainDatabaseError<E extends Error>(error: E, prefix: string): E {
  const code = (error as { code?: string }).code;
  if (code === "42P01" || code === "3F000" || code === "42704") {
    return new ObanError("schema", `the Oban tables are missing in schema "${prefix}" (${error.message}): run \`oban migrate\` first`, { cause: error }) as unknown as E;
  }
  return error;
}
