-- What job_rescue would change now, changing nothing (for --dry-run): the same two rules.
WITH dead AS (
  SELECT uuid::text AS uuid
  FROM {prefix}.oban_producers
  WHERE updated_at < timezone('UTC', now()) - make_interval(secs => :producer_max_age)
), orphans AS (
  SELECT j.id FROM {prefix}.oban_jobs j JOIN dead d ON j.attempted_by[2] = d.uuid WHERE j.state = 'executing'
  UNION ALL
  (SELECT j.id
   FROM {prefix}.oban_jobs j
   WHERE j.state = 'executing'
     AND j.attempted_at < timezone('UTC', now()) - make_interval(secs => :rescue_after)
     AND NOT EXISTS (SELECT 1 FROM {prefix}.oban_producers p WHERE p.uuid::text = j.attempted_by[2])
   ORDER BY j.id
   LIMIT :limit)
)
SELECT j.queue,
       CASE WHEN j.attempt < j.max_attempts THEN 'available' ELSE 'discarded' END AS state,
       count(*)::int AS count,
       (SELECT count(*)::int FROM dead) AS dead_producers
FROM {prefix}.oban_jobs j JOIN orphans o ON o.id = j.id
GROUP BY 1, 2
UNION ALL
SELECT NULL, NULL, 0, (SELECT count(*)::int FROM dead)
WHERE NOT EXISTS (SELECT 1 FROM orphans)
