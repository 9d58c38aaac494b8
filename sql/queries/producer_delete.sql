-- A stopping node removes its producers' rows, so nobody mistakes them for crashed ones.
DELETE FROM {prefix}.oban_producers WHERE uuid = ANY(:uuids::uuid[])
