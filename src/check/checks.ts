import { callInputs } from './call.js';
import {
  type Exchange,
  excerpt,
  type Fetch,
  hider,
  outcomeOf,
  type Send,
  send,
  type Target,
} from './http.js';
import { contactFindings, type Finding, isObject, MAX_RESULTS, workflowFindings } from './shape.js';

/**
 * `callcard check`: plays the CONNECTOR against a phone lookup service and judges each point of
 * the API on its own, with advice. Pure apart from the HTTP requests, which go through `fetch`.
 */

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  readonly id: CheckId;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to change; on failures, warnings and skips. */
  readonly advice?: string;
  /** Measured values (latency percentiles, counts) for machines. */
  readonly data?: Readonly<Record<string, number>>;
}

export interface CheckOptions {
  /** The service's root as entered in the CUSTOMER-PORTAL: `<url>/Lookup` is the lookup. */
  readonly url: string;
  /** The headers the CONNECTOR would send (the token); never shown in results. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A number with a contact, as the CONNECTOR sends it (41215522000). */
  readonly number?: string;
  /** A number that has no contact; a fixed unassigned-looking one by default. */
  readonly missNumber?: string;
  /** A workflow to post a test call to, e.g. CallFlow. */
  readonly workflow?: string;
  /** Lookups timed for the latency point (default 20). */
  readonly samples?: number;
  /** How long one request may take before it counts as no answer (default 5000 ms). */
  readonly timeoutMs?: number;
  /** The latency point fails when the 95th percentile is above this (default 1500 ms)... */
  readonly maxP95Ms?: number;
  /** ...and warns above this (default 500 ms). */
  readonly warnP95Ms?: number;
  readonly fetch?: Fetch;
  /** Clock for the test call's times. */
  readonly now?: () => number;
}

/** Every point, in the order they run and are reported. */
export const CHECKS = {
  'service.reachable': 'Service answers with the given headers',
  'service.https': 'Reached over HTTPS',
  'auth.missing': 'Lookup without the token is refused',
  'auth.wrong': 'Lookup with a wrong token is refused',
  'auth.workflow': 'Workflow without the token is refused',
  'lookup.hit': 'Lookup finds the contact of --number',
  'lookup.fields': 'Contact fields have the types of the API',
  'lookup.count': `At most ${MAX_RESULTS} results`,
  'lookup.miss': 'Unknown number answers 200 []',
  'lookup.legacy': 'Older form ?PhoneNumber= answers the same',
  'lookup.content-type': 'Body is read whatever its Content-Type',
  'errors.invalid-json': 'Invalid JSON: 4xx with a JSON error',
  'errors.missing-inputs': 'No inputs: 4xx with a JSON error',
  'errors.wrong-types': 'Wrongly typed inputs: 4xx with a JSON error',
  'workflow.answer': 'Workflow answers {id, url}',
  'workflow.repeat': 'Same call twice gets the same id',
  'workflow.extended': 'Workflow accepts unknown input fields',
  'workflow.bad-body': 'Workflow: bad body gives 4xx with a JSON error',
  latency: 'Lookup latency',
} as const;

export type CheckId = keyof typeof CHECKS;

export const DEFAULTS = {
  samples: 20,
  timeoutMs: 5000,
  // The CONNECTOR's own wait is not published. The lookup runs while the phone rings and the card is
  // only useful before the user answers, so it must come within the first ring (about a second):
  // callcard itself answers by 1.5 s whatever its sources do.
  maxP95Ms: 1500,
  warnP95Ms: 500,
} as const;

// Numbers that should belong to nobody, in the CONNECTOR's form; the second if --number is the first.
const MISS_NUMBERS = ['41215550199', '41445550199'] as const;
// The called line in the test call (the user's own number).
const USER_LINE = '41445550100';

const TOKEN_ADVICE =
  'Check the header name and value given with --header: they must be what the CUSTOMER-PORTAL sends.';

interface State {
  readonly target: Target;
  readonly options: CheckOptions;
  readonly number: string | undefined;
  readonly missNumber: string;
  readonly workflow: string | undefined;
  readonly results: CheckResult[];
  /** Why the remaining points cannot run, once the service is found down or refusing the headers. */
  stop?: string;
  /** Set when the service does not answer at all: then not even the token points run. */
  down?: boolean;
  hit?: Exchange;
  miss?: Exchange;
  /** The body form's answer that other forms must match, and the number it was for. */
  reference?: { readonly number: string; readonly ids: string[] };
  firstContact?: { readonly id?: string; readonly name?: string };
  call?: Record<string, string>;
  callId?: string;
}

export async function runChecks(options: CheckOptions): Promise<CheckResult[]> {
  const root = options.url.replace(/\/+$/, '');
  const number = options.number;
  const state: State = {
    target: {
      root,
      headers: options.headers ?? {},
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      fetch: options.fetch ?? globalThis.fetch,
    },
    options,
    number,
    missNumber: options.missNumber ?? (number === MISS_NUMBERS[0] ? MISS_NUMBERS[1] : MISS_NUMBERS[0]),
    workflow: options.workflow,
    results: [],
  };
  await reachable(state);
  https(state);
  await authMissing(state);
  await authWrong(state);
  await authWorkflow(state);
  await lookupHit(state);
  lookupFields(state);
  lookupCount(state);
  await lookupMiss(state);
  await lookupLegacy(state);
  await lookupContentType(state);
  await badBodies(state, 'errors.invalid-json', [
    { label: 'truncated JSON', raw: '{"inputs":{"phoneNumber":"4121' },
  ]);
  await badBodies(state, 'errors.missing-inputs', [
    { label: '{}', body: {} },
    { label: 'an empty body', raw: '' },
  ]);
  await badBodies(state, 'errors.wrong-types', [
    { label: '{"inputs":"<number>"}', body: { inputs: state.missNumber } },
    { label: '{"inputs":{"phoneNumber":[...]}}', body: { inputs: { phoneNumber: [state.missNumber] } } },
  ]);
  await workflowAnswer(state);
  await workflowRepeat(state);
  await workflowExtended(state);
  await workflowBadBody(state);
  await latency(state);
  return redact(state.results, Object.values(options.headers ?? {}));
}

// ---------------------------------------------------------------------------------------------
// Building results.

function add(state: State, id: CheckId, result: Omit<CheckResult, 'id' | 'title'>): void {
  state.results.push({ id, title: CHECKS[id], ...result });
}

function pass(state: State, id: CheckId, detail: string, data?: Record<string, number>): void {
  add(state, id, { status: 'pass', detail, ...(data && { data }) });
}

function skip(state: State, id: CheckId, detail: string, advice?: string): void {
  add(state, id, { status: 'skip', detail, ...(advice && { advice }) });
}

/** One result from what was found: failures first, then warnings; a pass when nothing was. */
function judge(
  state: State,
  id: CheckId,
  findings: readonly Finding[],
  passDetail: string,
  data?: Record<string, number>,
): void {
  if (findings.length === 0) {
    pass(state, id, passDetail, data);
    return;
  }
  const ordered = [
    ...findings.filter((f) => f.level === 'fail'),
    ...findings.filter((f) => f.level === 'warn'),
  ];
  const shown = ordered.slice(0, 4).map((f) => f.detail);
  if (ordered.length > shown.length) shown.push(`${ordered.length - shown.length} more`);
  add(state, id, {
    status: ordered[0]!.level,
    detail: shown.join('; '),
    advice: [...new Set(ordered.map((f) => f.advice))].join(' '),
    ...(data && { data }),
  });
}

const fail = (detail: string, advice: string): Finding => ({ level: 'fail', detail, advice });
const warn = (detail: string, advice: string): Finding => ({ level: 'warn', detail, advice });

/** The points that need an answering service with accepted headers are skipped once it is not. */
function stopped(state: State, id: CheckId, onlyWhenDown = false): boolean {
  if (state.stop === undefined || (onlyWhenDown && !state.down)) return false;
  skip(state, id, state.stop, 'Fix service.reachable first.');
  return true;
}

const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

export function noAnswer(exchange: Exchange, what: string): Finding {
  return fail(
    `${what}: ${exchange.reason}`,
    exchange.error === 'timeout'
      ? `The service must answer every request quickly, whatever it is sent; the CONNECTOR does not wait (this checker waited ${Math.round(exchange.ms)} ms).`
      : 'The service must be reachable at the root URL from the internet.',
  );
}

const LIMITED_ADVICE =
  'The service limits requests from this address: run the check again after Retry-After, or allow more requests from where it runs. Keep the limits well above the call rate, so that the CONNECTOR is never refused.';

/** A 429: the point could not be seen, as the service refused to answer for now. */
function limited(answer: Exchange, what: string, level: Finding['level'] = 'warn'): Finding {
  const after = answer.retryAfter ? `, retry after ${answer.retryAfter} s` : '';
  return { level, detail: `${what} answered 429 (rate limited${after})`, advice: LIMITED_ADVICE };
}

function lookupRequest(number: string, extra: Partial<Send> = {}): Send {
  return { path: '/Lookup', body: { inputs: { phoneNumber: number } }, ...extra };
}

function idsOf(json: unknown): string[] {
  return Array.isArray(json) ? json.map((entry) => (isObject(entry) ? String(entry['id'] ?? '') : '')) : [];
}

const isJsonType = (contentType: string) => /^application\/([\w.+-]*\+)?json\b/i.test(contentType);

// ---------------------------------------------------------------------------------------------
// The service.

async function reachable(state: State): Promise<void> {
  const id = 'service.reachable';
  const answer = await send(state.target, lookupRequest(state.number ?? state.missNumber));
  const headerNames = Object.keys(state.target.headers);
  if (answer.status === undefined) {
    state.stop = 'the service did not answer';
    state.down = true;
    return judge(state, id, [noAnswer(answer, `POST ${state.target.root}/Lookup`)], '');
  }
  if (answer.status >= 300 && answer.status < 400) {
    state.stop = 'the service redirects';
    state.down = true;
    return judge(
      state,
      id,
      [
        fail(
          `POST /Lookup redirects (${answer.status}${answer.location ? ` to ${answer.location}` : ''})`,
          'Enter the final address as the root URL: a redirected POST may become a GET or lose its body, and the token would first travel to the old address.',
        ),
      ],
      '',
    );
  }
  if (answer.status === 429) {
    state.stop = 'the service limits requests (429)';
    state.down = true;
    return judge(state, id, [limited(answer, 'POST /Lookup', 'fail')], '');
  }
  if (answer.status === 401 || answer.status === 403) {
    state.stop = `the service refused the given headers (${answer.status})`;
    return judge(
      state,
      id,
      [
        fail(
          `POST /Lookup answered ${answer.status} with ${headerNames.length > 0 ? `the given headers (${headerNames.join(', ')})` : 'no headers'}`,
          headerNames.length > 0
            ? TOKEN_ADVICE
            : "Pass the token as the CONNECTOR does: --header 'X-Execution-Token: ...' (or --header-env).",
        ),
      ],
      '',
    );
  }
  pass(state, id, `POST /Lookup answered ${answer.status} in ${ms(answer.ms)}`);
}

function https(state: State): void {
  const id = 'service.https';
  const url = new URL(state.target.root);
  if (url.protocol === 'https:') {
    pass(state, id, 'https');
    return;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) {
    pass(state, id, 'plain HTTP on this machine (fine for a test; the CONNECTOR needs HTTPS)');
    return;
  }
  judge(
    state,
    id,
    [
      warn(
        'plain HTTP',
        "The CONNECTOR sends the token and the caller's number with every request: serve the root URL over HTTPS (e.g. behind a reverse proxy).",
      ),
    ],
    '',
  );
}

// ---------------------------------------------------------------------------------------------
// Authentication.

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

async function authMissing(state: State): Promise<void> {
  if (stopped(state, 'auth.missing', true)) return;
  const answer = await send(state.target, lookupRequest(state.number ?? state.missNumber, { headers: {} }));
  judge(
    state,
    'auth.missing',
    refusal(answer, 'without headers, POST /Lookup'),
    `refused with ${outcomeOf(answer)}`,
  );
}

async function authWrong(state: State): Promise<void> {
  const id = 'auth.wrong';
  if (stopped(state, id, true)) return;
  const names = Object.keys(state.target.headers);
  if (names.length === 0) {
    return skip(state, id, 'no --header given', "Pass the token header: --header 'X-Execution-Token: ...'.");
  }
  const wrong = Object.fromEntries(names.map((name) => [name, 'callcard-check-wrong-value']));
  const answer = await send(
    state.target,
    lookupRequest(state.number ?? state.missNumber, { headers: wrong }),
  );
  judge(
    state,
    id,
    refusal(answer, `with wrong values for ${names.join(', ')}, POST /Lookup`),
    `refused with ${outcomeOf(answer)}`,
  );
}

async function authWorkflow(state: State): Promise<void> {
  const id = 'auth.workflow';
  if (!state.workflow) return skip(state, id, 'no --workflow given', workflowAdvice);
  if (stopped(state, id, true)) return;
  const answer = await send(state.target, {
    path: `/${encodeURIComponent(state.workflow)}`,
    body: { inputs: testCall(state, { from: state.missNumber }) },
    headers: {},
  });
  judge(
    state,
    id,
    refusal(answer, `without headers, POST /${state.workflow}`, OPEN_WORKFLOW),
    `refused with ${outcomeOf(answer)}`,
  );
}

const workflowAdvice =
  'Pass --workflow CallFlow to check the business workflow (this posts test calls to the service).';

// ---------------------------------------------------------------------------------------------
// Lookups.

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

async function lookupHit(state: State): Promise<void> {
  const id = 'lookup.hit';
  if (stopped(state, id)) return;
  if (state.number === undefined) {
    return skip(
      state,
      id,
      'no --number given',
      'Pass --number with a number that has a contact (41215522000).',
    );
  }
  const answer = await send(state.target, lookupRequest(state.number));
  state.hit = answer;
  const findings = lookupAnswerFindings(answer, `POST /Lookup for ${state.number}`);
  const list = Array.isArray(answer.json) ? answer.json : undefined;
  if (list && answer.status === 200) {
    state.reference = { number: state.number, ids: idsOf(list) };
    if (list.length === 0) {
      findings.unshift(
        fail(
          `no contact for ${state.number}`,
          'Check that the number is stored in the CRM. The CONNECTOR sends it in international form without + (41215522000): the service must match it however the CRM stores it (+41 21 552 20 00, 021 552 20 00).',
        ),
      );
    } else {
      const first = list[0];
      if (isObject(first)) {
        state.firstContact = {
          ...(typeof first['id'] === 'string' && { id: first['id'] }),
          ...(typeof first['name'] === 'string' && { name: first['name'] }),
        };
      }
    }
  }
  const name = state.firstContact?.name;
  judge(
    state,
    id,
    findings,
    `200, ${list?.length} contact(s)${name ? `, the first: ${name}` : ''}, in ${ms(answer.ms)}`,
  );
}

function hitList(state: State): unknown[] | undefined {
  const list = state.hit?.status === 200 ? state.hit.json : undefined;
  return Array.isArray(list) && list.length > 0 ? list : undefined;
}

/** The contacts of lookup.hit for a point that looks at them; without any, the point is skipped. */
function hitContacts(state: State, id: CheckId, advice: string): unknown[] | undefined {
  if (stopped(state, id)) return undefined;
  const list = hitList(state);
  if (!list) {
    skip(
      state,
      id,
      state.number === undefined ? 'no --number given' : 'no contact found (see lookup.hit)',
      advice,
    );
  }
  return list;
}

function lookupFields(state: State): void {
  const id = 'lookup.fields';
  const list = hitContacts(
    state,
    id,
    'Pass --number with a number that has a contact, so its card can be checked.',
  );
  if (!list) return;
  const findings = contactFindings(list, state.workflow ? { workflow: state.workflow } : {});
  judge(state, id, findings, `${list.length} contact(s), every field of the expected type`);
}

function lookupCount(state: State): void {
  const id = 'lookup.count';
  const list = hitContacts(state, id, 'Pass --number with a number that has a contact.');
  if (!list) return;
  const findings =
    list.length > MAX_RESULTS
      ? [
          fail(
            `${list.length} results`,
            `Answer at most ${MAX_RESULTS} contacts, the best matches first: the API recommends it, and more only delay the call screen.`,
          ),
        ]
      : [];
  judge(state, id, findings, `${list.length} result(s)`, { results: list.length });
}

async function lookupMiss(state: State): Promise<void> {
  const id = 'lookup.miss';
  if (stopped(state, id)) return;
  const answer = await send(state.target, lookupRequest(state.missNumber));
  state.miss = answer;
  const findings = lookupAnswerFindings(answer, `POST /Lookup for ${state.missNumber}`);
  const list = answer.status === 200 && Array.isArray(answer.json) ? answer.json : undefined;
  if (list && list.length > 0) {
    findings.unshift(
      warn(
        `${list.length} contact(s) for ${state.missNumber}, which should belong to nobody`,
        'Match numbers exactly, never by their last digits; if this number is really in the CRM, pass another with --miss-number.',
      ),
    );
  }
  if (list && state.reference === undefined) state.reference = { number: state.missNumber, ids: idsOf(list) };
  judge(state, id, findings, `200 [] in ${ms(answer.ms)}`);
}

/** Findings on a lookup sent in another form, compared with the body form's answer. */
function sameAnswer(
  state: State,
  answer: Exchange,
  what: string,
  level: 'fail' | 'warn',
  advice: string,
): Finding[] {
  const reference = state.reference!;
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

function noReference(state: State, id: CheckId): boolean {
  if (state.reference !== undefined) return false;
  skip(
    state,
    id,
    'the JSON body form gave no usable answer to compare with',
    'Fix lookup.hit and lookup.miss first.',
  );
  return true;
}

async function lookupLegacy(state: State): Promise<void> {
  const id = 'lookup.legacy';
  if (stopped(state, id) || noReference(state, id)) return;
  const { number } = state.reference!;
  const advice =
    'Older CONNECTOR versions sent the number as ?PhoneNumber= with no body: read it from the query on GET and POST when the body has no inputs.';
  const findings: Finding[] = [];
  for (const method of ['POST', 'GET'] as const) {
    const answer = await send(state.target, { method, path: '/Lookup', query: { PhoneNumber: number } });
    findings.push(...sameAnswer(state, answer, `${method} /Lookup?PhoneNumber=${number}`, 'warn', advice));
  }
  judge(state, id, findings, `POST and GET ?PhoneNumber=${number} give the same answer as the JSON body`);
}

async function lookupContentType(state: State): Promise<void> {
  const id = 'lookup.content-type';
  if (stopped(state, id) || noReference(state, id)) return;
  const { number } = state.reference!;
  const findings: Finding[] = [];
  const forms: [string, string | null, 'fail' | 'warn'][] = [
    ['application/json; charset=utf-8', 'application/json; charset=utf-8', 'fail'],
    ['no Content-Type', null, 'warn'],
    ['text/plain', 'text/plain', 'warn'],
  ];
  for (const [label, contentType, level] of forms) {
    const answer = await send(state.target, lookupRequest(number, { contentType }));
    findings.push(
      ...sameAnswer(
        state,
        answer,
        `the JSON body with ${label}`,
        level,
        contentType?.startsWith('application/json')
          ? 'Accept application/json with parameters such as charset.'
          : 'Read the body as JSON whatever its Content-Type: the API does not say which one the CONNECTOR sends, and HTTP clients differ.',
      ),
    );
  }
  judge(state, id, findings, 'read with a charset, with text/plain and with no Content-Type');
}

interface BadBody {
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

async function badBodies(
  state: State,
  id: CheckId,
  bodies: readonly BadBody[],
  path = '/Lookup',
): Promise<void> {
  if (stopped(state, id)) return;
  const findings: Finding[] = [];
  const statuses: string[] = [];
  for (const bad of bodies) {
    const answer = await send(state.target, {
      path,
      ...(bad.raw !== undefined ? { raw: bad.raw } : { body: bad.body }),
    });
    statuses.push(outcomeOf(answer));
    findings.push(...cleanRefusal(answer, `${bad.label} to POST ${path}`));
  }
  judge(state, id, findings, `${bodies.map((b, i) => `${b.label}: ${statuses[i]}`).join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// The workflow.

function testCall(state: State, overrides: { from?: string } = {}): Record<string, string> {
  return callInputs({
    from: overrides.from ?? state.number ?? state.missNumber,
    to: USER_LINE,
    direction: 'incoming',
    endedAt: (state.options.now ?? Date.now)(),
    ringMs: 6000,
    talkSeconds: 95,
    ...(state.firstContact?.id !== undefined && { contactCrmId: state.firstContact.id }),
    ...(state.firstContact?.name !== undefined && { contactName: state.firstContact.name }),
  });
}

function noWorkflow(state: State, id: CheckId): boolean {
  if (state.workflow) return stopped(state, id);
  skip(state, id, 'no --workflow given', workflowAdvice);
  return true;
}

async function workflowAnswer(state: State): Promise<void> {
  const id = 'workflow.answer';
  if (noWorkflow(state, id)) return;
  const path = `/${encodeURIComponent(state.workflow!)}`;
  const call = testCall(state);
  const answer = await send(state.target, { path, body: { inputs: call } });
  const what = `POST ${path}`;
  if (answer.status === undefined) return judge(state, id, [noAnswer(answer, what)], '');
  if (answer.status === 429) return judge(state, id, [limited(answer, what, 'fail')], '');
  const checked = workflowFindings(answer.status, answer.text, answer.json, answer.isJson);
  const findings = [...checked.findings];
  if (answer.status === 404) {
    findings[0] = fail(
      `${what} answered 404`,
      `Serve the workflow at <root>/${state.workflow}: the name is the one listed in crmActions, case included.`,
    );
  } else if (answer.status >= 200 && answer.status < 300) {
    state.call = call;
    if (checked.id !== undefined) state.callId = checked.id;
  }
  judge(state, id, findings, `200 {id: "${checked.id}", url: "${checked.url}"} in ${ms(answer.ms)}`);
}

async function workflowRepeat(state: State): Promise<void> {
  const id = 'workflow.repeat';
  if (noWorkflow(state, id)) return;
  if (state.call === undefined || state.callId === undefined) {
    return skip(state, id, 'the first post gave no id (see workflow.answer)', 'Fix workflow.answer first.');
  }
  const path = `/${encodeURIComponent(state.workflow!)}`;
  const answer = await send(state.target, { path, body: { inputs: state.call } });
  if (answer.status === undefined) return judge(state, id, [noAnswer(answer, `POST ${path} again`)], '');
  if (answer.status === 429) return judge(state, id, [limited(answer, `POST ${path} again`, 'fail')], '');
  const again = workflowFindings(answer.status, answer.text, answer.json, answer.isJson);
  const findings = again.findings.filter((f) => f.level === 'fail');
  if (findings.length === 0 && again.id !== state.callId) {
    findings.push(
      warn(
        again.id === undefined
          ? `the same call posted again got no id, where the first got ${JSON.stringify(state.callId)}`
          : `the same call posted again got id ${JSON.stringify(again.id)}, not ${JSON.stringify(state.callId)}`,
        'The CONNECTOR may send the same call more than once (CallFlow can run automatically after every call): derive the record from the call (numbers, direction, user, start time) so that a repeat updates it instead of creating another.',
      ),
    );
  }
  judge(state, id, findings, `the same id again (${state.callId})`);
}

async function workflowExtended(state: State): Promise<void> {
  const id = 'workflow.extended';
  if (noWorkflow(state, id)) return;
  if (state.call === undefined) {
    return skip(
      state,
      id,
      'the workflow did not accept a plain call (see workflow.answer)',
      'Fix workflow.answer first.',
    );
  }
  const path = `/${encodeURIComponent(state.workflow!)}`;
  // The same call once more, with fields a future CONNECTOR might add.
  const inputs = {
    ...state.call,
    callId: 'callcard-check-1',
    queueName: 'Support',
    recording: { seconds: 95 },
  };
  const answer = await send(state.target, { path, body: { inputs } });
  const what = `POST ${path} with unknown fields in inputs`;
  let findings: Finding[];
  if (answer.status === undefined) findings = [noAnswer(answer, what)];
  else if (answer.status === 429) findings = [limited(answer, what, 'fail')];
  else if (answer.status < 200 || answer.status > 299) {
    findings = [
      fail(
        `${what} answered ${answer.status}: ${excerpt(answer.text, 80)}`,
        'The API says the workflow payload "could be extended in the future": accept and ignore (or keep) fields you do not know.',
      ),
    ];
  } else findings = [];
  judge(state, id, findings, `${answer.status}`);
}

async function workflowBadBody(state: State): Promise<void> {
  const id = 'workflow.bad-body';
  if (noWorkflow(state, id)) return;
  await badBodies(
    state,
    id,
    [
      { label: 'truncated JSON', raw: '{"inputs":{"direction":"inc' },
      { label: '{"inputs":"..."}', body: { inputs: 'incoming' } },
    ],
    `/${encodeURIComponent(state.workflow!)}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Latency.

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

async function latency(state: State): Promise<void> {
  const id = 'latency';
  if (stopped(state, id)) return;
  const samples = state.options.samples ?? DEFAULTS.samples;
  const maxP95 = state.options.maxP95Ms ?? DEFAULTS.maxP95Ms;
  const warnP95 = Math.min(state.options.warnP95Ms ?? DEFAULTS.warnP95Ms, maxP95);
  const number = hitList(state) ? state.number! : state.missNumber;
  const times: number[] = [];
  const findings: Finding[] = [];
  let failed = 0;
  let refused = 0;
  // One after the other, as calls come: this measures the answer time, not throughput.
  for (let i = 0; i < samples; i++) {
    const answer = await send(state.target, lookupRequest(number));
    if (answer.status === undefined) {
      findings.push(noAnswer(answer, `lookup ${i + 1} of ${samples}`));
      break;
    }
    times.push(answer.ms);
    if (answer.status >= 500) failed++;
    if (answer.status === 429) refused++;
  }
  if (refused > 0) {
    findings.push(fail(`${refused} of ${times.length} lookups answered 429 (rate limited)`, LIMITED_ADVICE));
  }
  if (failed > 0) {
    findings.push(
      fail(
        `${failed} of ${times.length} lookups answered 5xx`,
        'Lookups must answer reliably: find out from the service log why some fail.',
      ),
    );
  }
  if (times.length === 0) return judge(state, id, findings, '');
  const sorted = [...times].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 10) / 10;
  const data = {
    samples: times.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]!),
  };
  const summary = `${times.length} lookups: p50 ${ms(data.p50)}, p95 ${ms(data.p95)}, p99 ${ms(data.p99)}, max ${ms(data.max)}`;
  const slow =
    'The card must reach the user while the phone rings: answer within a few hundred ms, with a deadline on slow CRMs (answer what was found by then, or []).';
  if (data.p95 > maxP95) findings.push(fail(`${summary} (p95 above ${maxP95} ms)`, slow));
  else if (data.p95 > warnP95) findings.push(warn(`${summary} (p95 above ${warnP95} ms)`, slow));
  judge(state, id, findings, summary, data);
}

// ---------------------------------------------------------------------------------------------

/** Header values never appear in a result, even when a service echoes them back. */
function redact(results: readonly CheckResult[], secrets: readonly string[]): CheckResult[] {
  const hide = hider(secrets);
  return results.map((result) => ({
    ...result,
    detail: hide(result.detail),
    ...(result.advice !== undefined && { advice: hide(result.advice) }),
  }));
}
