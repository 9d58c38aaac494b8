import type { FileConfig } from "../config.js";
import { parseCronLine, type CronEntry } from "../cron/crontab.js";
import { checkTimezone } from "../cron/expression.js";
import { invalid } from "../errors.js";

/** The crontab a command acts on: its --cron lines, else the config file's `crontab` (lines or objects). */
export function crontabFrom(lines: string[] | undefined, timezone: string | undefined, file: FileConfig): CronEntry[] {
  if (timezone !== undefined && !lines) throw invalid("--cron-timezone", "applies to --cron entries only (give a config file entry its own timezone)");
  if (lines) return lines.map((line, i) => parseCronLine(line, `--cron[${i}]`, checkTimezone(timezone, "--cron-timezone")));
  if (file.crontab === undefined) return [];
  if (!Array.isArray(file.crontab)) throw invalid("crontab", "the config file's crontab must be a list");
  return file.crontab.map((entry, i) => (typeof entry === "string" ? parseCronLine(entry, `crontab[${i}]`) : entry));
}
