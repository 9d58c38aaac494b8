import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import type { QueryResultRow } from "pg";
import type { Queryable } from "./pool.js";

/**
 * SQL lives in sql/queries, one query per file; the file name is the query name.
 * In the files, `{prefix}` stands for the quoted schema and `:name` for a parameter.
 * A query is compiled once per prefix and sent as a named (prepared) statement.
 */
export const SQL_ROOT = fileURLToPath(new URL("../../../sql/", import.meta.url));

interface CompiledQuery {
  statementName: string;
  text: string;
  params: string[];
}

const sources = new Map<string, string>();
/** Set by the test wrapper: each query run is appended here, to check every file is exercised. */
const SQL_TRACE = process.env.OBAN_SQL_TRACE;
/** Query names already written to SQL_TRACE by this process: only the first run of each is. */
const traced = new Set<string>();
const compiled = new Map<string, CompiledQuery>();

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function readSql(relative: string): string {
  let text = sources.get(relative);
  if (text === undefined) {
    text = readFileSync(path.join(SQL_ROOT, relative), "utf8");
    sources.set(relative, text);
  }
  return text;
}

function stripComments(sql: string): string {
  return sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n")
    .trim();
}

/** Replaces `{prefix}` and turns `:name` parameters into `$n` (a `::type` cast is left alone). */
export function compile(sql: string, prefix: string): { text: string; params: string[] } {
  const params: string[] = [];
  const text = stripComments(sql)
    .replaceAll("{prefix}", quoteIdent(prefix))
    .replace(/(?<![:\w]):([a-z_][a-z0-9_]*)/gi, (_match, name: string) => {
      let index = params.indexOf(name);
      if (index === -1) index = params.push(name) - 1;
      return `$${index + 1}`;
    });
  return { text, params };
}

function compiledQuery(name: string, prefix: string): CompiledQuery {
  const key = `${prefix}\u0000${name}`;
  let query = compiled.get(key);
  if (!query) {
    const { text, params } = compile(readSql(`queries/${name}.sql`), prefix);
    // Statement names are per connection; the prefix is part of the text, so it is part of the name.
    const digest = createHash("sha1").update(key).digest("hex").slice(0, 12);
    query = { statementName: `oban_${name}_${digest}`.slice(0, 63), text, params };
    compiled.set(key, query);
  }
  return query;
}

export type Params = Record<string, unknown>;

export async function run<R extends QueryResultRow = any>(db: Queryable, prefix: string, name: string, params: Params = {}): Promise<R[]> {
  const query = compiledQuery(name, prefix);
  const values = query.params.map((p) => {
    if (!(p in params)) throw new Error(`query ${name}: missing parameter :${p}`);
    return params[p];
  });
  if (SQL_TRACE && !traced.has(name)) {
    traced.add(name);
    appendFileSync(SQL_TRACE, `${name}\n`);
  }
  const result = await db.query<R>({ name: query.statementName, text: query.text, values });
  return result.rows;
}

/** Prefix-substituted text of a SQL file with no parameters (migrations). */
export function script(relative: string, prefix: string): string {
  return readSql(relative).replaceAll("{prefix}", quoteIdent(prefix));
}
