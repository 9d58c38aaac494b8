-- Jobs matching a test assertion's filter (oban-ts/testing: assertEnqueued, refuteEnqueued,
-- allEnqueued), oldest first. args and meta match by containment (`@>`, as Oban's assertions do):
-- the filter names a subset, nested objects and arrays included; tags must all be present. `total`
-- counts every match before the limit, so a failure message can say how many it did not list.
SELECT id, state::text AS state, queue, worker, args, coalesce(meta, '{}') AS meta,
       coalesce(tags, '{}') AS tags, to_jsonb(errors) AS errors, attempt, max_attempts, priority,
       coalesce(attempted_by, '{}') AS attempted_by, inserted_at, scheduled_at, attempted_at,
       completed_at, discarded_at, cancelled_at, count(*) OVER () AS total
FROM {prefix}.oban_jobs
WHERE state = ANY(:states::text[]::{prefix}.oban_job_state[])
  AND (:worker::text IS NULL OR worker = :worker::text)
  AND (:queue::text IS NULL OR queue = :queue::text)
  AND (:args::jsonb IS NULL OR args @> :args::jsonb)
  AND (:meta::jsonb IS NULL OR coalesce(meta, '{}') @> :meta::jsonb)
  AND (:priority::int IS NULL OR priority = :priority::int)
  AND (:tags::text[] IS NULL OR coalesce(tags, '{}') @> :tags::text[])
ORDER BY id
LIMIT :limit::int
