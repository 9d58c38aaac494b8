import { createHash } from "node:crypto";
import { invalid } from "../errors.js";
import { JOB_STATES, type JobState } from "./job.js";
import type { PreparedJob } from "./insert.js";
import { canonicalJson, checkText } from "./validate.js";

/**
 * Unique job options, as Oban documents them (the facts carry over, the code does not):
 * - `period`: seconds a matching job counts as a duplicate, or "infinity" (as long as rows are
 *   kept). Default 60.
 * - `fields`: what is compared, a subset of args, queue, worker, meta. Default args, queue, worker.
 * - `keys`: only these keys of args/meta are compared (a key absent from the new job must be
 *   absent from the match too). Default: the whole args/meta object.
 * - `states`: the states a matching row must be in: a list, or one of Oban's named groups.
 *   Default "successful".
 * - `timestamp`: the column the period counts back on, inserted_at (default) or scheduled_at.
 */
export const UNIQUE_FIELDS = ["args", "queue", "worker", "meta"] as const;
export type UniqueField = (typeof UNIQUE_FIELDS)[number];

/**
 * Oban's named state groups (Oban 2.20+ docs). `suspended` (added in Oban 2.21, COMPAT §2) is an
 * unfinished state, so it belongs wherever the other unfinished states are.
 */
export const UNIQUE_STATE_GROUPS = {
  all: ["available", "suspended", "scheduled", "executing", "retryable", "completed", "discarded", "cancelled"],
  incomplete: ["available", "suspended", "scheduled", "executing", "retryable"],
  scheduled: ["scheduled"],
  successful: ["available", "suspended", "scheduled", "executing", "retryable", "completed"],
} as const satisfies Record<string, readonly JobState[]>;
export type UniqueStateGroup = keyof typeof UNIQUE_STATE_GROUPS;

export interface UniqueOptions {
  period?: number | "infinity";
  fields?: UniqueField[];
  keys?: string[];
  states?: UniqueStateGroup | JobState[];
  timestamp?: "inserted_at" | "scheduled_at";
}

/** Validated unique options with every default filled in. */
export interface UniqueSpec {
  /** Seconds; null means infinity. */
  period: number | null;
  fields: UniqueField[];
  keys: string[];
  states: JobState[];
  timestamp: "inserted_at" | "scheduled_at";
}

export const UNIQUE_DEFAULTS = { period: 60, fields: ["args", "queue", "worker"], states: "successful", timestamp: "inserted_at" } as const;

const OPTION_NAMES = ["period", "fields", "keys", "states", "timestamp"];

/** Checks unique options before any SQL; the message names the option and the bad value. */
export function normaliseUnique(options: unknown, field = "unique"): UniqueSpec {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw invalid(field, `must be an object such as { period: 60 } (got ${JSON.stringify(options) ?? String(options)})`);
  }
  const given = options as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!OPTION_NAMES.includes(name)) throw invalid(`${field}.${name}`, `unknown option (known: ${OPTION_NAMES.join(", ")})`);
  }
  return {
    period: checkPeriod(given.period ?? UNIQUE_DEFAULTS.period, `${field}.period`),
    fields: checkFields(given.fields ?? UNIQUE_DEFAULTS.fields, `${field}.fields`),
    keys: checkKeys(given.keys ?? [], `${field}.keys`),
    states: checkStates(given.states ?? UNIQUE_DEFAULTS.states, `${field}.states`),
    timestamp: checkTimestamp(given.timestamp ?? UNIQUE_DEFAULTS.timestamp, `${field}.timestamp`),
  };
}

function checkPeriod(period: unknown, field: string): number | null {
  if (period === "infinity" || period === Infinity) return null;
  if (typeof period !== "number" || !Number.isFinite(period) || period <= 0) {
    throw invalid(field, `must be a positive number of seconds or "infinity" (got ${JSON.stringify(period) ?? String(period)})`);
  }
  return period;
}

function checkFields(fields: unknown, field: string): UniqueField[] {
  if (!Array.isArray(fields) || fields.length === 0) throw invalid(field, `must be a non-empty list of ${UNIQUE_FIELDS.join(", ")}`);
  for (const name of fields) {
    if (!UNIQUE_FIELDS.includes(name)) throw invalid(field, `unknown field ${JSON.stringify(name)} (known: ${UNIQUE_FIELDS.join(", ")})`);
  }
  // A canonical order, so equal option sets give equal lock keys.
  return UNIQUE_FIELDS.filter((name) => fields.includes(name));
}

function checkKeys(keys: unknown, field: string): string[] {
  if (!Array.isArray(keys)) throw invalid(field, "must be a list of key names");
  keys.forEach((key, i) => {
    if (typeof key !== "string" || key === "") throw invalid(`${field}[${i}]`, "must be a non-empty string");
    checkText(key, `${field}[${i}]`);
  });
  return [...new Set(keys as string[])].sort();
}

function checkStates(states: unknown, field: string): JobState[] {
  const groups = Object.keys(UNIQUE_STATE_GROUPS).join(", ");
  if (typeof states === "string") {
    if (!(states in UNIQUE_STATE_GROUPS)) throw invalid(field, `unknown state group "${states}" (groups: ${groups}; or a list of states)`);
    return [...UNIQUE_STATE_GROUPS[states as UniqueStateGroup]];
  }
  if (!Array.isArray(states) || states.length === 0) throw invalid(field, `must be a state group (${groups}) or a non-empty list of states`);
  for (const state of states) {
    if (!JOB_STATES.includes(state)) throw invalid(field, `unknown state ${JSON.stringify(state)} (states: ${JOB_STATES.join(", ")}; or one group: ${groups})`);
  }
  return JOB_STATES.filter((state) => states.includes(state));
}

function checkTimestamp(timestamp: unknown, field: string): "inserted_at" | "scheduled_at" {
  if (timestamp !== "inserted_at" && timestamp !== "scheduled_at") {
    throw invalid(field, `must be "inserted_at" or "scheduled_at" (got ${JSON.stringify(timestamp) ?? String(timestamp)})`);
  }
  return timestamp;
}

/** What one job is compared on: the values of the unique fields, narrowed to `keys`. */
export interface UniqueMatch {
  worker: string | null;
  queue: string | null;
  /** All of args, or (with keys) the keys it has; null when args are not compared. */
  args: Record<string, unknown> | null;
  meta: Record<string, unknown> | null;
}

export function uniqueMatch(job: PreparedJob, spec: UniqueSpec): UniqueMatch {
  const narrow = (value: Record<string, unknown>) => {
    if (spec.keys.length === 0) return value;
    const subset: Record<string, unknown> = {};
    for (const key of spec.keys) if (Object.hasOwn(value, key) && value[key] !== undefined) subset[key] = value[key];
    return subset;
  };
  return {
    worker: spec.fields.includes("worker") ? job.worker : null,
    queue: spec.fields.includes("queue") ? job.queue : null,
    args: spec.fields.includes("args") ? narrow(job.args) : null,
    meta: spec.fields.includes("meta") ? narrow(job.meta) : null,
  };
}

/**
 * The advisory lock key of a job: 64 bits of SHA-256 over the prefix, the compared field names
 * and their values in canonical JSON (object keys sorted, so {a,b} and {b,a} — equal as jsonb —
 * share a key). Two port inserters that could match each other take the same lock. Elixir derives
 * its key from Erlang's phash2, so its inserters never wait on ours: uniqueness holds among port
 * inserters only.
 */
export function uniqueLockKey(prefix: string, spec: UniqueSpec, match: UniqueMatch): bigint {
  const text = canonicalJson(["oban-ts unique", prefix, spec.fields, spec.keys, match.worker, match.queue, match.args, match.meta]);
  return createHash("sha256").update(text).digest().readBigInt64BE(0);
}

