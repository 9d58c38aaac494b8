/** The job states Oban defines. Compare labels only: the enum's order differs between installs. */
export const JOB_STATES = ["available", "suspended", "scheduled", "executing", "retryable", "completed", "discarded", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobError {
  attempt: number;
  at: string;
  error: string;
}

export interface Job<Args = Record<string, unknown>> {
  /** bigint column, kept as a string so ids beyond 2^53 stay exact. */
  id: string;
  state: JobState;
  queue: string;
  worker: string;
  args: Args;
  meta: Record<string, unknown>;
  tags: string[];
  errors: JobError[];
  attempt: number;
  maxAttempts: number;
  priority: number;
  attemptedBy: string[];
  insertedAt: Date;
  scheduledAt: Date;
  attemptedAt: Date | null;
  completedAt: Date | null;
  discardedAt: Date | null;
  cancelledAt: Date | null;
}

export interface JobRow {
  id: string;
  state: JobState;
  queue: string;
  worker: string;
  args: any;
  meta: Record<string, unknown> | null;
  tags: string[] | null;
  errors: JobError[] | null;
  attempt: number;
  max_attempts: number;
  priority: number;
  attempted_by: string[] | null;
  inserted_at: Date;
  scheduled_at: Date;
  attempted_at: Date | null;
  completed_at: Date | null;
  discarded_at: Date | null;
  cancelled_at: Date | null;
}

export function jobFromRow<Args = Record<string, unknown>>(row: JobRow): Job<Args> {
  return {
    id: row.id,
    state: row.state,
    queue: row.queue,
    worker: row.worker,
    args: row.args as Args,
    meta: row.meta ?? {},
    tags: row.tags ?? [],
    errors: row.errors ?? [],
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    priority: row.priority,
    attemptedBy: row.attempted_by ?? [],
    insertedAt: row.inserted_at,
    scheduledAt: row.scheduled_at,
    attemptedAt: row.attempted_at,
    completedAt: row.completed_at,
    discardedAt: row.discarded_at,
    cancelledAt: row.cancelled_at,
  };
}

/** NOTIFY channel names: `<prefix>.oban_<name>`, shared with Elixir and Oban.py. */
export function channel(prefix: string, name: "insert" | "signal" | "leader" | "gossip"): string {
  return `${prefix}.oban_${name}`;
}
