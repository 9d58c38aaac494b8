-- Records a batch of job outcomes and claims up to :demand available jobs of one queue, in one
-- statement and so one commit: a producer sends the outcomes of its finished jobs with the fetch
-- that replaces them. With no outcomes it is a plain fetch; with :demand 0 a plain ack.
--
-- Outcomes: each row is updated only while it is still the attempt we ran (same id, same attempt,
-- still executing), so a job cancelled, rescued or re-fetched meanwhile is left alone and its id is
-- reported in `lost`. Error entries are built here, on the database clock, and appended as one
-- object, which works on both `errors jsonb[]` (Elixir) and `errors jsonb` (Oban.py).
--
-- Fetch: the candidate CTE is an optimisation fence, so exactly the locked rows are updated. Rows
-- whose attempts are exhausted are filtered before locking: they never fail the fetch nor take a slot.
WITH acks AS (
  SELECT *
  FROM unnest(:ids::bigint[], :attempts::int[], :states::text[], :delays::float8[], :errors::text[], :metas::jsonb[])
    AS a(id, attempt, state, delay, error, meta)
), acked AS (
  UPDATE {prefix}.oban_jobs j
  -- 'released': claimed into a producer's local buffer but never started; back in line, attempt returned.
  SET state = (CASE WHEN a.state = 'released' THEN 'available' ELSE a.state END)::{prefix}.oban_job_state,
      completed_at = CASE WHEN a.state = 'completed' THEN timezone('UTC', now()) ELSE j.completed_at END,
      discarded_at = CASE WHEN a.state = 'discarded' THEN timezone('UTC', now()) ELSE j.discarded_at END,
      cancelled_at = CASE WHEN a.state = 'cancelled' THEN timezone('UTC', now()) ELSE j.cancelled_at END,
      scheduled_at = CASE WHEN a.state IN ('retryable', 'scheduled', 'available')
                          THEN timezone('UTC', now()) + make_interval(secs => coalesce(a.delay, 0))
                          ELSE j.scheduled_at END,
      attempt = CASE WHEN a.state IN ('scheduled', 'released') THEN j.attempt - 1 ELSE j.attempt END,
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
), candidates AS MATERIALIZED (
  SELECT id
  FROM {prefix}.oban_jobs
  WHERE state = 'available' AND queue = :queue AND attempt < max_attempts
  ORDER BY priority, scheduled_at, id
  LIMIT :demand
  FOR UPDATE SKIP LOCKED
), fetched AS (
  UPDATE {prefix}.oban_jobs j
  SET state = 'executing',
      attempt = j.attempt + 1,
      attempted_at = timezone('UTC', now()),
      attempted_by = ARRAY[:node::text, :producer::text]
  -- By id through the primary key: a join here lets the planner hash the whole table for big batches.
  WHERE j.id = ANY (ARRAY(SELECT id FROM candidates))
  -- Only what the caller cannot know: state, attempted_by and the end times are set just above.
  RETURNING j.id, j.queue, j.worker, j.args, coalesce(j.meta, '{}') AS meta,
            coalesce(j.tags, '{}') AS tags, to_jsonb(j.errors) AS errors, j.attempt, j.max_attempts,
            j.priority, j.inserted_at, j.scheduled_at, j.attempted_at
)
-- Always one row at least, so `lost` comes back even when nothing was fetched: the ids of outcomes
-- that were no longer ours to write (usually none, so the repeated array costs nothing).
SELECT f.*, l.lost
FROM (SELECT coalesce(array_agg(a.id), '{}') AS lost FROM acks a WHERE a.id NOT IN (SELECT id FROM acked)) l
LEFT JOIN fetched f ON true
-- The producer starts jobs in this order: the queue's order, not the order rows were updated in.
ORDER BY f.priority, f.scheduled_at, f.id
