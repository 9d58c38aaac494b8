-- Locks the port's lease row for the rest of the caller's transaction, if this instance still
-- holds it. A takeover (leader_elect) then waits for our commit and, having waited, records its own
-- started_at after it: so a leader whose lease ran out a moment ago can never insert cron jobs
-- beside its successor, and the successor knows from when it leads. No row: the lease is not ours.
-- :now pins the clock (tests); normally NULL, and the database's now() is used.
SELECT coalesce(:now::timestamp, timezone('UTC', now())) AS now, started_at
FROM {prefix}.oban_peers
WHERE name = :name AND node = :node AND expires_at > timezone('UTC', now())
FOR UPDATE
