import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VNode } from 'preact';
import type { Tenant } from '../config/schema.js';
import type { ConfiguredSource, Lookup } from '../lookup/lookup.js';
import type { LookupActivity } from '../metrics/activity.js';
import type { AdminRole, AdminStore } from '../store/admin-types.js';
import type { OutboxStore } from '../store/outbox-types.js';
import type { CallJournal, ContactStore } from '../store/types.js';
import type { ThrottleOptions } from './throttle.js';
import type { PageContext } from './views/layout.js';

/** Everything one tenant's console reads and changes. */
export interface ConsoleOptions {
  readonly tenant: Readonly<Tenant>;
  /** The tenant's accounts, sessions and audit log. */
  readonly accounts: AdminStore;
  /** Partner accounts (every tenant), when they are kept apart from the tenant's. */
  readonly partners?: AdminStore;
  /** The lookup as the CONNECTOR's is made, but not counted in its figures. */
  readonly lookup: Lookup;
  readonly sources: readonly Pick<ConfiguredSource, 'name' | 'mode'>[];
  readonly contacts: Pick<ContactStore, 'count' | 'syncState' | 'search'>;
  readonly journal: CallJournal;
  readonly outbox: OutboxStore;
  /**
   * Starts syncing a mirrored source now (after any sync running); false when it is not mirrored.
   * The sync goes on after the answer: its outcome is the source's sync state.
   */
  readonly syncNow?: (source: string, full: boolean) => boolean;
  /**
   * Imports a CSV or vCard file (by its extension) into an embedded source, as `callcard import`
   * does: one transaction, all or nothing; `onEntry` and `onSkip` tell each entry as it is read.
   */
  readonly importContacts?: (
    file: string,
    options: {
      readonly source: string;
      readonly replace: boolean;
      readonly onEntry: (line: number) => void;
      readonly onSkip: (line: number, reason: string) => void;
    },
  ) => Promise<ContactImportSummary>;
  /** The sources contacts may be imported into (the embedded ones). */
  readonly importSources?: readonly string[];
  /** Where uploads wait while they are imported (a private folder); the system's temporary folder by default. */
  readonly uploadDir?: string;
  /** A mirrored source's sync waiting or running on this instance, with the entries read so far. */
  readonly syncUnderway?: (
    source: string,
  ) => { readonly state: 'waiting' | 'running'; readonly read: number } | undefined;
  /** The CONNECTOR's recent lookups. */
  readonly activity?: LookupActivity;
  /** The header sets the tenant accepts now (they change when token files change). */
  readonly credentials: () => readonly Readonly<Record<string, string>>[];
  /** Rotates the CONNECTOR's token from the console; absent when the tokens are set in the configuration. */
  readonly tokens?: TokenRotation;
  /** Hides configured secrets in text shown (a source's error may quote a URL with a password). */
  readonly redact: (text: string) => string;
  /** Binds the forms' tokens to the session; the same on every instance that serves the tenant. */
  readonly csrfKey: Buffer;
  /** For a partner: every tenant's console. */
  readonly tenants?: readonly { readonly name: string; readonly path: string }[];
  readonly idleTimeoutMs?: number;
  readonly maxSessionMs?: number;
  readonly throttle?: ThrottleOptions;
  readonly now?: () => number;
}

/**
 * The tokens the CONNECTOR may send, kept where the console can change them (the token callcard
 * generated, or the tenant's token file): a new one beside the old, then the old one retired.
 */
export interface TokenRotation {
  /** Where the tokens are kept, for people (a file, or the shared store). */
  readonly keptIn: string;
  /** The tokens accepted now, oldest first. */
  list(): Promise<string[]>;
  /** Makes a new token and keeps it after the others; it is accepted at once, and so are they. Answers it. */
  add(): Promise<string>;
  /** Stops accepting `token`; refused (false) when it is the only one, or not one of them. */
  retire(token: string): Promise<boolean>;
}

/** What an import did, as `callcard import` reports it. */
export interface ContactImportSummary {
  readonly read: number;
  readonly imported: number;
  readonly skipped: number;
  readonly removed: number;
}

/** The signed-in account, as the console's routes see it. */
export interface ConsoleUser {
  readonly name: string;
  readonly role: AdminRole;
  readonly mustChange: boolean;
  /** SHA-256 of the session cookie's value. */
  readonly session: string;
  /** Where the account is kept (the tenant's accounts, or the partners'). */
  readonly store: AdminStore;
}

/** What each page module gets: the options, the page context and the audit. */
export interface ConsoleKit {
  readonly options: ConsoleOptions;
  readonly now: () => number;
  readonly base: string;
  /** callcard's version, as released. */
  readonly version: string;
  context(request: FastifyRequest, reply: FastifyReply): PageContext;
  audit(request: FastifyRequest, action: string, subject?: string): Promise<void>;
  /** Sends a page of HTML. */
  send(reply: FastifyReply, page: VNode, status?: number): FastifyReply;
  /** The 403 page for a viewer who may not do this. */
  forbid(request: FastifyRequest, reply: FastifyReply): FastifyReply;
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleUser?: ConsoleUser;
  }
  interface FastifyContextConfig {
    /** Served without a session (sign-in, assets). */
    open?: boolean;
    /** Changes something: refused to read-only accounts. */
    change?: boolean;
    /** Served while the password must still be changed. */
    beforePassword?: boolean;
  }
}
