import type pg from 'pg';
import type { AdminAccount, AdminRole, AdminStore } from '../admin-types.js';
import { inTransaction } from './pool.js';

interface AccountRow {
  name: string;
  role: AdminRole;
  tenant: string | null;
  password_hash: string;
  must_change: boolean;
  password_at: string;
  created_at: string;
}

/** The console's accounts, sessions and audit log in the tenant's schema `s` (quoted). */
export function createPostgresAdminStore(pool: pg.Pool, s: string): AdminStore {
  const toAccount = (row: AccountRow): AdminAccount => ({
    name: row.name,
    role: row.role,
    ...(row.tenant !== null && { tenant: row.tenant }),
    passwordHash: row.password_hash,
    mustChange: row.must_change,
    passwordAt: Number(row.password_at),
    createdAt: Number(row.created_at),
  });
  return {
    async hasAccounts() {
      const { rowCount } = await pool.query(`SELECT 1 FROM ${s}.admin_accounts LIMIT 1`);
      return (rowCount ?? 0) > 0;
    },
    async account(name) {
      const { rows } = await pool.query<AccountRow>(`SELECT * FROM ${s}.admin_accounts WHERE name = $1`, [
        name,
      ]);
      return rows[0] && toAccount(rows[0]);
    },
    async accounts() {
      const { rows } = await pool.query<AccountRow>(`SELECT * FROM ${s}.admin_accounts ORDER BY name`);
      return rows.map(toAccount);
    },
    async addAccount(account) {
      const { rowCount } = await pool.query(
        `INSERT INTO ${s}.admin_accounts (name, role, tenant, password_hash, must_change, password_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING`,
        [
          account.name,
          account.role,
          account.tenant ?? null,
          account.passwordHash,
          account.mustChange,
          account.passwordAt,
          account.createdAt,
        ],
      );
      return rowCount === 1;
    },
    async setPassword(name, hash, mustChange, now) {
      return inTransaction(pool, async (client) => {
        await client.query(`DELETE FROM ${s}.admin_sessions WHERE account = $1`, [name]);
        const { rowCount } = await client.query(
          `UPDATE ${s}.admin_accounts SET password_hash = $1, must_change = $2, password_at = $3 WHERE name = $4`,
          [hash, mustChange, now, name],
        );
        return rowCount === 1;
      });
    },
    async removeAccount(name) {
      return inTransaction(pool, async (client) => {
        await client.query(`DELETE FROM ${s}.admin_sessions WHERE account = $1`, [name]);
        const { rowCount } = await client.query(`DELETE FROM ${s}.admin_accounts WHERE name = $1`, [name]);
        return rowCount === 1;
      });
    },
    async openSession(session) {
      await pool.query(
        `INSERT INTO ${s}.admin_sessions (id_hash, account, created_at, seen_at) VALUES ($1, $2, $3, $4)`,
        [session.idHash, session.account, session.createdAt, session.seenAt],
      );
    },
    async session(idHash) {
      const { rows } = await pool.query<{
        id_hash: string;
        account: string;
        created_at: string;
        seen_at: string;
      }>(`SELECT * FROM ${s}.admin_sessions WHERE id_hash = $1`, [idHash]);
      const row = rows[0];
      return (
        row && {
          idHash: row.id_hash,
          account: row.account,
          createdAt: Number(row.created_at),
          seenAt: Number(row.seen_at),
        }
      );
    },
    async touchSession(idHash, now) {
      await pool.query(`UPDATE ${s}.admin_sessions SET seen_at = $1 WHERE id_hash = $2`, [now, idHash]);
    },
    async endSession(idHash) {
      await pool.query(`DELETE FROM ${s}.admin_sessions WHERE id_hash = $1`, [idHash]);
    },
    async purgeSessions(idleBefore, openedBefore) {
      const { rowCount } = await pool.query(
        `DELETE FROM ${s}.admin_sessions WHERE seen_at < $1 OR created_at < $2`,
        [idleBefore, openedBefore],
      );
      return rowCount ?? 0;
    },
    async audit(entry) {
      await pool.query(
        `INSERT INTO ${s}.admin_audit (at, actor, action, subject, address) VALUES ($1, $2, $3, $4, $5)`,
        [entry.at, entry.actor, entry.action, entry.subject ?? null, entry.address ?? null],
      );
    },
    async auditLog({ limit, before }) {
      const { rows } = await pool.query<{
        seq: string;
        at: string;
        actor: string;
        action: string;
        subject: string | null;
        address: string | null;
      }>(
        before === undefined
          ? `SELECT * FROM ${s}.admin_audit ORDER BY seq DESC LIMIT $1`
          : `SELECT * FROM ${s}.admin_audit WHERE seq < $2 ORDER BY seq DESC LIMIT $1`,
        before === undefined ? [limit + 1] : [limit + 1, before],
      );
      const entries = rows.slice(0, limit).map((row) => ({
        seq: Number(row.seq),
        at: Number(row.at),
        actor: row.actor,
        action: row.action,
        ...(row.subject !== null && { subject: row.subject }),
        ...(row.address !== null && { address: row.address }),
      }));
      const last = entries.at(-1);
      return rows.length > limit && last ? { entries, next: last.seq } : { entries };
    },
    // The pool is the store's: it is released with it.
    async close() {},
  };
}
