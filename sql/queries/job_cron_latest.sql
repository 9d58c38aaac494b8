-- For `oban inspect cron`: the database clock, and per crontab entry (meta.cron_name) the minute of
-- the latest job it inserted that is still kept. An operator's query, not a hot path: the
-- containment test uses Elixir's GIN index on meta where it exists, and scans otherwise.
SELECT timezone('UTC', now()) AS now,
       coalesce((SELECT json_object_agg(l.name, l.last_at)
                 FROM (SELECT meta->>'cron_name' AS name, max(scheduled_at) AS last_at
                       FROM {prefix}.oban_jobs
                       WHERE meta @> '{"cron": true}' AND meta->>'cron_name' = ANY(:names::text[])
                       GROUP BY 1) l), '{}') AS latest
