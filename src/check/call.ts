/** A call as the CONNECTOR reports it to a workflow (`{"inputs":{...}}`, the fields of Part 2). */

export type Direction = 'incoming' | 'outgoing';

export interface CallSpec {
  readonly from: string;
  readonly to: string;
  readonly direction: Direction;
  /** When the call ended, epoch ms; the other times are counted back from it. */
  readonly endedAt: number;
  readonly ringMs: number;
  /** 0 for a call nobody answered. */
  readonly talkSeconds: number;
  readonly userCrmId?: string;
  /** The other party's contact, from the lookup. */
  readonly contactCrmId?: string;
  readonly contactName?: string;
}

/** ISO-8601 in UTC to the second, the form the API's times are read in. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The workflow inputs for a call. Values the CONNECTOR does not have are sent as "" (the API says
 * answeredTime "is empty if the call was not answered"), not left out.
 */
export function callInputs(call: CallSpec): Record<string, string> {
  const answered = call.talkSeconds > 0;
  const endedAt = Math.round(call.endedAt / 1000) * 1000;
  const ringMs = Math.round(call.ringMs / 1000) * 1000;
  const startedAt = endedAt - call.talkSeconds * 1000 - ringMs;
  const name = call.contactName ?? '';
  return {
    contactCrmId: call.contactCrmId ?? '',
    userCrmId: call.userCrmId ?? '',
    originatorNumber: call.from,
    originatorName: call.direction === 'incoming' ? name : '',
    destinationNumber: call.to,
    destinationName: call.direction === 'outgoing' ? name : '',
    direction: call.direction,
    startedTime: isoSeconds(startedAt),
    answeredTime: answered ? isoSeconds(startedAt + ringMs) : '',
    endedTime: isoSeconds(endedAt),
    declinedTime: answered ? '' : isoSeconds(startedAt + ringMs),
  };
}

/**
 * A number as the CONNECTOR sends it: international digits without `+` (41215522000). Spaces,
 * dots, dashes, slashes, brackets, `+`, `(0)` and a `00` prefix are dropped; anything else is kept as typed.
 */
export function wireNumber(number: string): string {
  const trimmed = number.trim();
  if (!/^[+\d\s().\-/]+$/.test(trimmed)) return trimmed;
  // "+41 (0)21 ..." writes the national trunk prefix that the international form drops.
  return trimmed.replace(/\(0\)/g, '').replace(/[^\d]/g, '').replace(/^00/, '');
}
