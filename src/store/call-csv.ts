import { parseIsoTime } from '../util/time.js';
import type { CallRecord } from './types.js';

/**
 * The call journal as CSV (RFC 4180, a header row, ISO times): what `callcard calls --csv` and the
 * console's export write, the same columns for both.
 */

/** The call's time: its start, or when it was first recorded if the CONNECTOR sent none. */
export function callTimeOf(call: CallRecord): number {
  return (call.startedTime ? parseIsoTime(call.startedTime) : undefined) ?? Date.parse(call.createdAt);
}

/** A time the CONNECTOR sent, as ISO UTC; kept as sent if it cannot be read. */
function isoOf(value: string | undefined): string {
  if (value === undefined) return '';
  const ms = parseIsoTime(value);
  return ms === undefined ? value : new Date(ms).toISOString();
}

export const CSV_HEADER = [
  'id',
  'workflow',
  'time',
  'direction',
  'status',
  'originatorNumber',
  'originatorName',
  'destinationNumber',
  'destinationName',
  'contactCrmId',
  'userCrmId',
  'startedTime',
  'answeredTime',
  'endedTime',
  'declinedTime',
  'durationSeconds',
  'receivedCount',
  'createdAt',
  'updatedAt',
];

/** One call's fields; `display` shows a number (in full, or masked). */
export function csvRow(
  call: CallRecord,
  { display }: { readonly display: (raw: string | undefined) => string },
): string[] {
  return [
    call.id,
    call.workflow,
    new Date(callTimeOf(call)).toISOString(),
    call.direction ?? '',
    call.status,
    display(call.originatorNumber),
    call.originatorName ?? '',
    display(call.destinationNumber),
    call.destinationName ?? '',
    call.contactCrmId ?? '',
    call.userCrmId ?? '',
    isoOf(call.startedTime),
    isoOf(call.answeredTime),
    isoOf(call.endedTime),
    isoOf(call.declinedTime),
    call.durationSeconds === undefined ? '' : String(call.durationSeconds),
    String(call.receivedCount),
    call.createdAt,
    call.updatedAt,
  ];
}

/**
 * One CSV record (RFC 4180), CRLF included: a field with a comma, a double quote, CR or LF is
 * quoted, its quotes doubled. Other fields go as they are.
 */
export function csvLine(fields: readonly string[]): string {
  return `${fields.map((field) => (/[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field)).join(',')}\r\n`;
}
