-- Inserts a batch of jobs in one statement and sends one `insert` notification per queue that
-- received an available job, never one per row. Inside a caller's transaction the notification is
-- delivered only if that transaction commits.
--
-- The jobs arrive as one JSON array of row objects, parsed once by the server: the client builds
-- one string with native JSON instead of a PostgreSQL array literal per column (measured: about a
-- quarter less client time per 5,000 jobs, and cheaper planning for small batches).
WITH input AS (
  SELECT r.*,
         coalesce(r.scheduled_at, timezone('UTC', now()) + make_interval(secs => coalesce(r.schedule_in, 0))) AS run_at
  FROM ROWS FROM (
         jsonb_to_recordset(:rows::jsonb)
           AS (worker text, queue text, args jsonb, meta jsonb, tags text[], priority int, max_attempts int,
               scheduled_at timestamp, schedule_in float8)
       ) WITH ORDINALITY AS r(worker, queue, args, meta, tags, priority, max_attempts, scheduled_at, schedule_in, ord)
), inserted AS (
  INSERT INTO {prefix}.oban_jobs
    (state, queue, worker, args, meta, tags, priority, max_attempts, scheduled_at, attempt, attempted_by)
  SELECT CASE WHEN i.run_at > timezone('UTC', now())
              THEN 'scheduled'::{prefix}.oban_job_state
              ELSE 'available'::{prefix}.oban_job_state END,
         i.queue, i.worker, i.args, i.meta, i.tags, i.priority, i.max_attempts, i.run_at, 0, '{}'::text[]
  FROM input i
  ORDER BY i.ord
  RETURNING id, state, queue
), notified AS (
  SELECT pg_notify(:channel, json_build_object('queue', q.queue)::text)
  FROM (SELECT DISTINCT queue FROM inserted WHERE state = 'available') q
)
-- One row: the new ids in input order (ids are drawn in row order) as one comma-separated string
-- (splitting it is far cheaper than parsing a bigint[]), and the statement's clock, from which the
-- caller derives each job's state and times.
SELECT coalesce(array_to_string(array_agg(ins.id ORDER BY ins.id), ','), '') AS ids, timezone('UTC', now()) AS now
FROM inserted ins CROSS JOIN (SELECT count(*) FROM notified) n
