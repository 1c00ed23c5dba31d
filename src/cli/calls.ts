import type { Command } from 'commander';
import type { CountryCode } from 'libphonenumber-js/max';
import { openTenantStore } from '../core/open-store.js';
import type { CallDirection, CallQuery, CallRecord } from '../store/types.js';
import { parseIsoTime } from '../util/time.js';
import { isoTime, usageError } from './flags.js';
import { table } from './format.js';
import { type CommandIo, write } from './io.js';
import { loadTenant, type TenantOptions } from './load.js';

export type CommonOptions = TenantOptions;

export {
  exitOnUsageError,
  fromDate,
  isoTime,
  parseDateRange,
  positiveInteger,
  toDate,
  usageError,
} from './flags.js';

// ---------------------------------------------------------------------------------------------
// Showing calls.

/** How a number is listed. */
export type NumberDisplay = (raw: string | undefined) => string;

/**
 * Numbers as listed: masked (country and area code and the last two digits readable,
 * "+41 21 *** ** 00") unless `show`; then as the CONNECTOR sent them. A withheld number
 * ("anonymous") has no digits to hide and is shown as it is. Number parsing is loaded only to mask.
 */
export async function numberDisplay(region: CountryCode, show: boolean): Promise<NumberDisplay> {
  if (show) return (raw) => raw ?? '';
  const { incomingKey, maskNumber } = await import('../phone/index.js');
  return (raw) => (raw === undefined ? '' : maskNumber(incomingKey(raw, region) ?? raw));
}

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

function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export interface ShowOptions {
  readonly display: NumberDisplay;
}

export const TABLE_HEADER = [
  'TIME',
  'WORKFLOW',
  'DIRECTION',
  'STATUS',
  'FROM',
  'TO',
  'CONTACT',
  'DURATION',
  'ID',
];

export function tableRow(call: CallRecord, { display }: ShowOptions): string[] {
  const party = (number: string | undefined, name: string | undefined) => {
    const shown = display(number);
    return name ? (shown ? `${shown} (${name})` : name) : shown || '-';
  };
  return [
    isoTime(callTimeOf(call)),
    // The same call posted to several workflows is one row per workflow.
    call.workflow,
    call.direction ?? '-',
    call.status,
    party(call.originatorNumber, call.originatorName),
    party(call.destinationNumber, call.destinationName),
    call.contactCrmId ?? '-',
    duration(call.durationSeconds),
    call.id,
  ];
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

export function csvRow(call: CallRecord, { display }: ShowOptions): string[] {
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

// ---------------------------------------------------------------------------------------------
// The commands.

export interface CallsOptions extends CommonOptions {
  readonly from?: Date;
  readonly to?: Date;
  readonly direction?: CallDirection;
  readonly contact?: string;
  readonly number?: string;
  readonly status?: 'answered' | 'missed';
  readonly limit?: number;
  readonly showNumbers?: boolean;
  readonly csv?: boolean;
}

/** Calls listed when --limit is not given (a CSV export has no default limit). */
export const DEFAULT_CALLS = 50;
/** Calls read per page while exporting. */
const PAGE = 1000;

/** `callcard calls`: the journal, newest first, numbers masked unless --show-numbers. */
export async function callsCommand(options: CallsOptions, command: Command, io: CommandIo): Promise<void> {
  const { tenant } = loadTenant(options, io);
  if (options.from && options.to && options.from.getTime() >= options.to.getTime()) {
    usageError(command, '--from must be before --to');
  }
  let number: CallQuery['number'];
  if (options.number !== undefined) {
    const { incomingKey } = await import('../phone/index.js');
    const key = incomingKey(options.number, tenant.region);
    if (!key) usageError(command, `--number "${options.number}" is not a phone number`);
    number = { key, region: tenant.region };
  }
  const filter = {
    ...(options.from && { from: options.from }),
    ...(options.to && { to: options.to }),
    ...(options.direction && { direction: options.direction }),
    ...(options.status && { status: options.status }),
    ...(options.contact !== undefined && { contactCrmId: options.contact }),
    ...(number && { number }),
  };
  // Number parsing loads when there is a number to mask, not for an empty listing.
  let show: ShowOptions | undefined;
  const showing = async () =>
    (show ??= { display: await numberDisplay(tenant.region, options.showNumbers ?? false) });
  // The journal is all this reads: the store alone, no source or action is opened.
  const store = await openTenantStore(tenant);
  try {
    const journal = store.calls;
    if (options.csv) {
      let left = options.limit ?? Number.POSITIVE_INFINITY;
      let after: string | undefined;
      await write(io.stdout, csvLine(CSV_HEADER));
      while (left > 0) {
        const page = await journal.list({
          ...filter,
          limit: Math.min(PAGE, left),
          ...(after !== undefined && { after }),
        });
        if (page.calls.length > 0) {
          const shown = await showing();
          await write(io.stdout, page.calls.map((call) => csvLine(csvRow(call, shown))).join(''));
        }
        left -= page.calls.length;
        if (page.next === undefined) break;
        after = page.next;
      }
      return;
    }
    const limit = options.limit ?? DEFAULT_CALLS;
    const page = await journal.list({ ...filter, limit });
    if (page.calls.length === 0) {
      io.stdout.write('no calls\n');
      return;
    }
    const shown = await showing();
    const rows = [TABLE_HEADER, ...page.calls.map((call) => tableRow(call, shown))];
    io.stdout.write(`${table(rows)}\n`);
    if (page.next !== undefined) {
      io.stderr.write(`(the newest ${limit} shown; more match: use --limit, --from or --to)\n`);
    }
  } finally {
    await store.close();
  }
}

const DAY_MS = 86_400_000;

/** `callcard calls purge`: removes calls older than journal.retentionDays (or --days) now. */
export async function purgeCallsCommand(
  options: CommonOptions & { readonly days?: number },
  command: Command,
  io: CommandIo,
): Promise<void> {
  const { tenant } = loadTenant(options, io);
  const days = options.days ?? tenant.journal.retentionDays;
  if (days === null) {
    usageError(
      command,
      'journal.retentionDays is null (calls are kept for ever): give --days N to remove old calls',
    );
  }
  const store = await openTenantStore(tenant);
  try {
    const olderThan = new Date(Date.now() - days * DAY_MS);
    const removed = await store.calls.purge(olderThan);
    io.stdout.write(
      `removed ${removed} ${removed === 1 ? 'call' : 'calls'} that started before ${isoTime(olderThan.getTime())} ` +
        `(older than ${days} ${days === 1 ? 'day' : 'days'})\n`,
    );
  } finally {
    await store.close();
  }
}
