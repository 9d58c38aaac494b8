-- Deletes the matching jobs, never an executing one (COMPAT §6): its worker is still running and
-- would ack a row that no longer exists. Candidates are locked and re-checked, so a row fetched
-- while we waited is skipped; fetch skips the rows we hold.
WITH candidates AS MATERIALIZED (
  SELECT id, state::text AS previous_state
  FROM {prefix}.oban_jobs
  WHERE state <> 'executing'
    AND (:ids::bigint[] IS NULL OR id = ANY(:ids::bigint[]))
    AND (:queue::text IS NULL OR queue = :queue::text)
    AND (:state::text IS NULL OR state = :state::text::{prefix}.oban_job_state)
    AND (:worker::text IS NULL OR worker = :worker::text)
  ORDER BY id
  LIMIT :limit::bigint
  FOR UPDATE
)
DELETE FROM {prefix}.oban_jobs j
USING candidates c
WHERE j.id = c.id
RETURNING j.id, j.queue, j.worker, c.previous_state
