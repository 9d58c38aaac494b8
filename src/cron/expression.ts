import { Cron } from "croner";
import { invalid } from "../errors.js";

/**
 * Cron expressions with the rules COMPAT §10 fixes for the port, so crontabs move between Elixir,
 * Oban.py and oban-ts unchanged: five fields; `*`, `n`, `a-b`, `*\/s`, `a-b/s` and lists; month and
 * weekday names; the nicknames; day of month AND day of week must both match (not Vixie's OR); 7
 * is Sunday; day/month pairs that never occur are refused.
 *
 * croner does the calendar work (matching in a time zone, DST, next run). It accepts more than
 * Oban does (`L`, `W`, `#`, `?`, seconds, `n/s`), so the grammar is checked here first: an
 * expression that runs here must mean the same to the other two implementations.
 */
export const NICKNAMES = ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@reboot"] as const;

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Value of the first name (months start at 1, weekdays at 0). */
  nameBase?: number;
}

const FIELDS: FieldRule[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: "day of week", min: 0, max: 7, names: WEEKDAYS, nameBase: 0 },
];

const ITEM = /^(?:(\*)|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:\/([0-9]+))?$/i;

export interface CronExpression {
  /** As configured; this is what `meta.cron_expr` records. */
  readonly source: string;
  /** `@reboot`: due once when the leader starts, never by the clock. */
  readonly reboot: boolean;
  readonly timezone: string | undefined;
  /** Whether the minute holding `at` matches, read in the expression's time zone. */
  matches(at: Date): boolean;
  /** The first matching minute after `after` (null for @reboot). */
  next(after: Date): Date | null;
}

/** Parses and checks an expression; errors are ObanErrors naming `field` and the problem. */
export function parseExpression(expr: unknown, timezone?: unknown, field = "expr"): CronExpression {
  if (typeof expr !== "string" || expr.trim() === "") throw invalid(field, "must be a cron expression such as \"*/5 * * * *\" or \"@daily\"");
  const source = expr.trim();
  const tz = checkTimezone(timezone, field);
  if (source.startsWith("@")) {
    const nickname = source.toLowerCase();
    if (!(NICKNAMES as readonly string[]).includes(nickname)) {
      throw invalid(field, `unknown nickname "${source}" (known: ${NICKNAMES.join(" ")})`);
    }
    if (nickname === "@reboot") return { source, reboot: true, timezone: tz, matches: () => false, next: () => null };
    return fromCroner(source, nickname, tz, field);
  }
  const parts = source.split(/\s+/);
  if (parts.length !== 5) {
    throw invalid(field, `"${source}" has ${parts.length} field(s); expected 5 (minute hour day-of-month month day-of-week) or a nickname such as @daily`);
  }
  parts.forEach((part, i) => checkField(part, FIELDS[i], field));
  // A day/month pair that never occurs (30 February) would silently never run: Elixir refuses it,
  // and so do we. Checked without the weekday, which only narrows which years match.
  const [minute, hour, dom, month] = parts;
  if (croner(`${minute} ${hour} ${dom} ${month} *`, undefined).nextRun(new Date(Date.UTC(2000, 0, 1))) === null) {
    throw invalid(field, `"${source}" can never run: day of month ${dom} never occurs in month ${month}`);
  }
  return fromCroner(source, parts.join(" "), tz, field);
}

function fromCroner(source: string, pattern: string, timezone: string | undefined, field: string): CronExpression {
  let cron: Cron;
  try {
    cron = croner(pattern, timezone);
  } catch (error) {
    throw invalid(field, `"${source}": ${(error as Error).message.replace(/^CronPattern: /, "")}`);
  }
  return {
    source,
    reboot: false,
    timezone,
    matches: (at) => cron.match(floorToMinute(at)),
    next: (after) => cron.nextRun(after),
  };
}

function croner(pattern: string, timezone: string | undefined): Cron {
  // paused, with no function: croner only computes, it never schedules a timer of its own. Without
  // a zone croner would read the process's local time; Oban's default is UTC, whatever TZ says.
  return new Cron(pattern, { mode: "5-part", domAndDow: true, paused: true, timezone: timezone ?? "Etc/UTC" });
}

function checkField(part: string, rule: FieldRule, field: string): void {
  for (const item of part.split(",")) {
    const match = ITEM.exec(item);
    const where = `${rule.name} "${part}"`;
    if (!match) throw invalid(field, `${where}: "${item}" is not *, n, a-b, */s or a-b/s`);
    const [, star, from, to, step] = match;
    if (step !== undefined && !star && to === undefined) {
      throw invalid(field, `${where}: "${item}": a step needs * or a range (*/s or a-b/s)`);
    }
    if (step !== undefined && Number(step) < 1) throw invalid(field, `${where}: step must be at least 1`);
    if (star) continue;
    const low = value(from, rule, where, field, false);
    if (to !== undefined && value(to, rule, where, field, true) < low) throw invalid(field, `${where}: range ${from}-${to} runs backwards`);
  }
}

function value(text: string, rule: FieldRule, where: string, field: string, rangeEnd: boolean): number {
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n < rule.min || n > rule.max) throw invalid(field, `${where}: ${n} is outside ${rule.min}-${rule.max}`);
    return n;
  }
  const index = rule.names?.indexOf(text.toLowerCase()) ?? -1;
  if (index === -1) {
    const known = rule.names ? ` (names: ${rule.names.join(" ").toUpperCase()})` : "";
    throw invalid(field, `${where}: "${text}" is not a number${known}`);
  }
  // SUN ending a range means 7 (MON-SUN), as croner reads it too; elsewhere 0.
  if (rangeEnd && rule.names === WEEKDAYS && index === 0) return 7;
  return index + (rule.nameBase ?? 0);
}

/** Checks an IANA time zone name with the runtime's own database. */
export function checkTimezone(timezone: unknown, field = "timezone"): string | undefined {
  if (timezone === undefined) return undefined;
  if (typeof timezone !== "string" || timezone === "") throw invalid(field, "timezone must be an IANA name such as \"Europe/Paris\"");
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw invalid(field, `unknown timezone "${timezone}" (expected an IANA name such as "Europe/Paris" or "Etc/UTC")`);
  }
  return timezone;
}

export function floorToMinute(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 60_000) * 60_000);
}
