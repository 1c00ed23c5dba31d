/**
 * The console's accounts, their sessions and the audit log, kept in a tenant's data directory
 * (partner accounts in the instance's). Methods are async so that a networked store can stand behind
 * the same interface.
 */

/** partner: every tenant; tenant: its own tenant; read-only: sees its tenant, changes nothing. */
export type AdminRole = 'partner' | 'tenant' | 'read-only';

export const ADMIN_ROLES: readonly AdminRole[] = ['partner', 'tenant', 'read-only'];

export interface AdminAccount {
  readonly name: string;
  readonly role: AdminRole;
  /** The tenant a tenant or read-only account belongs to; absent for a partner. */
  readonly tenant?: string;
  /** `scrypt$N$r$p$salt$hash`: the parameters are kept with the hash. */
  readonly passwordHash: string;
  /** The password was printed by the command line: it must be changed at the first sign-in. */
  readonly mustChange: boolean;
  /** Epoch ms the password was set: sessions opened before it are over. */
  readonly passwordAt: number;
  readonly createdAt: number;
}

export interface AdminSession {
  /** SHA-256 of the cookie's value: the store never holds a usable session id. */
  readonly idHash: string;
  readonly account: string;
  readonly createdAt: number;
  /** Epoch ms of the last request: the idle timeout counts from it. */
  readonly seenAt: number;
}

export interface AuditEntry {
  readonly seq: number;
  /** Epoch ms. */
  readonly at: number;
  /** The account, or `-` for a sign-in with an unknown name. */
  readonly actor: string;
  /** A fixed word: `sign-in`, `sign-in-failed`, `sign-out`, `delivery-retry`, `token-reveal`... */
  readonly action: string;
  /** What it was done to (a delivery id, a masked number); never a secret. */
  readonly subject?: string;
  readonly address?: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'seq'>;

export interface AuditPage {
  /** Newest first. */
  readonly entries: AuditEntry[];
  /** Present when older entries exist: pass it as `before`. */
  readonly next?: number;
}

export interface AdminStore {
  /** True when at least one account exists (the console is off until then). */
  hasAccounts(): Promise<boolean>;
  account(name: string): Promise<AdminAccount | undefined>;
  accounts(): Promise<AdminAccount[]>;
  /** Adds an account; false when the name is taken. */
  addAccount(account: AdminAccount): Promise<boolean>;
  /** Sets a new password hash (ending the account's sessions); false when there is no such account. */
  setPassword(name: string, passwordHash: string, mustChange: boolean, now: number): Promise<boolean>;
  /** Removes an account and its sessions; false when there was none. */
  removeAccount(name: string): Promise<boolean>;
  openSession(session: AdminSession): Promise<void>;
  session(idHash: string): Promise<AdminSession | undefined>;
  touchSession(idHash: string, now: number): Promise<void>;
  endSession(idHash: string): Promise<void>;
  /** Removes sessions last seen before `idleBefore` or opened before `openedBefore`. */
  purgeSessions(idleBefore: number, openedBefore: number): Promise<number>;
  audit(entry: NewAuditEntry): Promise<void>;
  /** Entries newest first, `limit` at a time; `before` continues from a page's `next`. */
  auditLog(query: { readonly limit: number; readonly before?: number }): Promise<AuditPage>;
  close(): Promise<void>;
}
