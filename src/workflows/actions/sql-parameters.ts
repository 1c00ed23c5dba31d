/**
 * The named parameters of sql actions: what a delivery gives custom statements and the presets
 * (sql-presets.ts, sql-vtiger.ts), below all of them so that none imports the action itself.
 */

/** Every named parameter a custom `query` (and a `recordUrl`) may use. */
export const SQL_ACTION_PARAMETERS = [
  'deliveryId',
  'callId',
  'workflow',
  'recordId',
  'direction',
  'status',
  'durationSeconds',
  'durationMinutes',
  'startedAt',
  'answeredAt',
  'endedAt',
  'startedAtUtc',
  'endedAtUtc',
  'contactCrmId',
  'userCrmId',
  'userId',
  'originatorNumber',
  'originatorName',
  'destinationNumber',
  'destinationName',
  'otherNumber',
  'otherName',
  'contactId',
  'contactName',
  'contactCompany',
  'contactSource',
  'subject',
  'description',
  'now',
  'nowUtc',
] as const;

export type ParameterName = (typeof SQL_ACTION_PARAMETERS)[number];

/** What a delivery's payload gives the statements, under the names listed above. */
export type CallParameters = {
  readonly deliveryId: string;
  readonly callId: string;
  readonly workflow: string;
  /** A UUID derived from the delivery id (an update's: the first delivery's): the same on every attempt. */
  readonly recordId: string;
  readonly direction: 'incoming' | 'outgoing' | null;
  readonly status: 'answered' | 'missed';
  readonly durationSeconds: number;
  readonly durationMinutes: number;
  /** The call's start (the first time known, else the delivery's). */
  readonly startedAt: Date;
  readonly answeredAt: Date | null;
  /** The call's end (its start plus its duration when the CONNECTOR sent none). */
  readonly endedAt: Date;
  /** The same in UTC as `YYYY-MM-DD HH:MM:SS`, for DATETIME columns that hold UTC. */
  readonly startedAtUtc: string;
  readonly endedAtUtc: string;
  readonly contactCrmId: string | null;
  readonly userCrmId: string | null;
  /** `userCrmId`, else the configured `userId`. */
  readonly userId: string | null;
  readonly originatorNumber: string | null;
  readonly originatorName: string | null;
  readonly destinationNumber: string | null;
  readonly destinationName: string | null;
  /** The party on the other end: the caller of an incoming call, the callee of an outgoing one. */
  readonly otherNumber: string | null;
  readonly otherName: string | null;
  /** The matched contact (of `contactSource` when set), or null. */
  readonly contactId: string | null;
  readonly contactName: string | null;
  readonly contactCompany: string | null;
  readonly contactSource: string | null;
  /** "Incoming call from Alexa Holiday", "Missed call from 41215522000"... */
  readonly subject: string;
  /** The numbers, names, status and duration, on lines. */
  readonly description: string;
  readonly now: Date;
  readonly nowUtc: string;
};
