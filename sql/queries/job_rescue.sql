-- The lifeline, producer-aware (COMPAT §15 #6). Producers that stopped heartbeating are deleted, and
-- in the same statement every executing job they held is rescued, however long it has run. A job
-- whose producer is alive is never touched. Jobs whose producer has no row at all (other
-- implementations, rows lost in a crash) fall back to the time floor :rescue_after, in batches.
-- Rescued jobs go back to available (meta.rescued + 1) or, out of attempts, to discarded.
WITH dead AS (
  DELETE FROM {prefix}.oban_producers
  WHERE updated_at < timezone('UTC', now()) - make_interval(secs => :producer_max_age)
  RETURNING uuid::text AS uuid, node
), orphans AS MATERIALIZED (
  SELECT j.id, d.node AS dead_node
  FROM {prefix}.oban_jobs j
  JOIN dead d ON j.attempted_by[2] = d.uuid
  WHERE j.state = 'executing'
  UNION ALL
  (SELECT j.id, NULL
   FROM {prefix}.oban_jobs j
   WHERE j.state = 'executing'
     AND j.attempted_at < timezone('UTC', now()) - make_interval(secs => :rescue_after)
     AND NOT EXISTS (SELECT 1 FROM {prefix}.oban_producers p WHERE p.uuid::text = j.attempted_by[2])
   ORDER BY j.id
   LIMIT :limit)
), locked AS MATERIALIZED (
  SELECT j.id, o.dead_node
  FROM {prefix}.oban_jobs j JOIN orphans o ON o.id = j.id
  FOR UPDATE OF j SKIP LOCKED
), rescued AS (
  UPDATE {prefix}.oban_jobs j
  SET state = CASE WHEN j.attempt < j.max_attempts THEN 'available'::{prefix}.oban_job_state
                   ELSE 'discarded'::{prefix}.oban_job_state END,
      scheduled_at = CASE WHEN j.attempt < j.max_attempts THEN timezone('UTC', now()) ELSE j.scheduled_at END,
      discarded_at = CASE WHEN j.attempt < j.max_attempts THEN j.discarded_at ELSE timezone('UTC', now()) END,
      meta = coalesce(j.meta, '{}') || jsonb_build_object('rescued', coalesce((j.meta ->> 'rescued')::int, 0) + 1),
      errors = j.errors || jsonb_build_object(
        'attempt', j.attempt,
        'at', to_char(timezone('UTC', now()), 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z',
        'error', CASE WHEN l.dead_node IS NOT NULL
                      THEN 'rescued by the lifeline: its producer on node ' || l.dead_node || ' stopped heartbeating'
                      ELSE 'rescued by the lifeline: executing longer than rescue_after with no known producer' END)
  FROM locked l
  WHERE j.id = l.id AND j.state = 'executing'
  RETURNING j.queue, j.state::text AS state
), per_queue AS (
  SELECT queue, state, count(*)::int AS count FROM rescued GROUP BY queue, state
), notified AS (
  SELECT pg_notify(:channel, json_build_object('queue', queue)::text) FROM per_queue WHERE state = 'available'
)
SELECT q.queue, q.state, q.count, (SELECT count(*)::int FROM dead) AS dead_producers
FROM per_queue q CROSS JOIN (SELECT count(*) FROM notified) n
UNION ALL
SELECT NULL, NULL, 0, (SELECT count(*)::int FROM dead)
WHERE NOT EXISTS (SELECT 1 FROM per_queue)
