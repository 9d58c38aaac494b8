-- A page of jobs, newest first, optionally filtered (oban inspect jobs). Ordered by id alone so the
-- primary key serves the order; NULL-able columns of other writers read as empty values.
SELECT id, state::text AS state, queue, worker, args, coalesce(meta, '{}') AS meta,
       coalesce(tags, '{}') AS tags, to_jsonb(errors) AS errors, attempt, max_attempts, priority,
       coalesce(attempted_by, '{}') AS attempted_by, inserted_at, scheduled_at, attempted_at,
       completed_at, discarded_at, cancelled_at
FROM {prefix}.oban_jobs
WHERE (:queue::text IS NULL OR queue = :queue::text)
  AND (:state::text IS NULL OR state = :state::text::{prefix}.oban_job_state)
  AND (:worker::text IS NULL OR worker = :worker::text)
ORDER BY id DESC
LIMIT :limit::int
