import { type Exchange, excerpt, send } from '../http.js';
import { contactFindings, type Finding, isObject, MAX_RESULTS } from '../shape.js';
import { checkPoint, type Facts } from './context.js';
import { fail, idsOf, limited, lookupAnswerFindings, lookupRequest, ms, noAnswer, warn } from './findings.js';

/** Lookups: a hit and its cards, a miss, and the other forms the CONNECTOR may send a lookup in. */

/** Gives the contacts found, the first one's id and name, and the answer other forms must match. */
export const hit = checkPoint({
  id: 'lookup.hit',
  title: 'Lookup finds the contact of --number',
  needs: ['accepted', 'number'],
  gives: ['contacts', 'firstContact', 'reference'],
  async run({ settings, facts: { number } }) {
    const answer = await send(settings.target, lookupRequest(number));
    const findings = lookupAnswerFindings(answer, `POST /Lookup for ${number}`);
    const list = Array.isArray(answer.json) ? answer.json : undefined;
    const answered = answer.status === 200 ? list : undefined;
    if (answered?.length === 0) {
      findings.unshift(
        fail(
          `no contact for ${number}`,
          'Check that the number is stored in the CRM. The CONNECTOR sends it in international form without + (41215522000): the service must match it however the CRM stores it (+41 21 552 20 00, 021 552 20 00).',
        ),
      );
    }
    const contacts = answered && answered.length > 0 ? answered : undefined;
    const first: unknown = contacts?.[0];
    const firstContact = isObject(first)
      ? {
          ...(typeof first['id'] === 'string' && { id: first['id'] }),
          ...(typeof first['name'] === 'string' && { name: first['name'] }),
        }
      : undefined;
    const name = firstContact?.name;
    return {
      findings,
      passed: `200, ${list?.length} contact(s)${name ? `, the first: ${name}` : ''}, in ${ms(answer.ms)}`,
      facts: { contacts, firstContact, reference: answered && { number, ids: idsOf(answered) } },
    };
  },
});

export const fields = checkPoint({
  id: 'lookup.fields',
  title: 'Contact fields have the types of the API',
  needs: ['accepted', 'contacts'],
  uses: ['workflow'],
  advice: { contacts: 'Pass --number with a number that has a contact, so its card can be checked.' },
  run({ facts: { contacts, workflow } }) {
    return {
      findings: contactFindings(contacts, workflow ? { workflow } : {}),
      passed: `${contacts.length} contact(s), every field of the expected type`,
    };
  },
});

export const count = checkPoint({
  id: 'lookup.count',
  title: `At most ${MAX_RESULTS} results`,
  needs: ['accepted', 'contacts'],
  run({ facts: { contacts } }) {
    const findings =
      contacts.length > MAX_RESULTS
        ? [
            fail(
              `${contacts.length} results`,
              `Answer at most ${MAX_RESULTS} contacts, the best matches first: the API recommends it, and more only delay the call screen.`,
            ),
          ]
        : [];
    return { findings, passed: `${contacts.length} result(s)`, data: { results: contacts.length } };
  },
});

/** Gives the answer other forms must match when lookup.hit did not. */
export const miss = checkPoint({
  id: 'lookup.miss',
  title: 'Unknown number answers 200 []',
  needs: ['accepted'],
  uses: ['reference'],
  gives: ['reference'],
  async run({ settings: { target, missNumber }, facts }) {
    const answer = await send(target, lookupRequest(missNumber));
    const findings = lookupAnswerFindings(answer, `POST /Lookup for ${missNumber}`);
    const list = answer.status === 200 && Array.isArray(answer.json) ? answer.json : undefined;
    if (list && list.length > 0) {
      findings.unshift(
        warn(
          `${list.length} contact(s) for ${missNumber}, which should belong to nobody`,
          'Match numbers exactly, never by their last digits; if this number is really in the CRM, pass another with --miss-number.',
        ),
      );
    }
    // The answer other forms are compared with, when lookup.hit gave none.
    const reference =
      list && facts.reference === undefined ? { number: missNumber, ids: idsOf(list) } : undefined;
    return { findings, passed: `200 [] in ${ms(answer.ms)}`, facts: { reference } };
  },
});

/** Findings on a lookup sent in another form, compared with the body form's answer. */
function sameAnswer(
  reference: Facts['reference'],
  answer: Exchange,
  what: string,
  level: 'fail' | 'warn',
  advice: string,
): Finding[] {
  if (answer.status === undefined) return [noAnswer(answer, what)];
  if (answer.status === 429) return [limited(answer, what)];
  if (answer.status >= 500) {
    return [
      fail(
        `${what} answered ${answer.status}`,
        'No request may cause a 5xx: answer 200, or 4xx with a JSON error.',
      ),
    ];
  }
  if (answer.status !== 200 || !Array.isArray(answer.json)) {
    return [
      {
        level,
        detail: `${what} answered ${answer.status}${answer.isJson ? '' : `: ${excerpt(answer.text, 60)}`}`,
        advice,
      },
    ];
  }
  const ids = idsOf(answer.json);
  if (ids.join('\n') !== reference.ids.join('\n')) {
    return [
      {
        level,
        detail: `${what} gave ${ids.length} contact(s) where the JSON body form gives ${reference.ids.length}`,
        advice,
      },
    ];
  }
  return [];
}

export const legacy = checkPoint({
  id: 'lookup.legacy',
  title: 'Older form ?PhoneNumber= answers the same',
  needs: ['accepted', 'reference'],
  async run({ settings, facts: { reference } }) {
    const { number } = reference;
    const advice =
      'Older CONNECTOR versions sent the number as ?PhoneNumber= with no body: read it from the query on GET and POST when the body has no inputs.';
    const findings: Finding[] = [];
    for (const method of ['POST', 'GET'] as const) {
      const answer = await send(settings.target, { method, path: '/Lookup', query: { PhoneNumber: number } });
      findings.push(
        ...sameAnswer(reference, answer, `${method} /Lookup?PhoneNumber=${number}`, 'warn', advice),
      );
    }
    return {
      findings,
      passed: `POST and GET ?PhoneNumber=${number} give the same answer as the JSON body`,
    };
  },
});

export const contentType = checkPoint({
  id: 'lookup.content-type',
  title: 'Body is read whatever its Content-Type',
  needs: ['accepted', 'reference'],
  async run({ settings, facts: { reference } }) {
    const findings: Finding[] = [];
    const forms: [string, string | null, 'fail' | 'warn'][] = [
      ['application/json; charset=utf-8', 'application/json; charset=utf-8', 'fail'],
      ['no Content-Type', null, 'warn'],
      ['text/plain', 'text/plain', 'warn'],
    ];
    for (const [label, type, level] of forms) {
      const answer = await send(settings.target, lookupRequest(reference.number, { contentType: type }));
      findings.push(
        ...sameAnswer(
          reference,
          answer,
          `the JSON body with ${label}`,
          level,
          type?.startsWith('application/json')
            ? 'Accept application/json with parameters such as charset.'
            : 'Read the body as JSON whatever its Content-Type: the API does not say which one the CONNECTOR sends, and HTTP clients differ.',
        ),
      );
    }
    return { findings, passed: 'read with a charset, with text/plain and with no Content-Type' };
  },
});

export const LOOKUP_POINTS = [hit, fields, count, miss, legacy, contentType] as const;
