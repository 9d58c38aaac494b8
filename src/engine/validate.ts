import { invalid } from "../errors.js";

/**
 * Checks that run before any SQL, so a rejected insert writes nothing and the message names the
 * field. PostgreSQL's jsonb refuses `\u0000` and lone surrogates; we refuse them first, with a path.
 */
export const DEFAULT_MAX_ARGS_BYTES = 1024 * 1024;

const CONTROL = /[\u0000-\u001f\u007f]/;

export function checkQueue(queue: unknown, field = "queue"): string {
  if (typeof queue !== "string" || queue.length === 0) throw invalid(field, "must be a non-empty string");
  if (queue.length > 127) throw invalid(field, `must be at most 127 characters (got ${queue.length})`);
  // Oban.py builds its notification JSON by concatenation: these characters would break it.
  if (/["\\]/.test(queue) || CONTROL.test(queue)) throw invalid(field, `"${printable(queue)}" must not contain quotes, backslashes or control characters`);
  checkText(queue, field);
  return queue;
}

export function checkWorkerName(worker: unknown, field = "worker"): string {
  if (typeof worker !== "string" || worker.trim().length === 0) throw invalid(field, "must be a non-empty string");
  if (worker.length > 127) throw invalid(field, `must be at most 127 characters (got ${worker.length})`);
  if (CONTROL.test(worker)) throw invalid(field, "must not contain control characters");
  checkText(worker, field);
  return worker;
}

export function checkPriority(priority: unknown, field = "priority"): number {
  if (!Number.isInteger(priority) || (priority as number) < 0 || (priority as number) > 9) {
    throw invalid(field, `must be an integer from 0 to 9 (got ${JSON.stringify(priority) ?? String(priority)})`);
  }
  return priority as number;
}

export function checkMaxAttempts(maxAttempts: unknown, field = "maxAttempts"): number {
  if (!Number.isInteger(maxAttempts) || (maxAttempts as number) < 1 || (maxAttempts as number) > 32767) {
    throw invalid(field, `must be an integer from 1 to 32767 (got ${JSON.stringify(maxAttempts) ?? String(maxAttempts)})`);
  }
  return maxAttempts as number;
}

export function checkScheduleIn(seconds: unknown, field = "scheduleIn"): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    throw invalid(field, `must be a number of seconds >= 0 (got ${String(seconds)})`);
  }
  return seconds;
}

export function checkScheduledAt(value: unknown, field = "scheduledAt"): Date {
  const date = value instanceof Date ? value : typeof value === "string" && value.trim() !== "" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw invalid(field, `must be a date or an ISO-8601 time such as 2030-01-01T12:00:00Z (got ${JSON.stringify(value) ?? String(value)})`);
  }
  return date;
}

/** Trims, lowercases, drops blanks and duplicates, as Oban does. */
export function normaliseTags(tags: unknown, field = "tags"): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw invalid(field, "must be an array of strings");
  const seen = new Set<string>();
  tags.forEach((tag, i) => {
    if (typeof tag !== "string") throw invalid(`${field}[${i}]`, "must be a string");
    checkText(tag, `${field}[${i}]`);
    const normal = tag.trim().toLowerCase();
    if (normal !== "") seen.add(normal);
  });
  return [...seen];
}

/** Only the shape: a plain object (not an array, null, a class instance or a scalar). */
export function checkPlainObject(value: unknown, field: string): void {
  if (value === null || typeof value !== "object" || Array.isArray(value) || !isPlain(value)) {
    throw invalid(field, `must be a JSON object (got ${describe(value)})`);
  }
}

/** Validates a JSON object (args, meta) and returns its serialised form, checking its size. */
export function checkJsonObject(value: unknown, field: string, maxBytes = Infinity): string {
  checkPlainObject(value, field);
  // The quick walk builds no paths; only a value it rejects is walked again to name the problem.
  if (!isStorableJson(value, 0)) checkJsonValue(value, field, new Set());
  const json = JSON.stringify(value);
  if (maxBytes !== Infinity && json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) throw invalid(field, `is ${bytes} bytes of JSON, above the limit of ${maxBytes}`);
  }
  return json;
}

/** Depth past which the quick walk gives up and lets checkJsonValue look for a cycle. */
const QUICK_WALK_DEPTH = 64;

/** True when checkJsonValue would accept `value`; false when it might not. */
function isStorableJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
      return isStorableText(value);
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null || value instanceof Date) return true;
      if (depth > QUICK_WALK_DEPTH) return false;
      if (Array.isArray(value)) {
        for (const item of value) if (!isStorableJson(item, depth + 1)) return false;
        return true;
      }
      if (!isPlain(value)) return false;
      for (const key in value) {
        if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
        const item = (value as Record<string, unknown>)[key];
        if (!isStorableText(key) || (item !== undefined && !isStorableJson(item, depth + 1))) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function isStorableText(text: string): boolean {
  return !text.includes("\u0000") && (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function checkJsonValue(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case "string":
      checkText(value, path);
      return;
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw invalid(path, `${value} is not representable in JSON`);
      return;
    case "object": {
      if (value === null) return;
      if (seen.has(value)) throw invalid(path, "contains a cycle");
      if (value instanceof Date) return; // serialised as an ISO string
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => checkJsonValue(item, `${path}[${i}]`, seen));
      } else {
        if (!isPlain(value)) throw invalid(path, `${describe(value)} is not a JSON value`);
        for (const [key, item] of Object.entries(value)) {
          checkText(key, `${path} key`);
          if (item !== undefined) checkJsonValue(item, `${path}.${key}`, seen);
        }
      }
      seen.delete(value);
      return;
    }
    default:
      throw invalid(path, `${describe(value)} is not a JSON value`);
  }
}

/** Text PostgreSQL can store: no NUL, no lone UTF-16 surrogates. */
export function checkText(text: string, field: string): void {
  if (text.includes("\u0000")) throw invalid(field, "contains \\u0000, which PostgreSQL cannot store");
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    throw invalid(field, "contains a lone UTF-16 surrogate (malformed unicode)");
  }
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return (value as object).constructor?.name ? `a ${(value as object).constructor.name}` : "an object";
  return `a ${typeof value}`;
}

function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/**
 * Compact JSON with object keys sorted (undefined properties left out, as JSON does): the same text
 * for the same value however it was built. Keys of unique locks and cron names are hashes of it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (value instanceof Date) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
}
