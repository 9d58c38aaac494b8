import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ObanError, invalid } from "./errors.js";
import { redactUrl } from "./db/pool.js";
import type { CronEntry } from "./cron/crontab.js";

/**
 * Where settings come from, strongest first: flags, environment (DATABASE_URL, OBAN_*), the
 * standard PG* variables (database only), a config file, then defaults. With no database named
 * anywhere, the embedded PostgreSQL under .oban/ is used.
 */
export interface FileConfig {
  databaseUrl?: string;
  prefix?: string;
  node?: string;
  queues?: Record<string, number> | string;
  require?: string[] | string;
  /** Periodic jobs: "EXPR WORKER [JSON-ARGS]" lines or entry objects (worker given by name). */
  crontab?: (string | CronEntry)[];
}

export type DatabaseSource = "flag" | "env" | "pgenv" | "config" | "embedded";

export interface DatabaseTarget {
  /** undefined when the PG* variables describe the database (node-postgres reads them itself). */
  url: string | undefined;
  source: DatabaseSource;
}

export const CONFIG_FILES = ["oban.config.json", "oban.config.mjs", "oban.config.js"];
const PG_VARIABLES = ["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE"];

export async function loadConfigFile(cwd = process.cwd(), explicit?: string): Promise<FileConfig> {
  const candidates = explicit ? [path.resolve(cwd, explicit)] : CONFIG_FILES.map((f) => path.join(cwd, f));
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    if (explicit) throw new ObanError("config", `config file not found: ${explicit}`, { field: "config" });
    return {};
  }
  try {
    if (file.endsWith(".json")) {
      const { readFile } = await import("node:fs/promises");
      return checkFileConfig(JSON.parse(await readFile(file, "utf8")), file);
    }
    const module = await import(pathToFileURL(file).href);
    return checkFileConfig(module.default ?? module, file);
  } catch (error) {
    if (error instanceof ObanError) throw error;
    throw new ObanError("config", `cannot read ${path.basename(file)}: ${(error as Error).message}`, { field: "config", cause: error });
  }
}

const KNOWN_KEYS = new Set(["databaseUrl", "prefix", "node", "queues", "require", "crontab"]);

function checkFileConfig(value: unknown, file: string): FileConfig {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ObanError("config", `${path.basename(file)} must hold an object`, { field: "config" });
  }
  for (const key of Object.keys(value)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new ObanError("config", `${path.basename(file)}: unknown key "${key}" (known: ${[...KNOWN_KEYS].join(", ")})`, { field: key });
    }
  }
  return value as FileConfig;
}

export function resolveDatabase(flag: string | undefined, file: FileConfig, env: NodeJS.ProcessEnv = process.env): DatabaseTarget {
  if (flag) return { url: checkUrl(flag, "--database-url"), source: "flag" };
  if (env.DATABASE_URL) return { url: checkUrl(env.DATABASE_URL, "DATABASE_URL"), source: "env" };
  if (PG_VARIABLES.some((name) => env[name])) return { url: undefined, source: "pgenv" };
  if (file.databaseUrl) return { url: checkUrl(file.databaseUrl, "databaseUrl"), source: "config" };
  return { url: undefined, source: "embedded" };
}

function checkUrl(url: string, field: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(field, `not a valid URL: ${redactUrl(url)} (expected postgres://user:password@host:port/database)`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw invalid(field, `unsupported scheme "${parsed.protocol.replace(/:$/, "")}" (expected postgres:// or postgresql://)`);
  }
  // An unencoded "@", "#" or "/" in the password splits the URL in the wrong place, and the piece
  // after it would end up in a host name (and in error messages). Refuse it before connecting.
  const authority = url.slice(url.indexOf("//") + 2).split(/[/?]/)[0];
  if (parsed.hash !== "" || (authority.match(/@/g)?.length ?? 0) > 1) {
    throw invalid(field, `cannot be parsed safely: percent-encode special characters in the user name and password (@ as %40, # as %23, / as %2F, % as %25)`);
  }
  return url;
}

/** Schema names go into quoted identifiers and channel names, so keep them plain. */
export function checkPrefix(prefix: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(prefix)) {
    throw invalid("prefix", `"${prefix}" must be a lowercase identifier (letters, digits, underscore; at most 63)`);
  }
  return prefix;
}
