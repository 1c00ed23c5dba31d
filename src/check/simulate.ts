import { callInputs, type Direction } from './call.js';
import { SIMULATE_DEFAULTS } from './defaults.js';
import { type Fetch, send, type Target } from './http.js';
import { lookupAnswerFindings, noAnswer } from './points/findings.js';
import { contactFindings, type Finding, isObject, workflowFindings } from './shape.js';

/**
 * `callcard simulate`: one call as the CONNECTOR makes it. A Lookup of the other party while the
 * phone rings, then the workflow (CallFlow) with the call's details once it has ended.
 */

export interface SimulateOptions {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly from: string;
  readonly to: string;
  readonly direction?: Direction;
  /** userCrmId: the CRM user of the SIP user who took or made the call. */
  readonly user?: string;
  readonly ringMs?: number;
  /** 0 for a missed call. */
  readonly talkSeconds?: number;
  readonly workflow?: string;
  readonly timeoutMs?: number;
  readonly fetch?: Fetch;
  readonly now?: () => number;
}

export interface SimulatedLookup {
  readonly number: string;
  readonly status?: number;
  readonly ms: number;
  readonly contacts: readonly unknown[];
  readonly findings: readonly Finding[];
}

export interface SimulatedWorkflow {
  readonly name: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly status?: number;
  readonly ms: number;
  readonly id?: string;
  readonly url?: string;
  /** The answer as received, when it is not the expected object. */
  readonly body?: string;
  readonly findings: readonly Finding[];
}

export interface Simulation {
  readonly lookup: SimulatedLookup;
  readonly workflow: SimulatedWorkflow;
  /** False when either step failed. */
  readonly ok: boolean;
}

export { SIMULATE_DEFAULTS } from './defaults.js';

export async function simulateCall(options: SimulateOptions): Promise<Simulation> {
  const target: Target = {
    root: options.url.replace(/\/+$/, ''),
    headers: options.headers ?? {},
    timeoutMs: options.timeoutMs ?? SIMULATE_DEFAULTS.timeoutMs,
    fetch: options.fetch ?? globalThis.fetch,
  };
  const direction = options.direction ?? 'incoming';
  const workflow = options.workflow ?? SIMULATE_DEFAULTS.workflow;
  const ringMs = options.ringMs ?? SIMULATE_DEFAULTS.ringMs;
  const talkSeconds = options.talkSeconds ?? SIMULATE_DEFAULTS.talkSeconds;

  // The CONNECTOR looks up the other party: the caller of an incoming call, the callee of an outgoing one.
  const number = direction === 'incoming' ? options.from : options.to;
  const answer = await send(target, {
    path: '/Lookup',
    body: { inputs: { phoneNumber: number } },
  });
  const findings = lookupAnswerFindings(answer, `POST /Lookup for ${number}`);
  const contacts = answer.status === 200 && Array.isArray(answer.json) ? answer.json : [];
  findings.push(...contactFindings(contacts, { workflow }));
  const lookup: SimulatedLookup = {
    number,
    ...(answer.status !== undefined && { status: answer.status }),
    ms: answer.ms,
    contacts,
    findings,
  };

  const first = contacts.find(isObject);
  const inputs = callInputs({
    from: options.from,
    to: options.to,
    direction,
    endedAt: (options.now ?? Date.now)(),
    ringMs,
    talkSeconds,
    ...(options.user !== undefined && { userCrmId: options.user }),
    ...(typeof first?.['id'] === 'string' && { contactCrmId: first['id'] }),
    ...(typeof first?.['name'] === 'string' && { contactName: first['name'] }),
  });
  const path = `/${encodeURIComponent(workflow)}`;
  const posted = await send(target, { path, body: { inputs } });
  let result: SimulatedWorkflow;
  if (posted.status === undefined) {
    result = { name: workflow, inputs, ms: posted.ms, findings: [noAnswer(posted, `POST ${path}`)] };
  } else {
    const checked = workflowFindings(posted.status, posted.text, posted.json, posted.isJson);
    const shaped = posted.isJson && isObject(posted.json);
    result = {
      name: workflow,
      inputs,
      status: posted.status,
      ms: posted.ms,
      ...(checked.id !== undefined && { id: checked.id }),
      ...(checked.url !== undefined && { url: checked.url }),
      ...(!shaped && posted.text.trim() !== '' && { body: posted.text.slice(0, 500) }),
      findings: checked.findings,
    };
  }
  const ok = [...lookup.findings, ...result.findings].every((finding) => finding.level !== 'fail');
  return { lookup, workflow: result, ok };
}
