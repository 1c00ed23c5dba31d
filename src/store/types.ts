import type { CountryCode } from 'libphonenumber-js/max';
import type { MatchKey } from '../phone/index.js';
import type { AdminStore } from './admin-types.js';
import type { CredentialStore } from './credential-types.js';
import type { Delivery, OutboxStore, Submission } from './outbox-types.js';

/** A number of a contact, with its canonical key computed once when written. */
export interface PhoneEntry {
  readonly key: MatchKey;
  readonly raw: string;
  /** Where the number came from ("mobile", "Phone (work)"); kept for display and ranking. */
  readonly label?: string;
}

/** A contact as sources and imports write it into the local index. */
export interface ContactRecord {
  readonly id: string;
  readonly name?: string;
  readonly company?: string;
  readonly contactUri?: string;
  readonly companyUri?: string;
  readonly customData?: Readonly<Record<string, string>>;
  /** The first entry is the contact's main number. */
  readonly phones: readonly PhoneEntry[];
  /** Epoch milliseconds of the last change or activity, used to rank equal matches. */
  readonly updatedAt?: number;
}

/** A contact found for a key. */
export interface ContactMatch extends Omit<ContactRecord, 'phones'> {
  /** True when the matched number is the contact's main (first) number. */
  readonly primary: boolean;
}

/** What an import's commit wrote and removed. */
export interface ImportCounts {
  readonly contacts: number;
  readonly removed: number;
}

export interface ImportSession {
  /** Writes a batch; a record whose id exists in the source replaces it. */
  write(records: readonly ContactRecord[]): Promise<void>;
  /** Removes contacts by id; answers how many there were. */
  remove(ids: readonly string[]): Promise<number>;
  /**
   * Makes the import visible at once; with `replace`, rows not written in this session are gone.
   * Answers how many contact records were written (one written twice counts twice), and how many
   * contacts that were there before are gone (removed by id, or not written again by a replace).
   * With `syncState`, the source's sync state it makes of those counts is saved in the same
   * transaction: a cursor or a delta link is never kept without the contacts it led to.
   */
  commit(syncState?: (counts: ImportCounts) => SyncState): Promise<ImportCounts>;
  /** Leaves the store as it was before the session. */
  abort(): Promise<void>;
}

/** Which contacts to find: by the start of their name or company, or by a number's key. */
export interface ContactSearch {
  /**
   * Contacts whose name, or else company, starts with this; A to Z in any case, other letters as
   * written. Listed by that name or company, then in the order they were added.
   */
  readonly text?: string;
  /** Instead: the contacts that have a number with this key. */
  readonly key?: MatchKey;
  readonly limit: number;
  /** Continues a listing by text: the `next` of the previous page. */
  readonly after?: string;
}

/** A contact as stored, with the source it is in. */
export interface FoundContact extends ContactRecord {
  readonly source: string;
}

export interface ContactSearchPage {
  readonly contacts: FoundContact[];
  /** Present when more contacts match: pass it as `after` for the next page. */
  readonly next?: string;
}

/**
 * The local contact index: every source's contacts, keyed by canonical number. Methods are async so
 * that a networked store can stand behind the same interface; the embedded one answers from SQLite.
 */
export interface ContactStore {
  findByKey(source: string, key: MatchKey, limit: number): Promise<ContactMatch[]>;
  /** Contacts of every source in the index, one page at a time, read through indexes only. */
  search(query: ContactSearch): Promise<ContactSearchPage>;
  count(source?: string): Promise<number>;
  beginImport(source: string, options: { replace: boolean }): Promise<ImportSession>;
  syncState(source: string): Promise<SyncState | undefined>;
  saveSyncState(source: string, state: SyncState): Promise<void>;
  /**
   * A store shared by several instances: runs `work` holding the source's sync lock, which all of
   * them share, and answers `{ ran: false }` at once, without running it, while another holds it.
   * The lock goes with its holder's connection: an instance that dies lets it go. The embedded
   * store, one instance's, has none.
   */
  exclusively?<T>(source: string, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
}

/** How a mirrored source's last syncs went; kept with the index it describes. */
export interface SyncState {
  /** Epoch ms of the last attempt, successful or not. */
  readonly attemptedAt?: number;
  readonly succeededAt?: number;
  /** Last full listing, which also removed contacts deleted in the source. */
  readonly fullAt?: number;
  /** Latest change time seen: the next incremental sync asks for what changed after it. */
  readonly cursor?: number;
  readonly durationMs?: number;
  /** Contacts written by the last sync. */
  readonly written?: number;
  /** The source's fingerprint at the last sync, when it gives one. */
  readonly version?: string;
  /**
   * The source's own place in its changes (Graph's delta links, the People API's sync tokens,
   * Dataverse's delta links), by listing: saved with the contacts the listing wrote, so that the
   * next sync, in this process or another, asks for the changes since.
   */
  readonly changeTokens?: Readonly<Record<string, string>>;
  /** The last attempt's error; absent when it succeeded. */
  readonly error?: string;
}

export type CallDirection = 'incoming' | 'outgoing';

/** A call as the journal keeps it; `inputs` holds every field the CONNECTOR sent. */
export interface CallRecord {
  readonly id: string;
  readonly workflow: string;
  readonly direction?: CallDirection;
  readonly status: 'answered' | 'missed';
  readonly contactCrmId?: string;
  readonly userCrmId?: string;
  readonly originatorNumber?: string;
  readonly originatorName?: string;
  readonly destinationNumber?: string;
  readonly destinationName?: string;
  readonly startedTime?: string;
  readonly answeredTime?: string;
  readonly endedTime?: string;
  readonly declinedTime?: string;
  /** Seconds from answer to end, when both are known. */
  readonly durationSeconds?: number;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly receivedCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type NewCallRecord = Omit<CallRecord, 'receivedCount' | 'createdAt' | 'updatedAt'>;

/**
 * Which calls to list. Times are the call's start (`startedTime`; the time it was first recorded
 * when the CONNECTOR sent none).
 */
export interface CallQuery {
  /** Calls that started at or after this. */
  readonly from?: Date;
  /** Calls that started before this. */
  readonly to?: Date;
  readonly direction?: CallDirection;
  readonly status?: CallRecord['status'];
  readonly contactCrmId?: string;
  /**
   * Calls whose originator or destination number, read as the telephone system sends numbers
   * (`incomingKey` in `region`), has this key.
   */
  readonly number?: { readonly key: MatchKey; readonly region: CountryCode };
  /** Most calls answered in one page. */
  readonly limit: number;
  /** Continues a listing: the `next` of the previous page. */
  readonly after?: string;
}

export interface CallPage {
  /** Newest first. */
  readonly calls: CallRecord[];
  /** Present when more calls match: pass it as `after` for the next page. */
  readonly next?: string;
}

export interface CallJournal {
  /** Records a call once per id: a repeat updates the record and counts the delivery. */
  record(call: NewCallRecord): Promise<{ readonly record: CallRecord; readonly created: boolean }>;
  get(id: string): Promise<CallRecord | undefined>;
  /**
   * Keeps `answerId` as the id answered for the call, unless an earlier answer kept one: answers
   * the id kept, the same for every repeat of the call.
   */
  answer(id: string, answerId: string): Promise<string>;
  /** Calls matching the query, newest first, one page at a time. */
  list(query: CallQuery): Promise<CallPage>;
  /** Removes the calls that started before `olderThan`; answers how many there were. */
  purge(olderThan: Date): Promise<number>;
}

/** What callcard generates for itself once and keeps: the access token, the key of call ids. */
export interface SecretStore {
  /**
   * The value kept under `name`; when there is none yet, `make`'s, kept for good (when several
   * processes get there at once, the first one's, answered to all). `keptIn` says where, for people.
   */
  ensure(
    name: string,
    make: () => string,
  ): Promise<{
    readonly value: string;
    readonly created: boolean;
    readonly keptIn: string;
    readonly file?: string;
  }>;
  /** Keeps `value` under `name` in place of what was there (a token rotated from the console). */
  write(name: string, value: string): Promise<void>;
}

/** The call journal and the outbox written together. */
export interface CallIntake {
  /**
   * Records the call (as `CallJournal.record` does) and, in the same write transaction, submits the
   * deliveries that `deliveriesFor` makes of it (as `OutboxStore.submit` does), given the call as
   * recorded and its deliveries so far: one commit for both, and no post of the call in between.
   */
  recordWithDeliveries(
    call: NewCallRecord,
    deliveriesFor: (record: CallRecord, before: readonly Delivery[]) => readonly Submission[],
    now: number,
  ): Promise<{ readonly record: CallRecord; readonly created: boolean }>;
}

export interface Store {
  readonly contacts: ContactStore;
  readonly calls: CallJournal;
  /** A call and its deliveries in one transaction. */
  readonly intake: CallIntake;
  /** The workflows' deliveries, kept beside the call journal they follow. */
  readonly outbox: OutboxStore;
  /** The console's accounts, sessions and audit log. */
  readonly admin: AdminStore;
  readonly secrets: SecretStore;
  /** OAuth connections: sealed tokens, consent requests, refresh leases. */
  readonly credentials: CredentialStore;
  /**
   * A store shared by several instances: runs `task` on one of them, once a period (retention
   * purges). `work` runs only when no instance holds the task now (an advisory lock) and none ran it
   * within the period; answers whether it ran here. The embedded store, one instance's, has none.
   */
  once?(task: string, periodMs: number, work: () => Promise<void>, now?: () => number): Promise<boolean>;
  close(): Promise<void>;
}
