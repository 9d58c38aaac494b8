SELECT coalesce(max(version), 0)::int AS current FROM {prefix}.oban_ts_migrations
