-- Claims up to :demand available jobs of one queue for one producer. The candidate CTE is an
-- optimisation fence, so exactly the locked rows are updated. Rows whose attempts are exhausted
-- are filtered before locking: they never fail the fetch nor take a demand slot.
WITH candidates AS MATERIALIZED (
  SELECT id
  FROM {prefix}.oban_jobs
  WHERE state = 'available' AND queue = :queue AND attempt < max_attempts
  ORDER BY priority, scheduled_at, id
  LIMIT :demand
  FOR UPDATE SKIP LOCKED
)
UPDATE {prefix}.oban_jobs j
SET state = 'executing',
    attempt = j.attempt + 1,
    attempted_at = timezone('UTC', now()),
    attempted_by = ARRAY[:node::text, :producer::text]
FROM candidates c
WHERE j.id = c.id
RETURNING j.id, j.state::text AS state, j.queue, j.worker, j.args, coalesce(j.meta, '{}') AS meta,
          coalesce(j.tags, '{}') AS tags, to_jsonb(j.errors) AS errors, j.attempt, j.max_attempts,
          j.priority, coalesce(j.attempted_by, '{}') AS attempted_by, j.inserted_at, j.scheduled_at,
          j.attempted_at, j.completed_at, j.discarded_at, j.cancelled_at
