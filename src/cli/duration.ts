import ms from "ms";
import { invalid } from "../errors.js";

/**
 * Durations as operators type them: `500ms`, `90s`, `15m`, `7d` (parsed by the `ms` package).
 * A bare number means seconds, the unit Oban uses everywhere else.
 */
export function parseDuration(text: string, field: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const value = /^\d+(\.\d+)?\s*[a-z]+$/i.test(trimmed) ? ms(trimmed as ms.StringValue) : undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalid(field, `"${text}" is not a duration (examples: 500ms, 90s, 15m, 7d, or seconds as a number)`);
  }
  return value;
}
