-- Whether the version table exists (the schema may not exist either).
SELECT to_regclass(:table::text) IS NOT NULL AS present
