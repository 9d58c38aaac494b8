-- Jobs per queue and state label (never enum order: it differs between installs, COMPAT §2), with,
-- per queue: lag = seconds since the oldest fetchable available job was due, by the database
-- clock, and stuck = available rows whose attempts are exhausted, which no fetch will ever take
-- (COMPAT §15 #1). Stuck rows are left out of the lag so one of them does not pin it forever.
SELECT queue,
       state::text AS state,
       count(*)::bigint AS count,
       CASE WHEN state = 'available' THEN
         greatest(0, extract(epoch FROM timezone('UTC', now())
                             - min(scheduled_at) FILTER (WHERE attempt < max_attempts)))::float8
       END AS lag,
       count(*) FILTER (WHERE state = 'available' AND attempt >= max_attempts)::bigint AS stuck
FROM {prefix}.oban_jobs
GROUP BY queue, state
ORDER BY queue, state::text
