import kleur from "kleur";
import type { JobEvent, LogEvent } from "../runtime/oban.js";
import { redactUrl } from "../db/pool.js";

/**
 * One line per job outcome and per service message: JSON lines when stdout is not a terminal
 * (for log shippers), a short coloured line when it is.
 */
export class JobLog {
  constructor(private readonly json = !process.stdout.isTTY) {}

  job(event: JobEvent): void {
    const { job } = event;
    const error = event.error === undefined ? undefined : firstLine(event.error);
    if (this.json) {
      this.write({
        time: new Date().toISOString(),
        level: event.event === "completed" || event.event === "snoozed" ? "info" : "warn",
        event: `job:${event.event}`,
        id: job.id,
        worker: job.worker,
        queue: job.queue,
        attempt: job.attempt,
        max_attempts: job.maxAttempts,
        duration_ms: Math.round(event.durationMs * 100) / 100,
        ...(error ? { error } : {}),
      });
      return;
    }
    const mark = { completed: kleur.green("✓"), snoozed: kleur.cyan("↻"), retryable: kleur.yellow("✗"), returned: kleur.yellow("↩"), cancelled: kleur.gray("⊘"), discarded: kleur.red("✗") }[event.event];
    const line = `${time()} ${mark} ${event.event.padEnd(9)} #${job.id} ${kleur.bold(job.worker)} ${kleur.gray(`(${job.queue}) attempt ${job.attempt}/${job.maxAttempts} in ${event.durationMs.toFixed(1)}ms`)}`;
    process.stdout.write(error ? `${line} ${kleur.red(error)}\n` : `${line}\n`);
  }

  message(event: LogEvent | { level: LogEvent["level"]; message: string; [key: string]: unknown }): void {
    const { level, message, error, ...rest } = event as LogEvent & Record<string, unknown>;
    const reason = error === undefined ? undefined : firstLine(error);
    if (this.json) {
      this.write({ time: new Date().toISOString(), level, event: "log", message, ...rest, ...(reason ? { error: reason } : {}) });
      return;
    }
    const colour = level === "error" ? kleur.red : level === "warn" ? kleur.yellow : kleur.blue;
    process.stdout.write(`${time()} ${colour(level.padEnd(5))} ${message}${reason ? `: ${reason}` : ""}\n`);
  }

  private write(record: Record<string, unknown>): void {
    process.stdout.write(JSON.stringify(record) + "\n");
  }
}

function time(): string {
  return kleur.gray(new Date().toISOString().slice(11, 23));
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactUrl(text.split("\n")[0]);
}
