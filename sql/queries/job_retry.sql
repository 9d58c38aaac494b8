-- Makes the matching jobs that are neither available nor executing available again, now (COMPAT §6):
-- max_attempts is raised to attempt + 1 when exhausted, so the row can be fetched (§15 #1), and the
-- finish timestamps are cleared. meta is left alone (Oban.py's `uniq_bmp` is not copied). One
-- `insert` notification per queue, from this statement, wakes the producers on commit.
WITH candidates AS MATERIALIZED (
  SELECT id, state::text AS previous_state
  FROM {prefix}.oban_jobs
  WHERE state NOT IN ('available', 'executing')
    AND (:ids::bigint[] IS NULL OR id = ANY(:ids::bigint[]))
    AND (:queue::text IS NULL OR queue = :queue::text)
    AND (:state::text IS NULL OR state = :state::text::{prefix}.oban_job_state)
    AND (:worker::text IS NULL OR worker = :worker::text)
  ORDER BY id
  LIMIT :limit::bigint
  FOR UPDATE
), retried AS (
  UPDATE {prefix}.oban_jobs j
  SET state = 'available',
      scheduled_at = timezone('UTC', now()),
      max_attempts = greatest(j.max_attempts, j.attempt + 1),
      completed_at = NULL,
      cancelled_at = NULL,
      discarded_at = NULL
  FROM candidates c
  WHERE j.id = c.id
  RETURNING j.id, j.queue, j.worker, c.previous_state
), notified AS (
  SELECT pg_notify(:channel, json_build_object('queue', q.queue)::text)
  FROM (SELECT DISTINCT queue FROM retried) q
)
SELECT r.id, r.queue, r.worker, r.previous_state
FROM retried r CROSS JOIN (SELECT count(*) FROM notified) n
ORDER BY r.id
