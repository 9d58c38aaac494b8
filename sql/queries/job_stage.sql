-- Makes scheduled and retryable jobs of the given queues available once their time has come, oldest
-- first, in a bounded batch. The staged queues come from this same statement's rows (not a later
-- snapshot), and each gets one `insert` notification so producers on every node wake at once.
--
-- drainQueue (oban-ts/testing) passes :until, the time to stage up to instead of now ('infinity' for
-- every job, as Oban's with_scheduled: true), and :notify false: it claims these jobs itself, and
-- waking producers elsewhere would only set them competing for the jobs the test is about to run.
WITH due AS MATERIALIZED (
  SELECT id
  FROM {prefix}.oban_jobs
  WHERE state IN ('scheduled', 'retryable')
    AND queue = ANY(:queues::text[])
    AND scheduled_at <= coalesce(:until::timestamp, timezone('UTC', now()))
  ORDER BY scheduled_at, id
  LIMIT :limit
  FOR UPDATE SKIP LOCKED
), staged AS (
  UPDATE {prefix}.oban_jobs j
  SET state = 'available'
  FROM due
  WHERE j.id = due.id
  RETURNING j.queue
), per_queue AS (
  SELECT queue, count(*)::int AS count FROM staged GROUP BY queue
), notified AS (
  SELECT pg_notify(:channel, json_build_object('queue', queue)::text) FROM per_queue WHERE :notify::boolean
)
SELECT p.queue, p.count FROM per_queue p CROSS JOIN (SELECT count(*) FROM notified) n
