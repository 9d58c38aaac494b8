-- Serialises oban-ts migrations per prefix. Transaction-scoped: released at COMMIT/ROLLBACK.
-- Taken first in every migration transaction, before anything that could race (CREATE SCHEMA/TYPE).
SELECT pg_advisory_xact_lock(hashtextextended('oban-ts migrate ' || :prefix::text, 0))
