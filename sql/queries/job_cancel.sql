-- Cancels the matching jobs that have not finished, executing ones included (COMPAT §6, §15 #4):
-- an executing row becomes `cancelled` here, so its late ack (guarded on state = executing) cannot
-- undo the cancel. Each row that was executing gets exactly one `pkill` signal, built with
-- json_build_object (job_id a JSON integer) and sent from this statement, so it is delivered on commit.
-- Candidates are locked in id order (concurrent cancels do not deadlock) and re-checked after any
-- wait, so the state reported as previous is the one we changed. A NULL filter matches everything;
-- the engine refuses a call with no filter at all.
WITH candidates AS MATERIALIZED (
  SELECT id, state::text AS previous_state
  FROM {prefix}.oban_jobs
  WHERE state NOT IN ('completed', 'discarded', 'cancelled')
    AND (:ids::bigint[] IS NULL OR id = ANY(:ids::bigint[]))
    AND (:queue::text IS NULL OR queue = :queue::text)
    AND (:state::text IS NULL OR state = :state::text::{prefix}.oban_job_state)
    AND (:worker::text IS NULL OR worker = :worker::text)
  ORDER BY id
  LIMIT :limit::bigint
  FOR UPDATE
), cancelled AS (
  UPDATE {prefix}.oban_jobs j
  SET state = 'cancelled', cancelled_at = timezone('UTC', now())
  FROM candidates c
  WHERE j.id = c.id
  RETURNING j.id, j.queue, j.worker, c.previous_state
), signalled AS (
  SELECT pg_notify(:channel, json_build_object('action', 'pkill', 'job_id', id)::text)
  FROM cancelled
  WHERE previous_state = 'executing'
)
SELECT c.id, c.queue, c.worker, c.previous_state
FROM cancelled c CROSS JOIN (SELECT count(*) FROM signalled) s
ORDER BY c.id
