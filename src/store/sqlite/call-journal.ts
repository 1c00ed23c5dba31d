import type Database from 'better-sqlite3';
import type { CallJournal, CallRecord, NewCallRecord } from '../types.js';

interface CallRow {
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
  inputs: string;
  received_count: number;
  created_at: string;
  updated_at: string;
}

const CALL_FIELDS = [
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

/** The call journal: one row per call and workflow, completed by later deliveries of the same call. */
export function createCallJournal(db: Database.Database): CallJournal {
  const columns = CALL_FIELDS.map(([, column]) => column);
  const merged = columns.filter((column) => column !== 'status');
  // A repeat keeps what was known and takes every value the new delivery brings.
  const upsert = db.prepare<unknown[], CallRow>(`
    INSERT INTO calls (id, workflow, ${columns.join(', ')}, inputs, received_count, created_at, updated_at)
    VALUES (?, ?, ${columns.map(() => '?').join(', ')}, ?, 1, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
      ${merged.map((c) => `${c} = COALESCE(excluded.${c}, ${c})`).join(',\n      ')},
      status = CASE WHEN COALESCE(excluded.answered_time, answered_time) IS NULL THEN 'missed' ELSE 'answered' END,
      inputs = json_patch(inputs, excluded.inputs),
      received_count = received_count + 1,
      updated_at = excluded.updated_at
    RETURNING *`);
  const byId = db.prepare<[string], CallRow>('SELECT * FROM calls WHERE id = ?');

  return {
    async record(call) {
      const now = new Date().toISOString();
      const row = upsert.get(
        call.id,
        call.workflow,
        ...CALL_FIELDS.map(([field]) => call[field] ?? null),
        JSON.stringify(call.inputs),
        now,
        now,
      )!;
      return { record: toCall(row), created: row.received_count === 1 };
    },
    async get(id) {
      const row = byId.get(id);
      return row && toCall(row);
    },
  };
}

function toCall(row: CallRow): CallRecord {
  const record: Record<string, unknown> = {
    id: row.id,
    workflow: row.workflow,
    inputs: JSON.parse(row.inputs),
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
