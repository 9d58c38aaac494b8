-- Deletes finished jobs older than :max_age by each state's own timestamp (not scheduled_at), at
-- most :limit rows, skipping rows someone else has locked, so producers are never held up.
WITH doomed AS MATERIALIZED (
  SELECT id
  FROM {prefix}.oban_jobs
  WHERE (state = 'completed' AND completed_at < timezone('UTC', now()) - make_interval(secs => :max_age))
     OR (state = 'cancelled' AND cancelled_at < timezone('UTC', now()) - make_interval(secs => :max_age))
     OR (state = 'discarded' AND discarded_at < timezone('UTC', now()) - make_interval(secs => :max_age))
  ORDER BY id
  LIMIT :limit
  FOR UPDATE SKIP LOCKED
), deleted AS (
  DELETE FROM {prefix}.oban_jobs j USING doomed d WHERE j.id = d.id RETURNING j.queue, j.state::text AS state
)
SELECT queue, state, count(*)::int AS count FROM deleted GROUP BY queue, state ORDER BY queue, state
