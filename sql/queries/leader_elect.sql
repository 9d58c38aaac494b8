-- Acquire or renew the port's own lease in oban_peers, in one atomic statement: insert it, or take
-- it over when it expired, or extend it when we already hold it. The lease key (:name) is the
-- port's own, never Elixir's or Oban.py's (COMPAT §11). When someone else holds a live lease, the
-- second branch reports it, so the caller can retry right when it expires.
WITH upsert AS (
  INSERT INTO {prefix}.oban_peers AS p (name, node, started_at, expires_at)
  VALUES (:name, :node, timezone('UTC', now()), timezone('UTC', now()) + make_interval(secs => :ttl))
  ON CONFLICT (name) DO UPDATE
  SET node = excluded.node,
      started_at = CASE WHEN p.node = excluded.node THEN p.started_at ELSE excluded.started_at END,
      expires_at = excluded.expires_at
  WHERE p.node = excluded.node OR p.expires_at < timezone('UTC', now())
  RETURNING node, expires_at
)
SELECT node, true AS leader,
       extract(epoch FROM expires_at - timezone('UTC', now()))::float8 AS expires_in
FROM upsert
UNION ALL
SELECT node, false AS leader,
       extract(epoch FROM expires_at - timezone('UTC', now()))::float8 AS expires_in
FROM {prefix}.oban_peers
WHERE name = :name AND NOT EXISTS (SELECT 1 FROM upsert)
