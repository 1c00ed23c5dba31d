import { createHmac } from 'node:crypto';
import { type CallInputs, parseIsoTime } from '../connector/wire.js';

/**
 * The id of a call for one workflow. The same call sent again (the CONNECTOR may retry CallFlow)
 * gets the same id; the id is keyed with the instance's secret so that a record's page address
 * cannot be guessed from the call's numbers and time.
 */
export function callId(secret: Buffer, workflow: string, call: CallInputs): string {
  const digits = (value?: string) => value?.replace(/\D/g, '') ?? '';
  const time = (value?: string) => (value === undefined ? '' : String(parseIsoTime(value) ?? value));
  const hasTime = CALL_TIMES.some((field) => call[field] !== undefined);
  const identity = [
    workflow.toLowerCase(),
    digits(call.originatorNumber),
    digits(call.destinationNumber),
    call.direction ?? '',
    call.userCrmId ?? '',
    // Without a start time, any time the call has; without any time, the whole payload.
    hasTime ? CALL_TIMES.map((field) => time(call[field])).find(Boolean) : stableJson(call.all),
  ];
  return createHmac('sha256', secret).update(JSON.stringify(identity)).digest('base64url').slice(0, 22);
}

const CALL_TIMES = ['startedTime', 'answeredTime', 'endedTime', 'declinedTime'] as const;

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
