import type pg from 'pg';
import type { CredentialStore, PendingConsent } from '../credential-types.js';

interface ConnectionRow {
  sealed: string | null;
  consent_needed: string | null;
  updated_at: string;
}

/**
 * OAuth connections in the tenant's schema `s` (quoted), shared by every instance. A lease is taken
 * in one statement that only a free, ended or own lease lets through: two instances never both get it.
 */
export function createPostgresCredentialStore(
  pool: pg.Pool,
  s: string,
  now: () => number = Date.now,
): CredentialStore {
  return {
    async read(name) {
      const { rows } = await pool.query<ConnectionRow>(
        `SELECT sealed, consent_needed, updated_at FROM ${s}.connections WHERE name = $1`,
        [name],
      );
      const row = rows[0];
      if (!row || (row.sealed === null && row.consent_needed === null)) return undefined;
      return {
        ...(row.sealed !== null && { sealed: row.sealed }),
        ...(row.consent_needed !== null && { consentNeeded: row.consent_needed }),
        updatedAt: Number(row.updated_at),
      };
    },
    async save(name, sealed) {
      await pool.query(
        `INSERT INTO ${s}.connections (name, sealed, consent_needed, updated_at) VALUES ($1, $2, NULL, $3)
         ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, consent_needed = NULL,
           updated_at = excluded.updated_at`,
        [name, sealed, now()],
      );
    },
    async markConsentNeeded(name, reason) {
      await pool.query(
        `INSERT INTO ${s}.connections (name, sealed, consent_needed, updated_at) VALUES ($1, NULL, $2, $3)
         ON CONFLICT (name) DO UPDATE SET sealed = NULL, consent_needed = excluded.consent_needed,
           updated_at = excluded.updated_at`,
        [name, reason, now()],
      );
    },
    async lease(name, holder, until) {
      const at = now();
      const { rowCount } = await pool.query(
        `INSERT INTO ${s}.connections AS c (name, updated_at, lease_holder, lease_until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET lease_holder = excluded.lease_holder, lease_until = excluded.lease_until
           WHERE c.lease_holder IS NULL OR c.lease_holder = excluded.lease_holder
              OR coalesce(c.lease_until, 0) <= $2`,
        [name, at, holder, until],
      );
      return (rowCount ?? 0) > 0;
    },
    async release(name, holder) {
      await pool.query(
        `UPDATE ${s}.connections SET lease_holder = NULL, lease_until = NULL WHERE name = $1 AND lease_holder = $2`,
        [name, holder],
      );
    },
    async addPending(state, pending: PendingConsent) {
      await pool.query(`DELETE FROM ${s}.pending_consents WHERE expires_at < $1`, [now()]);
      await pool.query(
        `INSERT INTO ${s}.pending_consents (state, connection, sealed, expires_at) VALUES ($1, $2, $3, $4)`,
        [state, pending.connection, pending.sealed, pending.expiresAt],
      );
    },
    async takePending(state, at) {
      const { rows } = await pool.query<{ connection: string; sealed: string; expires_at: string }>(
        `DELETE FROM ${s}.pending_consents WHERE state = $1 RETURNING connection, sealed, expires_at`,
        [state],
      );
      const row = rows[0];
      if (!row || Number(row.expires_at) <= at) return undefined;
      return { connection: row.connection, sealed: row.sealed, expiresAt: Number(row.expires_at) };
    },
  };
}
