import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AdminAccount, AdminRole, AdminStore, AuditEntry } from '../admin-types.js';
import { ensurePrivateDir, privateFile } from '../private-files.js';
import { adminMigrations, migrate } from './migrations.js';

interface AccountRow {
  name: string;
  role: AdminRole;
  tenant: string | null;
  password_hash: string;
  must_change: number;
  password_at: number;
  created_at: number;
}

interface SessionRow {
  id_hash: string;
  account: string;
  created_at: number;
  seen_at: number;
}

interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  subject: string | null;
  address: string | null;
}

/** The console's accounts, sessions and audit log: `admin.db` in `dataDir`, apart from contacts and calls. */
export function openAdminStore(dataDir: string): AdminStore {
  ensurePrivateDir(dataDir);
  const file = join(dataDir, 'admin.db');
  privateFile(file);
  for (const companion of ['-wal', '-shm']) privateFile(`${file}${companion}`, { create: false });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db, adminMigrations);

  const anyAccount = db.prepare<[], { one: number }>('SELECT 1 AS one FROM accounts LIMIT 1');
  const byName = db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE name = ?');
  const all = db.prepare<[], AccountRow>('SELECT * FROM accounts ORDER BY name');
  const insert = db.prepare(
    `INSERT INTO accounts (name, role, tenant, password_hash, must_change, password_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
  );
  const password = db.prepare(
    'UPDATE accounts SET password_hash = ?, must_change = ?, password_at = ? WHERE name = ?',
  );
  const endSessionsOf = db.prepare('DELETE FROM sessions WHERE account = ?');
  const remove = db.prepare('DELETE FROM accounts WHERE name = ?');
  const open = db.prepare('INSERT INTO sessions (id_hash, account, created_at, seen_at) VALUES (?, ?, ?, ?)');
  const byHash = db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id_hash = ?');
  const touch = db.prepare('UPDATE sessions SET seen_at = ? WHERE id_hash = ?');
  const end = db.prepare('DELETE FROM sessions WHERE id_hash = ?');
  const purge = db.prepare('DELETE FROM sessions WHERE seen_at < ? OR created_at < ?');
  const log = db.prepare('INSERT INTO audit (at, actor, action, subject, address) VALUES (?, ?, ?, ?, ?)');
  const newest = db.prepare<[number], AuditRow>('SELECT * FROM audit ORDER BY seq DESC LIMIT ?');
  const older = db.prepare<[number, number], AuditRow>(
    'SELECT * FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?',
  );

  return {
    async hasAccounts() {
      return anyAccount.get() !== undefined;
    },
    async account(name) {
      const row = byName.get(name);
      return row && toAccount(row);
    },
    async accounts() {
      return all.all().map(toAccount);
    },
    async addAccount(account) {
      const { changes } = insert.run(
        account.name,
        account.role,
        account.tenant ?? null,
        account.passwordHash,
        account.mustChange ? 1 : 0,
        account.passwordAt,
        account.createdAt,
      );
      return changes === 1;
    },
    async setPassword(name, hash, mustChange, now) {
      return db.transaction(() => {
        endSessionsOf.run(name);
        return password.run(hash, mustChange ? 1 : 0, now, name).changes === 1;
      })();
    },
    async removeAccount(name) {
      return db.transaction(() => {
        endSessionsOf.run(name);
        return remove.run(name).changes === 1;
      })();
    },
    async openSession(session) {
      open.run(session.idHash, session.account, session.createdAt, session.seenAt);
    },
    async session(idHash) {
      const row = byHash.get(idHash);
      return (
        row && { idHash: row.id_hash, account: row.account, createdAt: row.created_at, seenAt: row.seen_at }
      );
    },
    async touchSession(idHash, now) {
      touch.run(now, idHash);
    },
    async endSession(idHash) {
      end.run(idHash);
    },
    async purgeSessions(idleBefore, openedBefore) {
      return purge.run(idleBefore, openedBefore).changes;
    },
    async audit(entry) {
      log.run(entry.at, entry.actor, entry.action, entry.subject ?? null, entry.address ?? null);
    },
    async auditLog({ limit, before }) {
      const rows = before === undefined ? newest.all(limit + 1) : older.all(before, limit + 1);
      const entries = rows.slice(0, limit).map(toEntry);
      const last = entries.at(-1);
      return rows.length > limit && last ? { entries, next: last.seq } : { entries };
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

function toAccount(row: AccountRow): AdminAccount {
  return {
    name: row.name,
    role: row.role,
    ...(row.tenant !== null && { tenant: row.tenant }),
    passwordHash: row.password_hash,
    mustChange: row.must_change === 1,
    passwordAt: row.password_at,
    createdAt: row.created_at,
  };
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    ...(row.subject !== null && { subject: row.subject }),
    ...(row.address !== null && { address: row.address }),
  };
}
