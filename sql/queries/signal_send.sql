-- Publishes one already encoded payload (src/codec/notification.ts) on a notification channel. In a
-- transaction it is delivered on commit; on its own, at once.
SELECT pg_notify(:channel::text, :payload::text)
