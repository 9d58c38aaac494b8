-- One job by id, with the columns other implementations may leave NULL read as empty values.
SELECT id, state::text AS state, queue, worker, args, coalesce(meta, '{}') AS meta,
       coalesce(tags, '{}') AS tags, to_jsonb(errors) AS errors, attempt, max_attempts, priority,
       coalesce(attempted_by, '{}') AS attempted_by, inserted_at, scheduled_at, attempted_at,
       completed_at, discarded_at, cancelled_at
FROM {prefix}.oban_jobs
WHERE id = :id
