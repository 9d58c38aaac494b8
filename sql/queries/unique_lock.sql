-- Takes the transaction-scoped advisory locks of unique jobs (COMPAT §15 #7), blocking until each
-- is free. Blocking, not try-lock: a busy lock means another port inserter may be about to insert a
-- match, and only after it commits or rolls back can we tell, so we wait instead of guessing (Elixir
-- reports a conflict here even when the holder then rolls back). Keys arrive sorted and unnest keeps
-- array order, so bulk inserters lock in one global order and never deadlock one another.
-- Also returns the isolation level: the lookup that follows must see rows committed while we
-- waited, which only READ COMMITTED gives (a REPEATABLE READ snapshot would hide them).
SELECT current_setting('transaction_isolation') AS isolation,
       count(pg_advisory_xact_lock(u.key)::text) AS locked
FROM unnest(:keys::bigint[]) WITH ORDINALITY AS u(key, ord)
