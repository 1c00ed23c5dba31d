import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for Pipedrive's API, written from its published reference (see
 * pipedrive.schema.json for the documents): API v2 `GET /api/v2/persons` and
 * `GET /api/v2/organizations` (`limit` ≤ 500, opaque `cursor`, `updated_since` in RFC 3339,
 * `org_id`, `ids`; answers `{success, data, additional_data: {next_cursor}}`, deleted records not
 * listed), API v1 `POST /api/v1/callLogs` and `GET /api/v1/callLogs` (`start`, `limit` ≤ 50).
 * The API token goes in the `x-api-token` header (a wrong one: 401 `{success: false}`); bearer
 * tokens from `/token` stand for OAuth2. Simplifications: call logs listed oldest first; no
 * permissions (every record is visible).
 */

export interface PipedrivePerson {
  id: number | string;
  name?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  org_id?: number | null;
  phones?: unknown;
  update_time?: string;
  is_deleted?: boolean;
  postal_address?: { value?: string | null; country?: string | null } | null;
}

export interface PipedriveOrganization {
  id: number;
  name: string;
  update_time?: string;
  is_deleted?: boolean;
  address?: { value?: string | null; country?: string | null } | null;
  custom_fields?: Record<string, unknown>;
}

export const PIPEDRIVE_TOKEN = 'pd-0123456789abcdef0123456789abcdef';

const check = schemaOf('./pipedrive.schema.json');

export interface PipedriveFake extends FakeVendor {
  readonly persons: PipedrivePerson[];
  readonly organizations: PipedriveOrganization[];
  readonly callLogs: Record<string, unknown>[];
  /** Records given as they are, past the schema (a malformed record in a page). */
  readonly extraPersons: unknown[];
}

export async function startPipedriveFake(options: { strictIds?: boolean } = {}): Promise<PipedriveFake> {
  const persons: PipedrivePerson[] = [];
  const organizations: PipedriveOrganization[] = [];
  const callLogs: Record<string, unknown>[] = [];
  const extraPersons: unknown[] = [];
  // The fake's own list once it runs: the routes' checks and its failures in one place.
  let violations: string[] = [];

  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };

  function collection<T extends { id: number | string; update_time?: string; is_deleted?: boolean }>(
    request: Recorded,
    records: readonly T[],
    extra: readonly unknown[],
    schema: string,
  ): Reply {
    const query = Object.fromEntries(request.url.searchParams);
    verify('listQuery', query);
    const limit = Number(query['limit'] ?? 100);
    if (limit > 500) return { status: 400, body: { success: false, error: 'limit too large' } };
    let found: unknown[] = records.filter((record) => record.is_deleted !== true);
    if (query['updated_since']) {
      const since = Date.parse(query['updated_since']);
      found = (found as T[]).filter((record) => Date.parse(record.update_time ?? '') >= since);
    } else found = [...found, ...extra];
    if (query['org_id'])
      found = (found as PipedrivePerson[]).filter((p) => String(p.org_id) === query['org_id']);
    if (query['ids']) {
      const ids = query['ids'].split(',');
      found = (found as T[]).filter((record) => ids.includes(String(record.id)));
    }
    const start = query['cursor'] ? Number(Buffer.from(query['cursor'], 'base64url').toString()) : 0;
    const page = found.slice(start, start + limit);
    const next =
      start + limit < found.length ? Buffer.from(String(start + limit)).toString('base64url') : null;
    const body = { success: true, data: page, additional_data: { next_cursor: next } };
    // Records put in on purpose (malformed, or with the contract's text ids) are not the vendor's.
    if (options.strictIds !== false && extra.length === 0) verify(schema, body);
    return { status: 200, body };
  }

  const fake = await startFakeVendor({
    authorized: (headers) => headers['x-api-token'] === PIPEDRIVE_TOKEN,
    unauthorized: { status: 401, body: { success: false, error: 'unauthorized access', errorCode: 401 } },
    route(request) {
      const path = request.url.pathname;
      if (request.method === 'GET' && path === '/api/v2/persons')
        return collection(request, persons, extraPersons, 'personsResponse');
      if (request.method === 'GET' && path === '/api/v2/organizations')
        return collection(request, organizations, [], 'organizationsResponse');
      if (path === '/api/v1/callLogs' && request.method === 'POST') {
        verify('addCallLogRequest', request.body);
        const input = request.body as Record<string, unknown>;
        if (typeof input?.['to_phone_number'] !== 'string')
          return { status: 400, body: { success: false, error: 'to_phone_number is required' } };
        const log = { ...input, id: `cl${callLogs.length + 1}a`, has_recording: false, company_id: 7 };
        callLogs.push(log);
        const body = { success: true, data: log };
        verify('callLogResponse', body);
        return { status: 200, body };
      }
      if (path === '/api/v1/callLogs' && request.method === 'GET') {
        const query = Object.fromEntries(request.url.searchParams);
        verify('callLogsQuery', query);
        const start = Number(query['start'] ?? 0);
        const limit = Math.min(Number(query['limit'] ?? 20), 50);
        const body = {
          success: true,
          data: callLogs.slice(start, start + limit),
          additional_data: {
            pagination: { start, limit, more_items_in_collection: start + limit < callLogs.length },
          },
        };
        verify('callLogsResponse', body);
        return { status: 200, body };
      }
      return undefined;
    },
  });
  violations = fake.violations;
  return Object.assign(fake, { persons, organizations, callLogs, extraPersons });
}
