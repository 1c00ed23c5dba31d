import type pg from 'pg';
import { ident, inTransaction } from './pool.js';

/**
 * Schema versions of the PostgreSQL store, applied in order and recorded in `schema_version`.
 * Append new steps; never edit one that has shipped. A step only adds (tables, columns with
 * defaults, indexes), so that the version before keeps working on the new schema during a rolling
 * upgrade; what it no longer needs is removed by a later version, once no instance runs it.
 * Each step gets the tenant's schema, quoted.
 */
export type PostgresMigration = (schema: string) => string;

export const postgresMigrations: readonly PostgresMigration[] = [
  // Contacts: the key index is the one table a lookup reads by its primary key, joined to the contact.
  // Sources are stored by a small integer, which keeps that index narrow.
  (s) => `
    CREATE TABLE ${s}.sources (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL UNIQUE
    );
    CREATE TABLE ${s}.contacts (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      source integer NOT NULL,
      id text NOT NULL,
      name text,
      company text,
      contact_uri text,
      company_uri text,
      custom_data text,
      phones jsonb NOT NULL,
      updated_at bigint,
      UNIQUE (source, id)
    );
    CREATE TABLE ${s}.phone_keys (
      key text COLLATE "C" NOT NULL,
      source integer NOT NULL,
      contact bigint NOT NULL,
      position integer NOT NULL,
      PRIMARY KEY (key, source, contact)
    );
    CREATE TABLE ${s}.sync_state (
      source text PRIMARY KEY,
      state text NOT NULL
    );`,
  // The call journal. Ids sort byte by byte (as the embedded store does), whatever the database's collation.
  (s) => `
    CREATE TABLE ${s}.calls (
      id text COLLATE "C" PRIMARY KEY,
      workflow text NOT NULL,
      direction text,
      status text NOT NULL,
      contact_crm_id text,
      user_crm_id text,
      originator_number text,
      originator_name text,
      destination_number text,
      destination_name text,
      started_time text,
      answered_time text,
      ended_time text,
      declined_time text,
      duration_seconds integer,
      inputs jsonb NOT NULL,
      received_count integer NOT NULL,
      created_at text NOT NULL,
      updated_at text NOT NULL,
      started_at bigint NOT NULL,
      answer_id text
    );
    CREATE INDEX calls_by_time ON ${s}.calls (started_at, id);
    CREATE INDEX calls_by_contact ON ${s}.calls (contact_crm_id, started_at);
    -- RFC 7396 JSON merge patch: what a repeat of a call brings is merged into what is known.
    CREATE FUNCTION ${s}.json_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE
      merged jsonb;
      item record;
    BEGIN
      IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
        RETURN patch;
      END IF;
      merged := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}'::jsonb END;
      FOR item IN SELECT key, value FROM jsonb_each(patch) LOOP
        IF item.value = 'null'::jsonb THEN
          merged := merged - item.key;
        ELSE
          merged := jsonb_set(merged, ARRAY[item.key], ${s}.json_merge_patch(merged -> item.key, item.value));
        END IF;
      END LOOP;
      RETURN merged;
    END
    $$;`,
  // The outbox, as the embedded store's (src/store/README.md): seq gives the enqueue order, a running
  // row's next_at is its lease's end, and held marks an unfinished delivery behind an earlier one of
  // its order key, so that the ready index holds only what may run.
  (s) => `
    CREATE TABLE ${s}.deliveries (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id text NOT NULL UNIQUE,
      workflow text NOT NULL,
      call_id text NOT NULL,
      action integer NOT NULL,
      action_type text NOT NULL,
      order_key text NOT NULL,
      payload text NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'dead')),
      attempts integer NOT NULL,
      max_attempts integer NOT NULL,
      next_at bigint NOT NULL,
      held boolean NOT NULL,
      locked_by text,
      locked_until bigint,
      last_error text,
      result_id text,
      result_url text,
      update_of text,
      version integer NOT NULL DEFAULT 0,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL
    );
    CREATE INDEX deliveries_ready ON ${s}.deliveries (next_at, seq)
      WHERE status IN ('pending', 'running') AND NOT held;
    CREATE INDEX deliveries_open_by_order ON ${s}.deliveries (order_key, seq)
      WHERE status IN ('pending', 'running');
    CREATE INDEX deliveries_by_call ON ${s}.deliveries (workflow, call_id);
    CREATE INDEX deliveries_finished ON ${s}.deliveries (updated_at) WHERE status IN ('done', 'dead');
    CREATE INDEX deliveries_updates ON ${s}.deliveries (update_of, seq) WHERE update_of IS NOT NULL;
    CREATE INDEX deliveries_by_status ON ${s}.deliveries (status);`,
  // What callcard generates for itself (the access token, the key of call ids): one value for every instance.
  (s) => `
    CREATE TABLE ${s}.secrets (
      name text PRIMARY KEY,
      value text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );`,
  // OAuth connections: each one's sealed tokens (or why consent is needed) and its refresh lease;
  // consent requests waiting for the browser, under their single-use state.
  (s) => `
    CREATE TABLE ${s}.connections (
      name text PRIMARY KEY,
      sealed text,
      consent_needed text,
      updated_at bigint NOT NULL,
      lease_holder text,
      lease_until bigint
    );
    CREATE TABLE ${s}.pending_consents (
      state text PRIMARY KEY,
      connection text NOT NULL,
      sealed text NOT NULL,
      expires_at bigint NOT NULL
    );`,
];

/**
 * Brings the tenant's schema up to date. The first instance to start takes an advisory lock (one per
 * schema) and applies the missing steps in one transaction; the others wait for it, then find
 * nothing to do. A schema newer than this version's steps is used as it is (a rolling upgrade in
 * progress). Answers the schema's version.
 */
export async function migratePostgres(
  pool: pg.Pool,
  schema: string,
  steps: readonly PostgresMigration[] = postgresMigrations,
): Promise<number> {
  const s = ident(schema);
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `callcard.migrate\u001f${schema}`,
    ]);
    // Created only when missing: a role that owns its schema need not be allowed to create others.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${s}.schema_version (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number }>(
      `SELECT coalesce(max(version), 0) AS version FROM ${s}.schema_version`,
    );
    let version = rows[0]!.version;
    for (; version < steps.length; version++) {
      await client.query(steps[version]!(s));
      await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [version + 1]);
    }
    return version;
  });
}
