import { type CallInputs, parseIsoTime } from '../connector/wire.js';
import type { Delivery, Submission } from '../store/outbox-types.js';
import type { CallIntake, CallJournal, CallRecord, NewCallRecord } from '../store/types.js';
import type { Action } from './actions/types.js';
import { callId } from './call-identity.js';
import type { Workflow } from './registry.js';

/** Path of a call record's page, under the base path. */
export const CALL_PAGE_PATH = '/calls/';

/** What runs the outbox: woken after new deliveries, and asked to wait a short while for one. */
export interface DeliveryRunner {
  kick(): void;
  waitFor(id: string, ms: number): Promise<Delivery | undefined>;
}

export interface ConfiguredAction {
  readonly action: Action;
  readonly maxAttempts: number;
}

export interface WorkflowOptions {
  readonly name: string;
  readonly journal: CallJournal;
  readonly secret: Buffer;
  /** Sources whose contacts offer the workflow; all when absent. */
  readonly sources?: readonly string[];
  readonly actions?: readonly ConfiguredAction[];
  /** Records a call with its deliveries to the outbox, in one transaction. */
  readonly intake?: CallIntake;
  readonly runner?: DeliveryRunner;
  /** How long the answer may wait for the first action's target to confirm. */
  readonly answerBudgetMs?: number;
  /** The contact the call was with, as the lookup finds it, for the actions' payload. */
  readonly findContact?: (call: CallInputs) => Promise<Record<string, unknown> | undefined>;
}

/**
 * A workflow the CONNECTOR can post a call to. The call is recorded once in the journal (a repeat
 * of the same call completes the same record); each action becomes a delivery in the durable
 * outbox, claimed under an id derived from the call before any target is touched, so a repeat or
 * a concurrent post never makes a second one. A repeat that completes the call (its answer and end
 * after its start) brings the delivery up to date: one not made yet carries the call as it is now;
 * one already made is followed by an update (see `OutboxStore.submit`). When the first action's
 * target confirms within the budget, the answer is its record's id and url; otherwise callcard's
 * id of the call and its page, which leads to the record once it exists. Whichever id the first
 * answer gave, every repeat of the call gets the same.
 */
export function createWorkflow(options: WorkflowOptions): Workflow {
  const { name, journal, secret, actions = [], intake, runner } = options;
  if (actions.length > 0 && (!intake || !runner))
    throw new Error(`workflow ${name}: actions need the outbox`);
  return {
    name,
    appliesTo: (source) => options.sources === undefined || options.sources.includes(source),
    async run(call, context) {
      const id = callId(secret, name, call);
      const page = { id, url: `${context.baseUrl}${CALL_PAGE_PATH}${id}` };
      if (actions.length === 0) {
        await journal.record(toRecord(id, name, call));
        return page;
      }

      const found = await options.findContact?.(call).catch(() => undefined);
      const orderKey = call.contactCrmId ?? otherParty(call) ?? id;
      // The call as the journal has it once recorded, every post of it merged: what the deliveries
      // carry. Recorded and submitted in one transaction.
      const deliveriesFor = (record: CallRecord, before: readonly Delivery[]): Submission[] => {
        const { inputs, receivedCount: _r, createdAt: _c, updatedAt: _u, ...fields } = record;
        const previous = before.at(-1)?.payload;
        const earlier = (previous?.['call'] ?? {}) as Record<string, unknown>;
        const sent: Record<string, unknown> = { ...inputs, ...fields };
        // The same number written another way is no change: the call keeps the form first sent.
        for (const field of ['originatorNumber', 'destinationNumber'] as const) {
          const was = earlier[field];
          if (typeof was === 'string' && digitsOf(was) === digitsOf(sent[field])) sent[field] = was;
        }
        // A repeat whose lookup finds no contact (a source down) keeps the one found before.
        const contact = found ?? previous?.['contact'] ?? null;
        const payload = { workflow: name, callId: id, call: sent, contact };
        return actions.map(({ action, maxAttempts }, index) => ({
          id: deliveryId(name, id, index),
          workflow: name,
          callId: id,
          action: index,
          actionType: action.type,
          orderKey: `${name}:${orderKey}`,
          payload,
          maxAttempts,
          updates: action.updates ?? false,
          version: record.receivedCount,
        }));
      };
      await intake!.recordWithDeliveries(toRecord(id, name, call), deliveriesFor, Date.now());
      runner!.kick();
      const budget = options.answerBudgetMs ?? 0;
      const first = budget > 0 ? await runner!.waitFor(deliveryId(name, id, 0), budget) : undefined;
      const confirmed = first?.status === 'done' && first.resultUrl ? first : undefined;
      const answer = confirmed ? { id: confirmed.resultId ?? id, url: confirmed.resultUrl! } : page;
      // The first answer's id stays the call's id for the CONNECTOR, whatever later repeats find.
      return { ...answer, id: await journal.answer(id, answer.id) };
    },
  };
}

/** A call's delivery to one action of the workflow: the same call's same action is one delivery, ever. */
const deliveryId = (workflow: string, callId: string, action: number) => `${workflow}:${callId}:${action}`;

const digitsOf = (value: unknown) => (typeof value === 'string' ? value.replace(/\D/g, '') : undefined);

/** The number of the party on the other end: the caller of an incoming call, the callee of an outgoing one. */
export function otherParty(call: CallInputs): string | undefined {
  const number = call.direction === 'outgoing' ? call.destinationNumber : call.originatorNumber;
  const digits = number?.replace(/\D/g, '');
  return digits || undefined;
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
