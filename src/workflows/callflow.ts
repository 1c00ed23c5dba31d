import { type CallInputs, parseIsoTime } from '../connector/wire.js';
import type { CallJournal, NewCallRecord } from '../store/types.js';
import { callId } from './call-identity.js';
import type { Workflow } from './registry.js';

/** Path of a call record's page, under the base path. */
export const CALL_PAGE_PATH = '/calls/';

export interface CallFlowOptions {
  readonly journal: CallJournal;
  readonly secret: Buffer;
}

/**
 * CallFlow, sent by the CONNECTOR after every call (possibly more than once): recorded once in the
 * embedded call journal; the answer's url opens the record's page.
 */
export function createCallFlow({ journal, secret }: CallFlowOptions): Workflow {
  const name = 'CallFlow';
  return {
    name,
    appliesTo: () => true,
    async run(call, context) {
      const id = callId(secret, name, call);
      await journal.record(toRecord(id, name, call));
      return { id, url: `${context.baseUrl}${CALL_PAGE_PATH}${id}` };
    },
  };
}

export function toRecord(id: string, workflow: string, call: CallInputs): NewCallRecord {
  const answered = call.answeredTime === undefined ? undefined : parseIsoTime(call.answeredTime);
  const ended = call.endedTime === undefined ? undefined : parseIsoTime(call.endedTime);
  const durationSeconds =
    answered !== undefined && ended !== undefined && ended >= answered
      ? Math.round((ended - answered) / 1000)
      : undefined;
  const { all, ...fields } = call;
  return {
    ...fields,
    id,
    workflow,
    status: call.answeredTime ? 'answered' : 'missed',
    ...(durationSeconds !== undefined && { durationSeconds }),
    inputs: all,
  };
}
