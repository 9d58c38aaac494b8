import { run } from "../db/sql.js";
import type { Queryable } from "../db/pool.js";
import { encodePayload } from "../codec/notification.js";
import { invalid } from "../errors.js";
import { JOB_STATES, channel, type JobState } from "./job.js";
import { checkQueue, checkText } from "./validate.js";

/**
 * Operator actions on jobs (COMPAT §6: cancel, retry, delete) and queue signals (§13).
 * Each action is one statement that also sends its notifications, so they are delivered exactly
 * when the change commits. A filter is always required: no call acts on the whole table by accident.
 */
export interface JobFilter {
  /** Job ids (decimal strings: ids are 64-bit). */
  ids?: string[];
  queue?: string;
  state?: JobState;
  worker?: string;
  /** At most this many jobs (lowest ids first). */
  limit?: number;
}

/** A job an action changed (or, in a preview, would change). */
export interface ControlledJob {
  id: string;
  queue: string;
  worker: string;
  /** The state before the action. */
  previousState: JobState;
}

export type ControlAction = "cancel" | "retry" | "delete";

/** Which states each action leaves alone (the rest of the row contract is in the SQL files). */
export const UNTOUCHED_STATES: Record<ControlAction, readonly JobState[]> = {
  cancel: ["completed", "discarded", "cancelled"],
  retry: ["available", "executing"],
  delete: ["executing"],
};

const MAX_ID = 9223372036854775807n;

/** A job id as typed by a person or a program: a positive 64-bit integer, returned as a decimal string. */
export function checkJobId(id: unknown, field = "id"): string {
  const text = typeof id === "number" || typeof id === "bigint" ? String(id) : id;
  if (typeof text !== "string" || !/^\d+$/.test(text.trim()) || BigInt(text.trim()) < 1n || BigInt(text.trim()) > MAX_ID) {
    throw invalid(field, `job ids are positive integers (got ${JSON.stringify(typeof id === "bigint" ? String(id) : id) ?? String(id)})`);
  }
  return BigInt(text.trim()).toString();
}

export function checkState(state: unknown, field = "state"): JobState {
  if (typeof state !== "string" || !(JOB_STATES as readonly string[]).includes(state)) {
    throw invalid(field, `unknown state ${JSON.stringify(state) ?? String(state)} (valid states: ${JOB_STATES.join(", ")})`);
  }
  return state as JobState;
}

function checkName(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) throw invalid(field, "must be a non-empty string");
  checkText(value, field);
  return value;
}

export function checkLimit(limit: unknown, field = "limit", max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? "a positive integer" : `an integer from 1 to ${max}`;
    throw invalid(field, `must be ${range} (got ${String(limit)})`);
  }
  return limit as number;
}

/** Validates a filter and turns it into query parameters; refuses a filter that names nothing. */
export function filterParams(filter: JobFilter): Record<string, unknown> {
  const f = filter ?? {};
  if (f.ids !== undefined && (!Array.isArray(f.ids) || f.ids.length === 0)) throw invalid("ids", "must be a non-empty list of job ids");
  const ids = f.ids?.map((id, i) => checkJobId(id, `ids[${i}]`));
  const queue = f.queue === undefined ? undefined : checkName(f.queue, "queue");
  const state = f.state === undefined ? undefined : checkState(f.state);
  const worker = f.worker === undefined ? undefined : checkName(f.worker, "worker");
  if (ids === undefined && queue === undefined && state === undefined && worker === undefined) {
    throw invalid("filter", "give job ids or at least one of queue, state, worker (refusing to act on every job)");
  }
  const limit = f.limit === undefined ? null : checkLimit(f.limit);
  return { ids: ids ?? null, queue: queue ?? null, state: state ?? null, worker: worker ?? null, limit };
}

interface ControlRow {
  id: string;
  queue: string;
  worker: string;
  previous_state: JobState;
}

const toControlled = (rows: ControlRow[]): ControlledJob[] =>
  rows.map((r) => ({ id: r.id, queue: r.queue, worker: r.worker, previousState: r.previous_state }));

/**
 * Cancels matching jobs in every state but completed, discarded and cancelled, executing included,
 * and sends one `pkill` signal per job that was executing, in the same statement.
 */
export async function cancelJobs(db: Queryable, prefix: string, filter: JobFilter): Promise<ControlledJob[]> {
  const params = filterParams(filter);
  return toControlled(await run<ControlRow>(db, prefix, "job_cancel", { ...params, channel: channel(prefix, "signal") }));
}

/** Makes matching jobs (any state but available and executing) available now; notifies `insert` once per queue. */
export async function retryJobs(db: Queryable, prefix: string, filter: JobFilter): Promise<ControlledJob[]> {
  const params = filterParams(filter);
  return toControlled(await run<ControlRow>(db, prefix, "job_retry", { ...params, channel: channel(prefix, "insert") }));
}

/** Deletes matching jobs, never executing ones. */
export async function deleteJobs(db: Queryable, prefix: string, filter: JobFilter): Promise<ControlledJob[]> {
  return toControlled(await run<ControlRow>(db, prefix, "job_delete", filterParams(filter)));
}

/** What `action` would change now, changing nothing and locking nothing (for --dry-run). */
export async function previewJobs(db: Queryable, prefix: string, action: ControlAction, filter: JobFilter): Promise<ControlledJob[]> {
  const params = filterParams(filter);
  return toControlled(await run<ControlRow>(db, prefix, `job_${action}_preview`, params));
}

export const CONTROL_ACTIONS: Record<ControlAction, (db: Queryable, prefix: string, filter: JobFilter) => Promise<ControlledJob[]>> = {
  cancel: cancelJobs,
  retry: retryJobs,
  delete: deleteJobs,
};

// ── signals ────────────────────────────────────────────────────────────────────────────────────

/** The instance name other implementations use by default; idents are `<name>.<node>`. */
export const DEFAULT_INSTANCE_NAME = "Oban";

export type QueueSignal =
  | { action: "pause" | "resume"; queue: string; ident: string }
  | { action: "scale"; queue: string; limit: number; ident: string };

/** `"any"`, or `"<instance name>.<node>"` to reach one node (COMPAT §13). */
export function signalIdent(node?: string, name = DEFAULT_INSTANCE_NAME): string {
  if (node === undefined) return "any";
  checkName(node, "node");
  checkName(name, "name");
  return `${name}.${node}`;
}

/**
 * Builds a queue signal with exactly the keys COMPAT §13 allows (Elixir turns every key into an
 * existing atom, so an extra key would crash its producer). `*` means every queue for pause/resume.
 */
export function queueSignal(action: "pause" | "resume", queue: string, options?: { node?: string; name?: string }): QueueSignal;
export function queueSignal(action: "scale", queue: string, options: { limit: number; node?: string; name?: string }): QueueSignal;
export function queueSignal(action: QueueSignal["action"], queue: string, options: { limit?: number; node?: string; name?: string } = {}): QueueSignal {
  const ident = signalIdent(options.node, options.name);
  if (action === "scale") {
    if (queue === "*") throw invalid("queue", "scale needs one queue name, not *");
    checkQueue(queue);
    const limit = checkLimit(options.limit, "limit");
    return { action, queue, limit, ident };
  }
  if (action !== "pause" && action !== "resume") throw invalid("action", `unknown queue signal ${JSON.stringify(action)}`);
  if (queue !== "*") checkQueue(queue);
  return { action, queue, ident };
}

export interface SentSignal {
  channel: string;
  payload: Record<string, unknown>;
  /** The text sent with NOTIFY (plain JSON up to 512 bytes, else base64 gzip). */
  encoded: string;
}

/** Publishes one message on `<prefix>.oban_signal`, encoded like every other implementation reads it. */
export async function sendSignal(db: Queryable, prefix: string, payload: Record<string, unknown>): Promise<SentSignal> {
  const encoded = encodePayload(payload);
  const name = channel(prefix, "signal");
  await run(db, prefix, "signal_send", { channel: name, payload: encoded });
  return { channel: name, payload, encoded };
}
