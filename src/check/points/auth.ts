import { type Exchange, outcomeOf, send } from '../http.js';
import type { Finding } from '../shape.js';
import { checkPoint } from './context.js';
import { fail, limited, lookupRequest, noAnswer, testCall, warn, workflowPath } from './findings.js';

/**
 * Authentication: without the token, or with a wrong one, nothing is answered. These points run
 * even when the service refuses the given headers: they need only an answering service.
 */

const OPEN_LOOKUP =
  'Check the token header on every CONNECTOR endpoint before anything else, and answer 401 when it is missing or wrong: otherwise anyone who finds the URL can read the contacts.';
const OPEN_WORKFLOW =
  'Check the token header on the workflow endpoints too, and answer 401 when it is missing or wrong: otherwise anyone who finds the URL can write into the CRM.';

/** A refusal is a 401 or 403 without contact data; a success answer is the failure. */
function refusal(answer: Exchange, what: string, open = OPEN_LOOKUP): Finding[] {
  if (answer.status === undefined) return [noAnswer(answer, what)];
  if (answer.status === 429) return [limited(answer, what)];
  const data = Array.isArray(answer.json) && answer.json.length > 0;
  if (answer.status >= 200 && answer.status < 300) {
    return [
      fail(
        `${what} answered ${answer.status}${data ? ` with ${(answer.json as unknown[]).length} contact(s)` : ''}`,
        open,
      ),
    ];
  }
  if (data) {
    return [
      fail(
        `${what} answered ${answer.status} but the body holds contact data`,
        'Refuse before looking anything up: answer 401 with an error body only.',
      ),
    ];
  }
  if (answer.status === 401 || answer.status === 403) return [];
  if (answer.status >= 400 && answer.status < 500) {
    return [
      warn(
        `${what} answered ${answer.status}`,
        'Answer 401 (or 403) for a missing or wrong token, so that a wrong token in the portal is told apart from a wrong URL.',
      ),
    ];
  }
  return [
    fail(
      `${what} answered ${answer.status}`,
      'Answer 401 for a missing or wrong token; a 5xx or a redirect reads as a broken service.',
    ),
  ];
}

export const missing = checkPoint({
  id: 'auth.missing',
  title: 'Lookup without the token is refused',
  needs: ['answering'],
  uses: ['number'],
  async run({ settings, facts }) {
    const request = lookupRequest(facts.number ?? settings.missNumber, { headers: {} });
    const answer = await send(settings.target, request);
    return {
      findings: refusal(answer, 'without headers, POST /Lookup'),
      passed: `refused with ${outcomeOf(answer)}`,
    };
  },
});

export const wrong = checkPoint({
  id: 'auth.wrong',
  title: 'Lookup with a wrong token is refused',
  needs: ['answering', 'token'],
  uses: ['number'],
  async run({ settings, facts }) {
    const wrongHeaders = Object.fromEntries(facts.token.map((name) => [name, 'callcard-check-wrong-value']));
    const request = lookupRequest(facts.number ?? settings.missNumber, { headers: wrongHeaders });
    const answer = await send(settings.target, request);
    return {
      findings: refusal(answer, `with wrong values for ${facts.token.join(', ')}, POST /Lookup`),
      passed: `refused with ${outcomeOf(answer)}`,
    };
  },
});

export const workflow = checkPoint({
  id: 'auth.workflow',
  title: 'Workflow without the token is refused',
  needs: ['workflow', 'answering'],
  async run({ settings, facts }) {
    // A call from the unknown number: if the service takes it, it is attached to nobody.
    const answer = await send(settings.target, {
      path: workflowPath(facts.workflow),
      body: { inputs: testCall(settings, settings.missNumber, undefined) },
      headers: {},
    });
    return {
      findings: refusal(answer, `without headers, POST /${facts.workflow}`, OPEN_WORKFLOW),
      passed: `refused with ${outcomeOf(answer)}`,
    };
  },
});

export const AUTH_POINTS = [missing, wrong, workflow] as const;
