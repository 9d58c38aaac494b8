-- Every lease in oban_peers (Elixir's and the port's, COMPAT §11), with whether it has expired by
-- the database clock. Read only: leases are written by their holders.
SELECT name, node, started_at, expires_at,
       expires_at <= timezone('UTC', now()) AS expired,
       extract(epoch FROM expires_at - timezone('UTC', now()))::float8 AS expires_in
FROM {prefix}.oban_peers
ORDER BY name, node
