-- oban-ts migration 1: install the objects COMPAT.md (§1-§5, §11, §12) asks of the port.
--
-- The engine (src/engine/migrate.ts) runs this file in its own transaction, after taking the
-- prefix's transaction-scoped advisory lock and re-reading the version, so concurrent installers
-- serialise before any CREATE SCHEMA / CREATE TYPE can race.
--
-- Rules (COMPAT.md §5):
--   * additive and idempotent: an object is created only when it is missing;
--   * an existing oban_jobs (Elixir or Oban.py installed it) is never altered, indexed,
--     constrained or commented; the comment on oban_jobs is never set or changed;
--   * a missing enum label is only added (IF NOT EXISTS): `suspended` before `scheduled`,
--     `cancelled` at the end; a label added here cannot be used in this same transaction;
--   * no triggers, no oban_count_estimate; every name is fully qualified.
--
-- What this migration created is recorded in <prefix>.oban_ts_migrations.created, so that the
-- down migration drops only objects the port created (never the version in the table comment).
DO $install$
DECLARE
  v_created text[] := '{}';
  v_enum regtype;
BEGIN
  IF to_regnamespace('{prefix}') IS NULL THEN
    CREATE SCHEMA {prefix};
    v_created := v_created || 'schema'::text;
  END IF;

  CREATE TABLE IF NOT EXISTS {prefix}.oban_ts_migrations (
    version integer PRIMARY KEY,
    applied_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
    created text[] NOT NULL DEFAULT '{}'
  );

  -- Enum oban_job_state (§2): all 8 labels in Elixir order, or add the missing labels to the
  -- enum that oban_jobs.state actually uses (normally <prefix>.oban_job_state).
  v_enum := (SELECT a.atttypid::regtype FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = to_regclass('{prefix}.oban_jobs') AND a.attname = 'state' AND NOT a.attisdropped);
  IF v_enum IS NULL THEN
    v_enum := to_regtype('{prefix}.oban_job_state');
  END IF;

  IF v_enum IS NULL THEN
    CREATE TYPE {prefix}.oban_job_state AS ENUM (
      'available',
      'suspended',
      'scheduled',
      'executing',
      'retryable',
      'completed',
      'discarded',
      'cancelled'
    );
    v_created := v_created || 'oban_job_state'::text;
  ELSE
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_enum WHERE enumtypid = v_enum AND enumlabel = 'suspended') THEN
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_enum WHERE enumtypid = v_enum AND enumlabel = 'scheduled') THEN
        EXECUTE format('ALTER TYPE %s ADD VALUE IF NOT EXISTS %L BEFORE %L', v_enum, 'suspended', 'scheduled');
      ELSE
        EXECUTE format('ALTER TYPE %s ADD VALUE IF NOT EXISTS %L', v_enum, 'suspended');
      END IF;
      v_created := v_created || 'oban_job_state.suspended'::text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_enum WHERE enumtypid = v_enum AND enumlabel = 'cancelled') THEN
      EXECUTE format('ALTER TYPE %s ADD VALUE IF NOT EXISTS %L', v_enum, 'cancelled');
      v_created := v_created || 'oban_job_state.cancelled'::text;
    END IF;
  END IF;

  -- oban_jobs (§3, §4): the Elixir v14 shape, column order and names included, only when missing.
  -- non_negative_priority is created validated (Elixir's V12 added it NOT VALID to an existing
  -- table; on an empty new table a validated constraint is the same rule).
  IF to_regclass('{prefix}.oban_jobs') IS NULL THEN
    CREATE TABLE {prefix}.oban_jobs (
      id bigserial PRIMARY KEY,
      state {prefix}.oban_job_state NOT NULL DEFAULT 'available',
      queue text NOT NULL DEFAULT 'default',
      worker text NOT NULL,
      args jsonb NOT NULL DEFAULT '{}'::jsonb,
      errors jsonb[] NOT NULL DEFAULT ARRAY[]::jsonb[],
      attempt integer NOT NULL DEFAULT 0,
      max_attempts integer NOT NULL DEFAULT 20,
      inserted_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
      scheduled_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
      attempted_at timestamp without time zone,
      completed_at timestamp without time zone,
      attempted_by text[],
      discarded_at timestamp without time zone,
      priority integer NOT NULL DEFAULT 0,
      tags text[] DEFAULT ARRAY[]::text[],
      meta jsonb DEFAULT '{}'::jsonb,
      cancelled_at timestamp without time zone,
      CONSTRAINT worker_length CHECK (char_length(worker) > 0 AND char_length(worker) < 128),
      CONSTRAINT queue_length CHECK (char_length(queue) > 0 AND char_length(queue) < 128),
      CONSTRAINT positive_max_attempts CHECK (max_attempts > 0),
      CONSTRAINT attempt_range CHECK (attempt BETWEEN 0 AND max_attempts),
      CONSTRAINT non_negative_priority CHECK (priority >= 0)
    );

    CREATE INDEX oban_jobs_state_queue_priority_scheduled_at_id_index
      ON {prefix}.oban_jobs (state, queue, priority, scheduled_at, id);
    CREATE INDEX oban_jobs_args_index ON {prefix}.oban_jobs USING gin (args);
    CREATE INDEX oban_jobs_meta_index ON {prefix}.oban_jobs USING gin (meta);
    CREATE INDEX oban_jobs_state_cancelled_at_index ON {prefix}.oban_jobs (state, cancelled_at);
    CREATE INDEX oban_jobs_state_discarded_at_index ON {prefix}.oban_jobs (state, discarded_at);

    v_created := v_created || 'oban_jobs'::text;
  END IF;

  -- Leader table, Elixir shape (§11).
  IF to_regclass('{prefix}.oban_peers') IS NULL THEN
    CREATE UNLOGGED TABLE {prefix}.oban_peers (
      name text NOT NULL PRIMARY KEY,
      node text NOT NULL,
      started_at timestamp without time zone NOT NULL,
      expires_at timestamp without time zone NOT NULL
    );
    v_created := v_created || 'oban_peers'::text;
  END IF;

  -- Leader table, Oban.py shape (§11).
  IF to_regclass('{prefix}.oban_leaders') IS NULL THEN
    CREATE UNLOGGED TABLE {prefix}.oban_leaders (
      name text PRIMARY KEY DEFAULT 'oban',
      node text NOT NULL,
      elected_at timestamp without time zone NOT NULL,
      expires_at timestamp without time zone NOT NULL
    );
    v_created := v_created || 'oban_leaders'::text;
  END IF;

  -- Producers table, Oban.py shape (§12).
  IF to_regclass('{prefix}.oban_producers') IS NULL THEN
    CREATE UNLOGGED TABLE {prefix}.oban_producers (
      uuid uuid PRIMARY KEY,
      name text NOT NULL DEFAULT 'oban',
      node text NOT NULL,
      queue text NOT NULL,
      meta jsonb NOT NULL DEFAULT '{}'::jsonb,
      started_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
      updated_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now())
    );
    v_created := v_created || 'oban_producers'::text;
  END IF;

  INSERT INTO {prefix}.oban_ts_migrations (version, created)
  VALUES (1, v_created)
  ON CONFLICT (version) DO NOTHING;
END
$install$;
