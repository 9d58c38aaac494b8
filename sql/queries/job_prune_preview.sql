-- What job_prune would delete now, changing nothing (for --dry-run).
WITH doomed AS (
  SELECT id, queue, state
  FROM {prefix}.oban_jobs
  WHERE (state = 'completed' AND completed_at < timezone('UTC', now()) - make_interval(secs => :max_age))
     OR (state = 'cancelled' AND cancelled_at < timezone('UTC', now()) - make_interval(secs => :max_age))
     OR (state = 'discarded' AND discarded_at < timezone('UTC', now()) - make_interval(secs => :max_age))
  ORDER BY id
  LIMIT :limit
)
SELECT queue, state::text AS state, count(*)::int AS count FROM doomed GROUP BY queue, state ORDER BY queue, state
