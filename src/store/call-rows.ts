import type { CountryCode } from 'libphonenumber-js/max';
import { cleanNumber } from '../phone/clean.js';
import type { CallRecord, NewCallRecord } from './types.js';

// The call journal's row and how it becomes a record: the same for every store.

export interface CallRow {
  id: string;
  workflow: string;
  direction: 'incoming' | 'outgoing' | null;
  status: 'answered' | 'missed';
  contact_crm_id: string | null;
  user_crm_id: string | null;
  originator_number: string | null;
  originator_name: string | null;
  destination_number: string | null;
  destination_name: string | null;
  started_time: string | null;
  answered_time: string | null;
  ended_time: string | null;
  declined_time: string | null;
  duration_seconds: number | null;
  /** JSON text, or the value itself where the database parses it. */
  inputs: string | Record<string, unknown>;
  received_count: number;
  created_at: string;
  updated_at: string;
  started_at: number | string | null;
}

export const CALL_FIELDS = [
  ['direction', 'direction'],
  ['status', 'status'],
  ['contactCrmId', 'contact_crm_id'],
  ['userCrmId', 'user_crm_id'],
  ['originatorNumber', 'originator_number'],
  ['originatorName', 'originator_name'],
  ['destinationNumber', 'destination_number'],
  ['destinationName', 'destination_name'],
  ['startedTime', 'started_time'],
  ['answeredTime', 'answered_time'],
  ['endedTime', 'ended_time'],
  ['declinedTime', 'declined_time'],
  ['durationSeconds', 'duration_seconds'],
] as const satisfies readonly (readonly [keyof NewCallRecord, keyof CallRow])[];

/**
 * Trailing digits compared before a number is parsed. Whatever form a number takes (international,
 * "00", national with trunk prefix, "(0)"), the last digits of its E.164 key stay its last digits:
 * only what is before them changes. So a stored number whose digits do not end with them cannot have
 * the key, and most rows are passed over without parsing.
 */
const NUMBER_SUFFIX = 7;

/** The trailing digits of a key that a stored number must end with to have it. */
export const numberSuffix = (key: string) => key.replace(/^[+#]/, '').slice(-NUMBER_SUFFIX);

/**
 * Number parsing (libphonenumber), loaded by the first listing that filters by number: commands that
 * open the store for anything else do not load it.
 */
let numberReader: typeof import('../phone/keys.js') | undefined;

/** Loads number parsing for `sameNumber`; a listing by number awaits it first. */
export async function loadNumberReader(): Promise<void> {
  numberReader ??= await import('../phone/keys.js');
}

/** 1 when `raw`, read as the telephone system sends numbers, has `key` (after `loadNumberReader`). */
export function sameNumber(raw: unknown, key: unknown, suffix: unknown, region: unknown): number {
  if (typeof raw !== 'string' || typeof key !== 'string' || typeof suffix !== 'string') return 0;
  if (!cleanNumber(raw).digits.endsWith(suffix)) return 0;
  if (!numberReader) throw new Error('callcard_same_number: number reading is not loaded');
  return numberReader.incomingKey(raw, region as CountryCode) === key ? 1 : 0;
}

export function toCall(row: CallRow): CallRecord {
  const record: Record<string, unknown> = {
    id: row.id,
    workflow: row.workflow,
    inputs: typeof row.inputs === 'string' ? JSON.parse(row.inputs) : row.inputs,
    receivedCount: row.received_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  for (const [field, column] of CALL_FIELDS) {
    const value = row[column];
    if (value !== null) record[field] = value;
  }
  return record as unknown as CallRecord;
}
