import Table from "cli-table3";
import kleur from "kleur";
import { JOB_STATES, type Job } from "../engine/job.js";
import type { LeaderInfo, ProducerInfo, QueueCount } from "../engine/inspect.js";
import type { ControlledJob } from "../engine/control.js";

/**
 * Text renderings for inspect and the job-control commands. cli-table3 colours its borders even
 * into a pipe unless its style is emptied; kleur turns itself off without a TTY or with NO_COLOR.
 */
export function plainTable(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

const STATE_COLOUR: Record<string, (text: string) => string> = {
  available: kleur.blue,
  scheduled: kleur.cyan,
  suspended: kleur.gray,
  executing: kleur.magenta,
  retryable: kleur.yellow,
  completed: kleur.green,
  discarded: kleur.red,
  cancelled: kleur.gray,
};

export const paintState = (state: string) => (STATE_COLOUR[state] ?? ((s: string) => s))(state);

export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return "-";
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`;
  return `${(s / 86_400).toFixed(1)}d`;
}

const iso = (date: Date | null) => (date ? date.toISOString() : "-");

/** Columns: the states present in any queue, in the usual label order (never enum order). */
export function renderQueues(queues: QueueCount[]): string {
  if (queues.length === 0) return "no jobs";
  const present = new Set(queues.flatMap((q) => Object.keys(q.counts)));
  const states = [...JOB_STATES.filter((s) => present.has(s)), ...[...present].filter((s) => !(JOB_STATES as readonly string[]).includes(s)).sort()];
  const rows = queues.map((q) => [
    q.queue,
    ...states.map((s) => q.counts[s] ?? 0),
    q.total,
    formatSeconds(q.lag),
    q.stuckAttempts ? kleur.red(String(q.stuckAttempts)) : 0,
  ]);
  return plainTable(["queue", ...states, "total", "lag", "stuck"], rows);
}

export function renderJobs(jobs: Job[]): string {
  if (jobs.length === 0) return "no jobs match";
  return plainTable(
    ["id", "state", "queue", "worker", "attempt", "priority", "scheduled at", "errors"],
    jobs.map((j) => [j.id, paintState(j.state), j.queue, j.worker, `${j.attempt}/${j.maxAttempts}`, j.priority, iso(j.scheduledAt), j.errors.length]),
  );
}

export function renderJob(job: Job): string {
  const fields: [string, string | number][] = [
    ["id", job.id],
    ["state", paintState(job.state)],
    ["queue", job.queue],
    ["worker", job.worker],
    ["args", JSON.stringify(job.args)],
    ["meta", JSON.stringify(job.meta)],
    ["tags", job.tags.join(", ") || "-"],
    ["attempt", `${job.attempt}/${job.maxAttempts}`],
    ["priority", job.priority],
    ["attempted by", job.attemptedBy.join(" ") || "-"],
    ["inserted at", iso(job.insertedAt)],
    ["scheduled at", iso(job.scheduledAt)],
    ["attempted at", iso(job.attemptedAt)],
    ["completed at", iso(job.completedAt)],
    ["discarded at", iso(job.discardedAt)],
    ["cancelled at", iso(job.cancelledAt)],
  ];
  const t = new Table({ style: { head: [], border: [] } });
  for (const [k, v] of fields) t.push({ [k]: String(v) });
  const lines = [t.toString()];
  if (job.errors.length === 0) lines.push("errors: none");
  for (const e of job.errors) lines.push("", kleur.red(`error (attempt ${e.attempt}, ${e.at}):`), e.error);
  return lines.join("\n");
}

export function renderLeader(info: LeaderInfo): string {
  const head = info.leader ? `leader for ${info.name}: ${kleur.bold(info.leader)}` : `no node holds the lease ${info.name}`;
  if (info.peers.length === 0) return `${head}\n(no rows in oban_peers)`;
  const rows = info.peers.map((p) => [p.name, p.node, iso(p.startedAt), iso(p.expiresAt), p.expired ? kleur.red("expired") : `in ${formatSeconds(p.expiresIn)}`, p.ours ? "yes" : ""]);
  return `${head}\n${plainTable(["name", "node", "started at", "expires at", "expiry", "ours"], rows)}`;
}

export function renderProducers(producers: ProducerInfo[]): string {
  if (producers.length === 0) return "no producers (no queue is running, or its heartbeat was swept)";
  const rows = producers.map((p) => [
    p.uuid, p.name, p.node, p.queue,
    p.meta.local_limit === undefined ? "-" : String(p.meta.local_limit),
    p.meta.paused === true ? kleur.yellow("yes") : "no",
    iso(p.startedAt),
    p.heartbeatAge > 60 ? kleur.red(formatSeconds(p.heartbeatAge)) : formatSeconds(p.heartbeatAge),
  ]);
  return plainTable(["uuid", "name", "node", "queue", "limit", "paused", "started at", "heartbeat age"], rows);
}

export function renderControlled(jobs: ControlledJob[]): string {
  return plainTable(["id", "queue", "worker", "state before"], jobs.map((j) => [j.id, j.queue, j.worker, paintState(j.previousState)]));
}

export interface CronInfo {
  /** The database clock the next runs are computed from. */
  now: Date;
  entries: { name: string; expr: string; worker: string; timezone: string | null; nextAt: Date | null; lastAt: Date | null }[];
}

export function renderCron(info: CronInfo): string {
  if (info.entries.length === 0) return "no crontab (give --cron entries, or a crontab in oban.config.*)";
  const rows = info.entries.map((e) => [e.name, e.expr, e.timezone ?? "UTC", e.worker, e.nextAt ? iso(e.nextAt) : "at leader start", iso(e.lastAt)]);
  return `now ${iso(info.now)} (database clock); inserted by the oban-ts leader\n${plainTable(["name", "expr", "timezone", "worker", "next run", "last inserted"], rows)}`;
}
