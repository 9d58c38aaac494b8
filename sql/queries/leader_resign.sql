-- Give up the lease and tell the other port nodes, so one of them takes over at once. Elixir
-- ignores this name; Oban.py holds an extra, harmless election (COMPAT §11).
WITH resigned AS (
  DELETE FROM {prefix}.oban_peers WHERE name = :name AND node = :node RETURNING name
)
SELECT pg_notify(:channel, json_build_object('down', name)::text) FROM resigned
