import { invalid } from "../errors.js";
import { JOB_STATES } from "../engine/job.js";
import type { QueueCount } from "../engine/inspect.js";
import { parseDuration } from "./duration.js";

/**
 * `--fail-if` conditions for CI: a comma-separated list such as `discarded>0,available>1000,lag>60s,stuck`.
 * METRIC [OP VALUE], where METRIC is a state label (jobs in that state), `total`, `lag` (seconds the
 * oldest fetchable available job has waited; VALUE may be a duration such as 60s or 5m) or `stuck`
 * (available rows with exhausted attempts). OP is one of > >= < <= = == !=; a bare METRIC means
 * METRIC > 0. Counts add up over the queues inspected; lag is their maximum.
 */
export type Metric = (typeof JOB_STATES)[number] | "total" | "lag" | "stuck";
export type Operator = ">" | ">=" | "<" | "<=" | "=" | "!=";

export interface Condition {
  text: string;
  metric: Metric;
  op: Operator;
  value: number;
}

export interface ConditionResult {
  condition: string;
  holds: boolean;
  /** The value the condition was tested on (lag in seconds). */
  actual: number;
}

const METRICS: readonly string[] = [...JOB_STATES, "total", "lag", "stuck"];
const EXAMPLES = "examples: discarded>0, available>1000, lag>60s, stuck";

export function parseConditions(spec: string, field = "--fail-if"): Condition[] {
  const parts = spec.split(",").map((p) => p.trim());
  if (parts.every((p) => p === "")) throw invalid(field, `empty condition (${EXAMPLES})`);
  return parts.filter((p) => p !== "").map((text) => parseCondition(text, field));
}

function parseCondition(text: string, field: string): Condition {
  const match = /^([a-z_]+)\s*(?:(>=|<=|!=|==|=|>|<)\s*(\S+))?$/i.exec(text);
  if (!match) throw invalid(field, `"${text}" is not a condition (${EXAMPLES})`);
  const metric = match[1].toLowerCase();
  if (!METRICS.includes(metric)) {
    throw invalid(field, `"${text}": unknown metric "${match[1]}" (known: ${METRICS.join(", ")})`);
  }
  const op = (match[2] === "==" ? "=" : match[2] ?? ">") as Operator;
  let value = 0;
  if (match[3] !== undefined) {
    if (metric === "lag") {
      try {
        value = parseDuration(match[3], field) / 1000;
      } catch {
        throw invalid(field, `"${text}": "${match[3]}" is not a duration (examples: 60s, 5m, 90)`);
      }
    } else if (/^\d+$/.test(match[3])) {
      value = Number(match[3]);
    } else {
      throw invalid(field, `"${text}": "${match[3]}" is not a whole number`);
    }
  }
  return { text, metric: metric as Metric, op, value };
}

export function metricValue(queues: QueueCount[], metric: Metric): number {
  switch (metric) {
    case "lag":
      return queues.reduce((max, q) => Math.max(max, q.lag ?? 0), 0);
    case "stuck":
      return queues.reduce((sum, q) => sum + q.stuckAttempts, 0);
    case "total":
      return queues.reduce((sum, q) => sum + q.total, 0);
    default:
      return queues.reduce((sum, q) => sum + (q.counts[metric] ?? 0), 0);
  }
}

function compare(actual: number, op: Operator, value: number): boolean {
  switch (op) {
    case ">": return actual > value;
    case ">=": return actual >= value;
    case "<": return actual < value;
    case "<=": return actual <= value;
    case "=": return actual === value;
    case "!=": return actual !== value;
  }
}

export function evaluateConditions(conditions: Condition[], queues: QueueCount[]): ConditionResult[] {
  return conditions.map((c) => {
    const actual = metricValue(queues, c.metric);
    return { condition: c.text, holds: compare(actual, c.op, c.value), actual };
  });
}
