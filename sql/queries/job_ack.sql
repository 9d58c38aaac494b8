-- Records the outcome of a batch of attempts in one statement. Each row is updated only while it is
-- still the attempt we ran (same id, same attempt, still executing): a job that was cancelled,
-- rescued or re-fetched meanwhile is left alone, and its id is missing from the result.
-- Error entries are built here, on the database clock, and appended as one object, which works on
-- both `errors jsonb[]` (Elixir) and `errors jsonb` (Oban.py).
WITH acks AS (
  SELECT *
  FROM unnest(:ids::bigint[], :attempts::int[], :states::text[], :delays::float8[], :errors::text[], :metas::jsonb[])
    AS a(id, attempt, state, delay, error, meta)
)
UPDATE {prefix}.oban_jobs j
SET state = a.state::{prefix}.oban_job_state,
    completed_at = CASE WHEN a.state = 'completed' THEN timezone('UTC', now()) ELSE j.completed_at END,
    discarded_at = CASE WHEN a.state = 'discarded' THEN timezone('UTC', now()) ELSE j.discarded_at END,
    cancelled_at = CASE WHEN a.state = 'cancelled' THEN timezone('UTC', now()) ELSE j.cancelled_at END,
    scheduled_at = CASE WHEN a.state IN ('retryable', 'scheduled', 'available')
                        THEN timezone('UTC', now()) + make_interval(secs => coalesce(a.delay, 0))
                        ELSE j.scheduled_at END,
    attempt = CASE WHEN a.state = 'scheduled' THEN j.attempt - 1 ELSE j.attempt END,
    meta = CASE
      WHEN a.state = 'scheduled'
        THEN coalesce(j.meta, '{}') || coalesce(a.meta, '{}')
             || jsonb_build_object('snoozed', coalesce((j.meta ->> 'snoozed')::int, 0) + 1)
      WHEN a.meta IS NOT NULL THEN coalesce(j.meta, '{}') || a.meta
      ELSE j.meta END,
    errors = CASE WHEN a.error IS NULL THEN j.errors
      ELSE j.errors || jsonb_build_object(
        'attempt', j.attempt,
        'at', to_char(timezone('UTC', now()), 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z',
        'error', a.error) END
FROM acks a
WHERE j.id = a.id AND j.attempt = a.attempt AND j.state = 'executing'
RETURNING j.id
