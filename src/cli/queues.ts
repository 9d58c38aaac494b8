import { invalid } from "../errors.js";
import { checkQueue } from "../engine/validate.js";

/** `default:10,mailers:5` (or an object from a config file) → { default: 10, mailers: 5 }. */
export function parseQueues(spec: string | Record<string, number>): Record<string, number> {
  const pairs: [string, unknown][] =
    typeof spec === "string"
      ? spec.split(",").filter((p) => p.trim() !== "").map((pair) => {
          const match = /^\s*([^:]+?)\s*(?::\s*(\S+)\s*)?$/.exec(pair);
          if (!match) throw invalid("--queues", `"${pair}" is not queue:limit`);
          return [match[1], match[2] === undefined ? 10 : /^\d+$/.test(match[2]) ? Number(match[2]) : match[2]];
        })
      : Object.entries(spec);
  if (pairs.length === 0) throw invalid("--queues", "name at least one queue, e.g. default:10");
  const queues: Record<string, number> = {};
  for (const [name, limit] of pairs) {
    checkQueue(name, "--queues");
    if (!Number.isInteger(limit) || (limit as number) < 1) throw invalid("--queues", `limit for ${name} must be an integer >= 1 (got ${String(limit)})`);
    queues[name] = limit as number;
  }
  return queues;
}
