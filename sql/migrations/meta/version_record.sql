-- A migration may already have written its own row (with details, e.g. migration 1's `created`).
INSERT INTO {prefix}.oban_ts_migrations (version) VALUES (:version) ON CONFLICT (version) DO NOTHING
