-- The committed row a unique job would duplicate, if any (at most one). Runs after unique_lock,
-- in the same READ COMMITTED transaction, as its own statement: its snapshot is taken after the
-- lock was granted, so it sees whatever the previous holder committed. The insert that follows
-- when nothing is found is the ordinary job_insert.
--
-- Indexes (EXPLAIN ANALYZE on 200,000 rows, PostgreSQL 15): on Elixir's shape, which the port's
-- installer creates, `args @> :match_args` is a bitmap scan of the GIN index oban_jobs_args_index,
-- and every other condition is rechecked on the few rows it finds (~0.1 ms, with or without a
-- match). Oban.py's schema has no args index: there, when queue is compared, state and queue are
-- the index condition on oban_jobs_state_queue_priority_scheduled_at_id_index (the one index
-- every schema has) and the rest is filtered over that range (~35 ms); without queue it is a
-- sequential scan (~80 ms). An operator may add the GIN index there; the port never alters it.
-- Optional comparisons are written `(:x IS NULL OR ...)`: PostgreSQL keeps planning this prepared
-- statement with the bound values (custom plans; pg_prepared_statements showed no generic plan
-- over 30 runs), which folds the branches that do not apply; a generic plan would scan the table.
SELECT j.id, j.state::text AS state, j.queue, j.worker, j.args, coalesce(j.meta, '{}') AS meta,
       coalesce(j.tags, '{}') AS tags, to_jsonb(j.errors) AS errors, j.attempt, j.max_attempts,
       j.priority, coalesce(j.attempted_by, '{}') AS attempted_by, j.inserted_at, j.scheduled_at,
       j.attempted_at, j.completed_at, j.discarded_at, j.cancelled_at
FROM {prefix}.oban_jobs j
WHERE j.state = ANY(:states::{prefix}.oban_job_state[])
  AND (:queue::text IS NULL OR j.queue = :queue::text)
  AND (:worker::text IS NULL OR j.worker = :worker::text)
  -- Equal args, or with keys equal values at those keys (absent on both sides counts as
  -- equal). `@>` alone is not equality (it ignores array order and extra keys); it is there for
  -- the GIN index, and the exact comparison decides.
  AND (:match_args::jsonb IS NULL
       OR (j.args @> :match_args::jsonb
           AND CASE WHEN cardinality(:keys::text[]) = 0 THEN j.args = :match_args::jsonb
                    ELSE NOT EXISTS (SELECT 1 FROM unnest(:keys::text[]) AS k(key)
                                     WHERE j.args -> k.key IS DISTINCT FROM :match_args::jsonb -> k.key) END))
  -- The same for meta. Elixir's meta may be NULL: read as {} like everywhere else.
  AND (:match_meta::jsonb IS NULL
       OR (coalesce(j.meta, '{}') @> :match_meta::jsonb
           AND CASE WHEN cardinality(:keys::text[]) = 0 THEN coalesce(j.meta, '{}') = :match_meta::jsonb
                    ELSE NOT EXISTS (SELECT 1 FROM unnest(:keys::text[]) AS k(key)
                                     WHERE j.meta -> k.key IS DISTINCT FROM :match_meta::jsonb -> k.key) END))
  AND (:period::float8 IS NULL
       OR CASE WHEN :by_scheduled_at::bool THEN j.scheduled_at ELSE j.inserted_at END
          >= timezone('UTC', now()) - make_interval(secs => :period::float8))
LIMIT 1
