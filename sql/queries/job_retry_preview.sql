-- What job_retry would change now, changing and locking nothing (for --dry-run). Keep the state
-- rule and the filters identical to job_retry.sql.
SELECT id, queue, worker, state::text AS previous_state
FROM {prefix}.oban_jobs
WHERE state NOT IN ('available', 'executing')
    AND (:ids::bigint[] IS NULL OR id = ANY(:ids::bigint[]))
    AND (:queue::text IS NULL OR queue = :queue::text)
    AND (:state::text IS NULL OR state = :state::text::{prefix}.oban_job_state)
    AND (:worker::text IS NULL OR worker = :worker::text)
ORDER BY id
LIMIT :limit::bigint
