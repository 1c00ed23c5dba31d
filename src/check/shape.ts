/**
 * What the CONNECTOR expects to read, as checks on parsed answers: the contact cards of a lookup
 * and the `{id, url}` of a workflow. Shared by `check` and `simulate`.
 */

export interface Finding {
  readonly level: 'fail' | 'warn';
  readonly detail: string;
  readonly advice: string;
}

export const MAX_RESULTS = 5;

const STRING_FIELDS = ['name', 'company', 'contactUri', 'companyUri', 'id', 'crmName', 'crmLogo'] as const;
const URI_FIELDS = new Set(['contactUri', 'companyUri', 'crmLogo']);
// The older samples' spelling; the current API answers in camelCase.
const PASCAL_FIELDS = [...STRING_FIELDS, 'crmActions', 'customData'].map(
  (name) => name[0]!.toUpperCase() + name.slice(1),
);

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const show = (value: unknown) => JSON.stringify(value)?.slice(0, 60) ?? String(value);

/** Problems in the contact cards of a lookup answer (an array, checked by the caller). */
export function contactFindings(entries: readonly unknown[], options: { workflow?: string } = {}): Finding[] {
  // The same problem in several entries is one finding: the first entry's detail and a count.
  const found = new Map<string, Finding & { count: number }>();
  let key = '';
  const note = (level: Finding['level'], detail: string, advice: string) => {
    const seen = found.get(`${level} ${key}`);
    if (seen) seen.count++;
    else found.set(`${level} ${key}`, { level, detail, advice, count: 1 });
  };
  const fail = (detail: string, advice: string) => note('fail', detail, advice);
  const warn = (detail: string, advice: string) => note('warn', detail, advice);
  entries.forEach((entry, i) => {
    const at = `[${i}]`;
    key = 'entry';
    if (!isObject(entry)) {
      fail(`${at} is ${typeName(entry)}`, 'Each entry of the array must be a JSON object (a contact card).');
      return;
    }
    for (const field of STRING_FIELDS) {
      if (!(field in entry)) continue;
      const value = entry[field];
      key = field;
      if (value === null) {
        warn(`${at}.${field} is null`, 'Leave out fields that have no value instead of sending null.');
      } else if (typeof value !== 'string') {
        fail(
          `${at}.${field} is ${typeName(value)} (${show(value)})`,
          `Send ${field} as a JSON string${typeof value === 'number' ? ` ("${value}")` : ''}.`,
        );
      } else if (URI_FIELDS.has(field)) {
        if (value.trim() === '') {
          warn(
            `${at}.${field} is empty`,
            'Leave out a link the contact does not have instead of sending "".',
          );
        } else if (!isAbsoluteHttpUrl(value)) {
          fail(
            `${at}.${field} is not an absolute http(s) URL (${show(value)})`,
            `The user's browser opens ${field} as is: send a full URL such as https://crm.example.com/contacts/42.`,
          );
        }
      }
    }
    key = 'name';
    if (typeof entry['name'] !== 'string' && typeof entry['company'] !== 'string') {
      warn(
        `${at} has neither name nor company`,
        'Send name or company: the card shows nothing else to recognise the caller.',
      );
    }
    key = 'no id';
    if (entry['id'] === undefined) {
      warn(
        `${at} has no id`,
        'Send the CRM id as id: workflows receive it back as contactCrmId to attach the call to the contact.',
      );
    }
    key = 'crmActions';
    if ('crmActions' in entry) {
      const actions = entry['crmActions'];
      if (!Array.isArray(actions) || actions.some((action) => typeof action !== 'string')) {
        fail(
          `${at}.crmActions is ${Array.isArray(actions) ? 'an array with non-strings' : typeName(actions)}`,
          'crmActions must be an array of workflow names, e.g. ["CallFlow"].',
        );
      } else if (options.workflow && !actions.includes(options.workflow)) {
        warn(
          `${at}.crmActions does not list ${options.workflow}`,
          `List the workflows the contact offers in crmActions (["${options.workflow}"]) so the CONNECTOR shows them.`,
        );
      }
    }
    key = 'customData';
    if ('customData' in entry) {
      const data = entry['customData'];
      if (!isObject(data)) {
        fail(
          `${at}.customData is ${typeName(data)}`,
          'customData must be a flat JSON object of label to text, e.g. {"E-mail":"a@example.com"}.',
        );
      } else {
        for (const [label, value] of Object.entries(data)) {
          if (typeof value === 'string') continue;
          key = `customData.${label}`;
          if (typeof value === 'object' && value !== null) {
            fail(
              `${at}.customData.${label} is ${typeName(value)}`,
              'customData is shown as "label: value" lines: give each label a text value, not an object or array.',
            );
          } else {
            warn(`${at}.customData.${label} is ${typeName(value)}`, 'Send customData values as strings.');
          }
        }
      }
    }
    key = 'customFields';
    if ('customFields' in entry && !('customData' in entry)) {
      warn(
        `${at} has customFields but no customData`,
        'Name the key-value object customData, as in the API sample: that is what the CONNECTOR shows.',
      );
    }
    key = 'PascalCase';
    const pascal = PASCAL_FIELDS.filter((name) => name in entry);
    if (pascal.length > 0) {
      warn(
        `${at} uses PascalCase keys (${pascal.join(', ')})`,
        'Answer in camelCase (name, company, contactUri...), as the current API sample does.',
      );
    }
  });
  return [...found.values()].map(({ count, ...finding }) =>
    count === 1 ? finding : { ...finding, detail: `${finding.detail} (and in ${count - 1} more)` },
  );
}

export interface WorkflowAnswer {
  readonly findings: Finding[];
  readonly id?: string;
  readonly url?: string;
}

/** Problems in a workflow's answer: the whole answer and each field are optional, but typed. */
export function workflowFindings(
  status: number,
  text: string,
  json: unknown,
  isJson: boolean,
): WorkflowAnswer {
  const findings: Finding[] = [];
  const fail = (detail: string, advice: string) => findings.push({ level: 'fail', detail, advice });
  const warn = (detail: string, advice: string) => findings.push({ level: 'warn', detail, advice });
  if (status < 200 || status > 299) {
    fail(`answered ${status}`, 'Answer a workflow with 200 once it is accepted.');
    return { findings };
  }
  if (text.trim() === '') {
    warn(
      'the answer is empty',
      'Answer {"id":"...","url":"https://..."} so the user can open what the workflow created.',
    );
    return { findings };
  }
  if (!isJson) {
    fail(
      'the answer is not JSON',
      'Answer with a JSON object {"id":"...","url":"https://..."} (Content-Type: application/json).',
    );
    return { findings };
  }
  if (!isObject(json)) {
    fail(
      `the answer is ${typeName(json)}, not an object`,
      'Answer with a JSON object {"id":"...","url":"https://..."}.',
    );
    return { findings };
  }
  let id: string | undefined;
  let url: string | undefined;
  const rawId = json['id'];
  if (rawId === undefined || rawId === null) {
    warn('no id', 'Send the id of the record the workflow created.');
  } else if (typeof rawId !== 'string') {
    fail(
      `id is ${typeName(rawId)} (${show(rawId)})`,
      `Send id as a JSON string${typeof rawId === 'number' ? ` ("${rawId}")` : ''}.`,
    );
  } else id = rawId;
  const rawUrl = json['url'];
  if (rawUrl === undefined || rawUrl === null) {
    warn('no url', 'Send url, the page of the created record: the CONNECTOR can open it after the call.');
  } else if (typeof rawUrl !== 'string') {
    fail(`url is ${typeName(rawUrl)}`, 'Send url as a JSON string with a full https:// address.');
  } else if (!isAbsoluteHttpUrl(rawUrl)) {
    fail(
      `url is not an absolute http(s) URL (${show(rawUrl)})`,
      'Send a full URL such as https://crm.example.com/calls/42.',
    );
  } else url = rawUrl;
  return { findings, ...(id !== undefined && { id }), ...(url !== undefined && { url }) };
}
