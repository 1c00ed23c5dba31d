import { callInputs } from '../call.js';
import { type Exchange, excerpt, outcomeOf, type Send, send, type Target } from '../http.js';
import type { Outcome } from '../runner.js';
import { type Finding, isObject } from '../shape.js';
import type { Facts, Settings } from './context.js';

/** Findings and requests that several points share (and `simulate`, for a lookup's answer). */

export const fail = (detail: string, advice: string): Finding => ({ level: 'fail', detail, advice });
export const warn = (detail: string, advice: string): Finding => ({ level: 'warn', detail, advice });

export const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

export function noAnswer(exchange: Exchange, what: string): Finding {
  return fail(
    `${what}: ${exchange.reason}`,
    exchange.error === 'timeout'
      ? `The service must answer every request quickly, whatever it is sent; the CONNECTOR does not wait (this checker waited ${Math.round(exchange.ms)} ms).`
      : 'The service must be reachable at the root URL from the internet.',
  );
}

export const LIMITED_ADVICE =
  'The service limits requests from this address: run the check again after Retry-After, or allow more requests from where it runs. Keep the limits well above the call rate, so that the CONNECTOR is never refused.';

/** A 429: the point could not be seen, as the service refused to answer for now. */
export function limited(answer: Exchange, what: string, level: Finding['level'] = 'warn'): Finding {
  const after = answer.retryAfter ? `, retry after ${answer.retryAfter} s` : '';
  return { level, detail: `${what} answered 429 (rate limited${after})`, advice: LIMITED_ADVICE };
}

export function lookupRequest(number: string, extra: Partial<Send> = {}): Send {
  return { path: '/Lookup', body: { inputs: { phoneNumber: number } }, ...extra };
}

export function idsOf(json: unknown): string[] {
  return Array.isArray(json) ? json.map((entry) => (isObject(entry) ? String(entry['id'] ?? '') : '')) : [];
}

const isJsonType = (contentType: string) => /^application\/([\w.+-]*\+)?json\b/i.test(contentType);

/** Findings on a lookup answer that must be `200` and a JSON array. */
export function lookupAnswerFindings(answer: Exchange, what: string): Finding[] {
  if (answer.status === undefined) return [noAnswer(answer, what)];
  if (answer.status === 429) return [limited(answer, what, 'fail')];
  if (answer.status === 404) {
    return [
      fail(
        `${what} answered 404`,
        'Answer 200 [] when nothing is found: the CONNECTOR reads 404 as "the phone lookup service is not reachable". If every lookup gives 404, the URL is not the root the CONNECTOR appends /Lookup to.',
      ),
    ];
  }
  if (answer.status === 204) {
    return [fail(`${what} answered 204`, 'Answer 200 with the body [] when nothing is found.')];
  }
  if (answer.status !== 200) {
    return [
      fail(
        `${what} answered ${answer.status}: ${excerpt(answer.text)}`,
        answer.status >= 500
          ? 'A lookup must answer 200 even when a CRM behind it fails: answer what was found, or [].'
          : 'Answer a lookup with 200 and a JSON array.',
      ),
    ];
  }
  if (!answer.isJson) {
    return [
      fail(`${what}: the body is not JSON: ${excerpt(answer.text)}`, 'Answer a JSON array of contacts.'),
    ];
  }
  if (!Array.isArray(answer.json)) {
    return [
      fail(
        `${what}: the body is ${isObject(answer.json) ? 'an object' : typeof answer.json}, not an array`,
        'Answer a JSON array, also for a single contact ([{...}]) and for none ([]).',
      ),
    ];
  }
  if (!isJsonType(answer.contentType)) {
    return [
      warn(
        `${what}: Content-Type is ${answer.contentType || 'missing'}`,
        'Send Content-Type: application/json with the answer.',
      ),
    ];
  }
  return [];
}

export interface BadBody {
  readonly label: string;
  readonly body?: unknown;
  readonly raw?: string;
}

/** Findings on an answer to a request the service must refuse cleanly. */
function cleanRefusal(answer: Exchange, what: string): Finding[] {
  if (answer.status === undefined) return [noAnswer(answer, what)];
  if (answer.status === 429) return [limited(answer, what)];
  const status = answer.status;
  if (status >= 500) {
    return [
      fail(
        `${what}: ${status}`,
        'Bad input is the client\'s error: validate the body and answer 400 with a JSON error ({"error":{"code":"...","message":"..."}}), never a 5xx.',
      ),
    ];
  }
  if (status >= 400) {
    return answer.isJson
      ? []
      : [
          warn(
            `${what}: ${status} without a JSON body`,
            'Give errors a JSON body with a message that says what to fix.',
          ),
        ];
  }
  if (status >= 200 && status < 300) {
    return [
      warn(
        `${what}: ${status}`,
        'Answer 400 with a JSON error, so that a misconfigured client learns what is wrong instead of seeing nothing.',
      ),
    ];
  }
  return [fail(`${what}: ${status}`, 'Answer 400 with a JSON error.')];
}

/** Sends each bad body: every one must get a 4xx with a JSON error. */
export async function badBodies(
  target: Target,
  bodies: readonly BadBody[],
  path = '/Lookup',
): Promise<Outcome<Facts>> {
  const findings: Finding[] = [];
  const statuses: string[] = [];
  for (const bad of bodies) {
    const answer = await send(target, {
      path,
      ...(bad.raw !== undefined ? { raw: bad.raw } : { body: bad.body }),
    });
    statuses.push(outcomeOf(answer));
    findings.push(...cleanRefusal(answer, `${bad.label} to POST ${path}`));
  }
  return { findings, passed: `${bodies.map((b, i) => `${b.label}: ${statuses[i]}`).join(', ')}` };
}

// The called line in the test call (the user's own number).
const USER_LINE = '41445550100';

/** The test call posted to the workflow: from `from`, to the user's line, ended now. */
export function testCall(
  settings: Settings,
  from: string,
  contact: Facts['firstContact'] | undefined,
): Record<string, string> {
  return callInputs({
    from,
    to: USER_LINE,
    direction: 'incoming',
    endedAt: settings.now(),
    ringMs: 6000,
    talkSeconds: 95,
    ...(contact?.id !== undefined && { contactCrmId: contact.id }),
    ...(contact?.name !== undefined && { contactName: contact.name }),
  });
}

export const workflowPath = (workflow: string) => `/${encodeURIComponent(workflow)}`;
