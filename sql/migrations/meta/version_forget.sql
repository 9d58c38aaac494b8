DELETE FROM {prefix}.oban_ts_migrations WHERE version = :version
