-- Heartbeat for this node's producers, one statement for all of them. An upsert, because the table
-- is UNLOGGED (emptied after a database crash) and an Oban.py leader may delete rows it thinks
-- expired; meta is merged so keys written by others survive.
INSERT INTO {prefix}.oban_producers AS p (uuid, name, node, queue, meta, started_at, updated_at)
SELECT u.uuid, :name, :node, u.queue, u.meta, u.started_at, timezone('UTC', now())
FROM unnest(:uuids::uuid[], :queues::text[], :metas::jsonb[], :started_at::timestamp[])
  AS u(uuid, queue, meta, started_at)
ON CONFLICT (uuid) DO UPDATE
SET updated_at = excluded.updated_at,
    meta = p.meta || excluded.meta
