/**
 * How the sql action logs a call in a CRM whose schema callcard knows. Every row's key is derived
 * from the delivery id, and every insert leaves an existing row alone: a delivery retried after a
 * crash (between the statements, or after the commit but before the outbox heard of it) writes
 * nothing twice, and answers the same record. vtiger, whose ids come from a sequence, cannot be
 * written this way: its preset is a transaction with a marker row, in sql-vtiger.ts.
 */
import type { CallParameters } from './sql-parameters.js';

export type CallPresetName = 'suitecrm' | 'sugarcrm';

export interface PresetStatement {
  readonly sql: string;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface CallPreset {
  /** The inserts, in order; each is a no-op when its row exists. */
  statements(call: CallParameters, ids: { link: string }): PresetStatement[];
  /** The changes of a call logged before (the record `call.recordId`), each a no-op when nothing changed. */
  update(call: CallParameters, ids: { link: string }): PresetStatement[];
  /** The record's page, under the CRM's address (no trailing slash). */
  recordUrl(base: string, id: string): string;
}

/** SuiteCRM's `calls.name` is varchar(50). */
const SUITE_NAME_LENGTH = 50;

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** The columns of a SuiteCRM Call, as the insert and the update write them. */
function callValues(call: CallParameters) {
  const minutes = call.durationMinutes;
  return {
    id: call.recordId,
    name: truncate(call.subject, SUITE_NAME_LENGTH),
    now: call.nowUtc,
    user: call.userId,
    description: call.description,
    hours: Math.floor(minutes / 60),
    minutes: minutes % 60,
    start: call.startedAtUtc,
    end: call.endedAtUtc,
    parentType: call.contactId === null ? null : 'Contacts',
    parentId: call.contactId,
    status: call.status === 'answered' ? 'Held' : 'Not Held',
    direction: call.direction === 'incoming' ? 'Inbound' : call.direction === 'outgoing' ? 'Outbound' : null,
  };
}

/**
 * SuiteCRM 7 / SugarCRM CE 6.5 (MySQL/MariaDB): a Call in `calls` (times in UTC, duration split
 * into hours and minutes, status Held or Not Held, related to the contact through parent_type and
 * parent_id) and the contact as its participant in `calls_contacts`, which is what the contact's
 * History subpanel lists. Neither table has a unique key other than `id` (calls_contacts'
 * (call_id, contact_id) index is not unique), hence ids derived from the delivery.
 */
const suiteCrm: CallPreset = {
  statements(call, ids) {
    const statements: PresetStatement[] = [
      {
        sql: `INSERT INTO calls (id, name, date_entered, date_modified, modified_user_id, created_by, description,
            deleted, assigned_user_id, duration_hours, duration_minutes, date_start, date_end, parent_type, parent_id,
            status, direction, reminder_time, email_reminder_time, email_reminder_sent, repeat_interval)
          VALUES (:id, :name, :now, :now, :user, :user, :description,
            0, :user, :hours, :minutes, :start, :end, :parentType, :parentId,
            :status, :direction, -1, -1, 0, 1)
          ON DUPLICATE KEY UPDATE id = id`,
        values: callValues(call),
      },
    ];
    if (call.contactId !== null) {
      statements.push({
        sql: `INSERT INTO calls_contacts (id, call_id, contact_id, required, accept_status, date_modified, deleted)
          VALUES (:id, :call, :contact, '1', 'none', :now, 0)
          ON DUPLICATE KEY UPDATE id = id`,
        values: { id: ids.link, call: call.recordId, contact: call.contactId, now: call.nowUtc },
      });
    }
    return statements;
  },
  update(call, ids) {
    const statements: PresetStatement[] = [
      {
        // The Call as it is now; its relation to a contact is kept when the call no longer finds one.
        sql: `UPDATE calls SET name = :name, date_modified = :now, modified_user_id = COALESCE(:user, modified_user_id),
            description = :description, duration_hours = :hours, duration_minutes = :minutes, date_start = :start,
            date_end = :end, parent_type = COALESCE(:parentType, parent_type), parent_id = COALESCE(:parentId, parent_id),
            status = :status, direction = COALESCE(:direction, direction)
          WHERE id = :id AND deleted = 0`,
        values: callValues(call),
      },
    ];
    // A contact found now (and not before) becomes a participant; the link's id is the first delivery's.
    const [, link] = suiteCrm.statements(call, ids);
    if (link) statements.push(link);
    return statements;
  },
  recordUrl: (base, id) =>
    `${base}/index.php?module=Calls&action=DetailView&record=${encodeURIComponent(id)}`,
};

export const callPresets: Readonly<Record<CallPresetName, CallPreset>> = {
  suitecrm: suiteCrm,
  sugarcrm: suiteCrm,
};
