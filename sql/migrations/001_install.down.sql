-- oban-ts migration 1, down.
--
-- The install is shared with Elixir Oban and Oban.py, so this drops ONLY what migration 1 itself
-- created, as recorded in <prefix>.oban_ts_migrations.created (see 001_install.up.sql):
--   * oban_producers, oban_leaders, oban_peers: dropped when the port created them. They are
--     UNLOGGED, ephemeral coordination tables; another implementation running against them at
--     that moment loses its leader/producer rows (and Oban.py refuses to start without them).
--   * oban_jobs: dropped when the port created it AND it holds no rows. With rows (jobs the port
--     or anyone else wrote) it refuses with SQLSTATE OBTS1, which the engine reports as
--     ObanError "schema": delete the jobs first if you really mean it.
--   * the enum: dropped when the port created it (RESTRICT: fails if anything else uses it).
--     Labels the port added to an existing enum stay (PostgreSQL cannot drop enum labels).
--   * the version table always; the schema when the port created it and it is now empty.
-- Nothing is ever done to objects the port found already present.
DO $uninstall$
DECLARE
  v_created text[];
BEGIN
  IF to_regclass('{prefix}.oban_ts_migrations') IS NULL THEN
    RETURN;
  END IF;

  SELECT m.created INTO v_created FROM {prefix}.oban_ts_migrations m WHERE m.version = 1;
  v_created := coalesce(v_created, '{}');

  IF 'oban_jobs' = ANY (v_created) AND to_regclass('{prefix}.oban_jobs') IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM {prefix}.oban_jobs LIMIT 1) THEN
      RAISE EXCEPTION USING
        ERRCODE = 'OBTS1',
        MESSAGE = 'refusing to drop {prefix}.oban_jobs: it still holds jobs',
        HINT = 'delete the rows first if the jobs may really be lost';
    END IF;
  END IF;

  IF 'oban_producers' = ANY (v_created) THEN
    DROP TABLE IF EXISTS {prefix}.oban_producers;
  END IF;
  IF 'oban_leaders' = ANY (v_created) THEN
    DROP TABLE IF EXISTS {prefix}.oban_leaders;
  END IF;
  IF 'oban_peers' = ANY (v_created) THEN
    DROP TABLE IF EXISTS {prefix}.oban_peers;
  END IF;
  IF 'oban_jobs' = ANY (v_created) THEN
    DROP TABLE IF EXISTS {prefix}.oban_jobs;
  END IF;
  IF 'oban_job_state' = ANY (v_created) THEN
    DROP TYPE IF EXISTS {prefix}.oban_job_state;
  END IF;

  DROP TABLE {prefix}.oban_ts_migrations;

  IF 'schema' = ANY (v_created) THEN
    BEGIN
      DROP SCHEMA {prefix};
    EXCEPTION WHEN dependent_objects_still_exist THEN
      RAISE NOTICE 'schema {prefix} kept: it holds other objects';
    END;
  END IF;
END
$uninstall$;
