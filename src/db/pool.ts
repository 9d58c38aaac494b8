import pg from "pg";
import { ObanError } from "../errors.js";

const TIMESTAMP_WITHOUT_TIME_ZONE = 1114;
const INT8 = 20;

/**
 * Oban stores UTC wall-clock time in `timestamp without time zone`. node-postgres would read it in
 * the process's local zone; this parser reads it as UTC. Scoped to our pools so the user's own pg
 * usage keeps its defaults.
 */
function typeParser(oid: number, format?: string): any {
  if (oid === TIMESTAMP_WITHOUT_TIME_ZONE && format !== "binary") {
    return (value: string) => new Date(value.replace(" ", "T") + "Z");
  }
  if (oid === INT8 && format !== "binary") return (value: string) => value;
  return pg.types.getTypeParser(oid as any, format as any);
}

export const types = { getTypeParser: typeParser } as unknown as pg.CustomTypesConfig;

export type Queryable = Pick<pg.ClientBase, "query">;

export interface PoolOptions {
  max?: number;
  applicationName?: string;
}

export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    types,
    application_name: options.applicationName ?? "oban-ts",
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  // An idle client that loses its connection (database restart) emits 'error' on the pool;
  // unhandled, that would crash the process. The next checkout gets a fresh connection.
  pool.on("error", () => {});
  return pool;
}

/** The connection settings a pool was made with: extra connections (LISTEN, async commit) reuse them. */
function settingsOf(pool: pg.Pool): pg.PoolConfig {
  return (pool as unknown as { options: pg.PoolConfig }).options;
}

/** A dedicated client (not from the pool: LISTEN holds its connection) to the pool's database. */
export function clientLike(pool: pg.Pool, applicationName: string): pg.Client {
  const { connectionString, host, port, user, password, database, ssl, options } = settingsOf(pool);
  return new pg.Client({ connectionString, host, port, user, password, database, ssl, options, types, keepAlive: true, application_name: applicationName.slice(0, 63) });
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, fn, begin);
  } finally {
    client.release();
  }
}

/** Runs `fn` between `begin` and COMMIT on a client that is not in a transaction; rolls back on error. */
export async function inTransaction<C extends Queryable, T>(client: C, fn: (client: C) => Promise<T>, begin = "BEGIN"): Promise<T> {
  await client.query(begin);
  try {
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EAI_AGAIN", "EPIPE", "EHOSTUNREACH"]);

/** True for errors that mean "the database is not reachable right now", as opposed to a bad query. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code && CONNECTION_ERROR_CODES.has(e.code)) return true;
  // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 08xxx connection exceptions
  if (e.code && (e.code.startsWith("08") || e.code.startsWith("57P"))) return true;
  const message = e.message ?? "";
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message);
}

/** Wraps a connection failure in an ObanError whose message never contains the password. */
export function unreachable(error: unknown, url: string): ObanError {
  const reason = (error as Error)?.message ?? String(error);
  return new ObanError("database_unavailable", `cannot reach PostgreSQL at ${redactUrl(url)}: ${redactUrl(reason)}`, { cause: error });
}

export function redactUrl(text: string): string {
  // Greedy to the last "@" of the line: a password may hold "@", spaces or "#" (unencoded, wrongly,
  // but it must still never be echoed). Masking too much is fine; too little is not.
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^\n]*@/gi, "$1***@");
}

/**
 * A second pool to the same database as `pool`, with extra server settings (e.g.
 * `-c synchronous_commit=off`), for the statements that opt into them.
 */
export function derivePool(pool: pg.Pool, serverOptions: string, max: number): pg.Pool {
  const base = settingsOf(pool);
  const derived = new pg.Pool({ ...base, max, types, options: [base.options, serverOptions].filter(Boolean).join(" ") });
  derived.on("error", () => {});
  return derived;
}
