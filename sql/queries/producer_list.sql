-- Every row of oban_producers, whoever wrote it (port or Oban.py), with the age of its heartbeat
-- in seconds by the database clock (a row older than 60 s is about to be swept, COMPAT §12).
SELECT uuid::text AS uuid, name, node, queue, meta, started_at, updated_at,
       extract(epoch FROM timezone('UTC', now()) - updated_at)::float8 AS heartbeat_age
FROM {prefix}.oban_producers
ORDER BY queue, node, started_at, uuid
