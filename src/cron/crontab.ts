import { createHash } from "node:crypto";
import { prepareJob, type InsertOptions, type PreparedJob } from "../engine/insert.js";
import { jobSpec } from "../runtime/enqueue.js";
import { canonicalJson, checkJsonObject } from "../engine/validate.js";
import { ObanError, invalid } from "../errors.js";
import type { Worker, WorkerOptions } from "../worker.js";
import { parseExpression, type CronExpression } from "./expression.js";

/** One periodic job, as written in `Oban.start({ crontab })` or an `oban.config.*` file. */
export interface CronEntry {
  /** Five fields or a nickname: "*\/5 * * * *", "0 9 * * MON-FRI", "@daily", "@reboot". */
  expr: string;
  /**
   * A defined worker (its queue, priority, maxAttempts, tags and meta are the defaults), or a
   * worker name: a worker this process defines lends its defaults the same way; an unknown name is
   * fine, other services may run it.
   */
  worker: Worker<any> | string;
  args?: Record<string, unknown>;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  tags?: string[];
  meta?: Record<string, unknown>;
  /** IANA name; the expression is read in this zone (default UTC) and `meta.cron_tz` records it. */
  timezone?: string;
}

const ENTRY_KEYS = new Set(["expr", "worker", "args", "queue", "priority", "maxAttempts", "tags", "meta", "timezone"]);
const OPTION_KEYS = ["args", "queue", "priority", "maxAttempts", "tags", "meta", "timezone"] as const;

/** A checked entry, ready to insert a job for any minute it matches. */
export interface CronSchedule {
  /** `meta.cron_name`: 8 hex characters, stable across restarts and nodes. */
  readonly name: string;
  readonly expression: CronExpression;
  readonly worker: string;
  /** How errors and logs name the entry, e.g. `crontab[2] "@daily MyApp.Report"`. */
  readonly label: string;
  /** The job for the minute `slot`; scheduled_at is that minute, so the row says which run it is. */
  job(slot: Date): PreparedJob;
}

/**
 * Checks every entry before anything runs: a bad expression, time zone or option fails
 * `Oban.start` with an ObanError naming the entry. `workers` lends defaults to entries that name
 * a worker by string.
 */
export function resolveCrontab(entries: unknown, workers: ReadonlyMap<string, Worker<any>>, where = "crontab"): CronSchedule[] {
  if (entries === undefined) return [];
  if (!Array.isArray(entries)) throw invalid(where, "must be a list of entries such as { expr: \"*/5 * * * *\", worker: Report }");
  const schedules = entries.map((entry, i) => resolveEntry(entry, workers, `${where}[${i}]`));
  const seen = new Map<string, string>();
  for (const s of schedules) {
    const twin = seen.get(s.name);
    // Identical entries would insert every job twice and could not be told apart in meta.
    if (twin) throw invalid(s.label, `is the same entry as ${twin}`);
    seen.set(s.name, s.label);
  }
  return schedules;
}

function resolveEntry(entry: unknown, workers: ReadonlyMap<string, Worker<any>>, at: string): CronSchedule {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    throw invalid(at, "must be an object such as { expr: \"@daily\", worker: \"MyApp.Report\" }");
  }
  const e = entry as Record<string, unknown>;
  const workerName = typeof e.worker === "string" ? e.worker : (e.worker as Worker | undefined)?.name;
  const label = `${at} "${typeof e.expr === "string" ? e.expr : "?"} ${workerName ?? "?"}"`;
  for (const key of Object.keys(e)) {
    if (!ENTRY_KEYS.has(key)) throw invalid(label, `unknown key "${key}" (known: ${[...ENTRY_KEYS].join(", ")})`);
  }
  if (typeof workerName !== "string") throw invalid(label, "worker must be a defined worker or a worker name");
  const expression = parseExpression(e.expr, e.timezone, label);
  const defaults: Partial<WorkerOptions> = (typeof e.worker === "object" ? (e.worker as Worker) : workers.get(workerName))?.options ?? {};
  const options: Record<string, unknown> = {};
  for (const key of OPTION_KEYS) if (e[key] !== undefined) options[key] = e[key];
  if (options.meta !== undefined) checkJsonObject(options.meta, `${label} meta`);
  const name = cronName(expression.source, workerName, options);
  const cronMeta = {
    cron: true,
    cron_expr: expression.source,
    cron_name: name,
    ...(expression.timezone ? { cron_tz: expression.timezone } : {}),
  };
  // The same merge as enqueue (worker defaults under the entry's own options), then the cron keys
  // on top, as Elixir does (COMPAT §10: merged into the worker's default meta, never replacing it).
  const spec = jobSpec({ name: workerName, options: defaults }, (e.args ?? {}) as Record<string, unknown>, e as InsertOptions);
  const prepared = prepareJob({ ...spec, meta: { ...spec.meta, ...cronMeta } }, label);
  return {
    name,
    expression,
    worker: workerName,
    label,
    job: (slot) => ({ ...prepared, scheduledAt: slot }),
  };
}

/**
 * 8 hex characters of SHA-256 over `expr:worker:` and the entry's own options as compact JSON with
 * sorted keys. For an entry with no options but a time zone this is exactly Oban.py's cron_name
 * (`{"timezone": ...}` or `{}`), so dashboards see one name for the same schedule; args and the
 * other options take part too, as in Elixir, so two entries that differ only in args differ here.
 */
export function cronName(expr: string, worker: string, options: Record<string, unknown>): string {
  return createHash("sha256").update(`${expr}:${worker}:${canonicalJson(options)}`).digest("hex").slice(0, 8);
}


/**
 * The command-line form, `EXPR WORKER [JSON-ARGS]`: five fields or one nickname, then the worker
 * name, then optionally the args as a JSON object (the rest of the line).
 */
export function parseCronLine(line: string, where: string, timezone?: string): CronEntry {
  const text = line.trim();
  const words = text.split(/\s+/);
  const fields = words[0]?.startsWith("@") ? 1 : 5;
  const label = `${where} "${line}"`;
  if (words.length < fields + 1 || text === "") {
    throw invalid(label, `expected "EXPR WORKER [JSON-ARGS]", e.g. '*/5 * * * * MyApp.Report {"id":1}' or '@daily MyApp.Cleanup'`);
  }
  const entry: CronEntry = { expr: words.slice(0, fields).join(" "), worker: words[fields] };
  const args = text.slice(indexAfterWords(text, fields + 1)).trim();
  if (args !== "") {
    try {
      entry.args = JSON.parse(args);
    } catch (error) {
      throw new ObanError("invalid_input", `${label}: args are not valid JSON (${(error as Error).message})`, { field: where });
    }
  }
  if (timezone !== undefined) entry.timezone = timezone;
  return entry;
}

/** Index just past the first `count` whitespace-separated words of `text`. */
function indexAfterWords(text: string, count: number): number {
  const re = /\S+/g;
  let end = 0;
  for (let i = 0; i < count; i++) {
    const m = re.exec(text);
    if (!m) break;
    end = m.index + m[0].length;
  }
  return end;
}
