import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for Odoo's external API, written from its published references: the External
 * JSON-2 API of Odoo 19 (`POST /json/2/<model>/<method>`, the method's arguments by name, `ids` for
 * record methods, `Authorization: bearer <api key>`, errors as a 4xx/5xx with `{name, message,
 * arguments, context, debug}`) and the External RPC API of older versions (`POST /jsonrpc`,
 * `common.login(db, login, key)` answering the user's id or false, `object.execute_kw(db, uid, key,
 * model, method, args, kwargs)`, errors as `{error: {code, message, data: {name, message}}}`), with
 * the ORM methods callcard calls: `search_read` (domains in Polish notation: `|`, `&`, `!` and
 * `=`, `!=`, `<`, `<=`, `>`, `>=`, `ilike`, `in`; archived records only with `active_test: false`
 * in the context), `message_post` on partners and `create` of `mail.activity`. Requests and
 * answers are checked against odoo.schema.json. Simplifications: one database, one user; `write_date`
 * is set by the test.
 */

export const ODOO_KEY = '6578616d706c65206a736f6e20617069206b6579';
export const ODOO_DB = 'mycompany';
export const ODOO_LOGIN = 'callcard-bot';
const UID = 7;

export type OdooRecord = Record<string, unknown> & { id: number };

const check = schemaOf('./odoo.schema.json');

export interface OdooFake extends FakeVendor {
  readonly models: Record<string, OdooRecord[]>;
  /** Adds a partner (its `write_date` now, unless given). */
  partner(record: Omit<OdooRecord, 'id'> & { id?: number }): OdooRecord;
}

class OdooFault extends Error {
  constructor(
    readonly odooName: string,
    message: string,
    readonly status = 422,
  ) {
    super(message);
  }
}

const lower = (value: unknown) => String(value).toLowerCase();
const plain = (value: unknown) => (Array.isArray(value) ? value[0] : value);

function matches(record: OdooRecord, domain: unknown[]): boolean {
  const stack: boolean[] = [];
  for (const term of [...domain].reverse()) {
    if (term === '|' || term === '&') {
      const a = stack.pop()!;
      const b = stack.pop()!;
      stack.push(term === '|' ? a || b : a && b);
    } else if (term === '!') stack.push(!stack.pop());
    else if (Array.isArray(term) && term.length === 3) {
      const [field, op, value] = term as [string, string, unknown];
      const have = plain(record[field] ?? false);
      const test: Record<string, () => boolean> = {
        '=': () => have === value,
        '!=': () => have !== value,
        '>': () => String(have) > String(value),
        '>=': () => String(have) >= String(value),
        '<': () => String(have) < String(value),
        '<=': () => String(have) <= String(value),
        ilike: () => lower(have).includes(lower(value).replace(/%/g, '')),
        in: () => Array.isArray(value) && value.includes(have),
      };
      if (!test[op]) throw new OdooFault('ValueError', `Invalid domain operator ${op}`);
      stack.push(test[op]!());
    } else throw new OdooFault('ValueError', 'Invalid domain term');
  }
  // Terms side by side are joined by AND.
  return stack.every(Boolean);
}

export async function startOdooFake(): Promise<OdooFake> {
  const models: Record<string, OdooRecord[]> = {
    'res.partner': [],
    'mail.message': [],
    'mail.activity': [],
    'ir.model': [{ id: 80, model: 'res.partner', name: 'Contact' }],
    'mail.activity.type': [
      { id: 1, name: 'Email', category: 'default' },
      { id: 2, name: 'Call', category: 'phonecall' },
    ],
  };
  let next = 100;
  let violations: string[] = [];
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };
  const now = () => new Date().toISOString().slice(0, 19).replace('T', ' ');

  function execute(
    model: string,
    method: string,
    ids: number[] | undefined,
    kwargs: Record<string, unknown>,
  ) {
    const records = models[model];
    if (!records) throw new OdooFault('KeyError', `Object ${model} doesn't exist`, 404);
    if (method === 'search_read') {
      verify('searchReadKwargs', kwargs);
      const context = (kwargs['context'] ?? {}) as Record<string, unknown>;
      const fields = kwargs['fields'] as string[] | undefined;
      let found = records.filter((record) => matches(record, (kwargs['domain'] as unknown[]) ?? []));
      if ('active' in (records[0] ?? {}) && context['active_test'] !== false)
        found = found.filter((record) => record['active'] !== false);
      if (kwargs['order'] === 'id') found = [...found].sort((a, b) => a.id - b.id);
      const offset = Number(kwargs['offset'] ?? 0);
      const limit = kwargs['limit'] === undefined ? found.length : Number(kwargs['limit']);
      return found.slice(offset, offset + limit).map((record) => {
        const out: Record<string, unknown> = { id: record.id };
        for (const field of fields ?? Object.keys(record)) {
          if (
            model === 'res.partner' &&
            ![
              'id',
              'name',
              'is_company',
              'parent_id',
              'country_id',
              'phone',
              'mobile',
              'active',
              'write_date',
            ].includes(field)
          )
            throw new OdooFault('ValueError', `Invalid field '${field}' on model '${model}'`);
          out[field] = record[field] ?? false;
        }
        if (model === 'res.partner') verify('partner', out);
        return out;
      });
    }
    if (method === 'message_post' && model === 'res.partner') {
      verify('messagePostKwargs', kwargs);
      const partner = records.find((record) => record.id === ids?.[0]);
      if (!partner || ids?.length !== 1)
        throw new OdooFault('odoo.exceptions.MissingError', 'Record does not exist or has been deleted.');
      const message = { id: next++, model, res_id: partner.id, ...kwargs };
      models['mail.message']!.push(message);
      return message.id;
    }
    if (method === 'create' && model === 'mail.activity') {
      const list = kwargs['vals_list'] as Record<string, unknown>[];
      return list.map((values) => {
        verify('activityValues', values);
        const type = models['mail.activity.type']!.find((row) => row.id === values['activity_type_id']);
        if (!type) throw new OdooFault('odoo.exceptions.ValidationError', 'Invalid activity type');
        const activity = { id: next++, res_model: 'res.partner', ...values };
        models['mail.activity']!.push(activity);
        return activity.id;
      });
    }
    throw new OdooFault('AttributeError', `The method '${method}' does not exist on the model '${model}'`);
  }

  function json2(request: Recorded, model: string, method: string): Reply {
    const authorization = String(request.headers.authorization ?? '');
    const fault = (error: OdooFault): Reply => {
      const body = {
        name: error.odooName,
        message: error.message,
        arguments: [error.message],
        context: {},
        debug: 'Traceback (most recent call last): ...',
      };
      verify('json2Error', body);
      return { status: error.status, body };
    };
    if (!/^bearer /i.test(authorization) || authorization.slice(7) !== ODOO_KEY)
      return fault(new OdooFault('werkzeug.exceptions.Unauthorized', 'Invalid apikey', 401));
    verify('json2Body', request.body);
    const { ids, ...kwargs } = (request.body ?? {}) as Record<string, unknown>;
    try {
      return { status: 200, body: execute(model, method, ids as number[] | undefined, kwargs) };
    } catch (error) {
      if (error instanceof OdooFault) return fault(error);
      throw error;
    }
  }

  function jsonrpc(request: Recorded): Reply {
    verify('jsonrpcRequest', request.body);
    const body = request.body as {
      id?: unknown;
      params: { service: string; method: string; args: unknown[] };
    };
    const answer = (result: unknown): Reply => ({
      status: 200,
      body: { jsonrpc: '2.0', id: body.id ?? null, result },
    });
    const fault = (error: OdooFault): Reply => ({
      status: 200,
      body: {
        jsonrpc: '2.0',
        id: body.id ?? null,
        error: {
          code: 200,
          message: 'Odoo Server Error',
          data: { name: error.odooName, message: error.message, debug: 'Traceback ...' },
        },
      },
    });
    const { service, method, args } = body.params;
    if (service === 'common' && method === 'login') {
      const [db, login, key] = args;
      return answer(db === ODOO_DB && login === ODOO_LOGIN && key === ODOO_KEY ? UID : false);
    }
    if (service === 'object' && method === 'execute_kw') {
      const [db, uid, key, model, called, positional, kwargs] = args as [
        string,
        number,
        string,
        string,
        string,
        unknown[],
        Record<string, unknown>,
      ];
      if (db !== ODOO_DB || uid !== UID || key !== ODOO_KEY)
        return fault(new OdooFault('odoo.exceptions.AccessDenied', 'Access Denied'));
      try {
        const ids = positional.length > 0 ? (positional[0] as number[]) : undefined;
        return answer(execute(model, called, ids, kwargs ?? {}));
      } catch (error) {
        if (error instanceof OdooFault) return fault(error);
        throw error;
      }
    }
    return fault(new OdooFault('Exception', `No such service method ${service}.${method}`));
  }

  const fake = await startFakeVendor({
    // Each API checks its own credentials: JSON-2 the bearer key, JSON-RPC the key in the call.
    authorized: () => true,
    unauthorized: { status: 401, body: {} },
    route(request) {
      if (request.method !== 'POST') return undefined;
      const path = request.url.pathname;
      if (path === '/jsonrpc') return jsonrpc(request);
      const found = /^\/json\/2\/([a-z_.]+)\/([a-z_]+)$/.exec(path);
      return found ? json2(request, found[1]!, found[2]!) : undefined;
    },
  });
  violations = fake.violations;
  return Object.assign(fake, {
    models,
    partner(record: Omit<OdooRecord, 'id'> & { id?: number }) {
      const made = { active: true, write_date: now(), ...record, id: record.id ?? next++ } as OdooRecord;
      const partners = models['res.partner']!;
      const index = partners.findIndex((existing) => existing.id === made.id);
      if (index >= 0) partners[index] = made;
      else partners.push(made);
      return made;
    },
  });
}
