// A webhook target for the workflow scenarios of the bench (callflow, callflow-down, outbox-drain),
// run as its own process. POST /hook answers at once: 200 {"id": "T-<n>", "url": "http://127.0.0.1:<port>/records/T-<n>"} while up, or
// the configured failure status (503) while down. It keeps what the bench checks afterwards:
// every Idempotency-Key answered 200 (and how often it came), and, per contact (body.call.contactCrmId),
// whether the sequence number in body.call.benchSeq only grew in the order the deliveries arrived.
// Only keys answered 200 count as received: a refused attempt (503) is not a delivery.
//
// Control (127.0.0.1 only): GET /_bench/stats, POST /_bench/status/<code> (200 up, 503 down),
// POST /_bench/reset, GET /healthz.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env['HOOK_PORT'] ?? 18184);
let status = Number(process.env['HOOK_STATUS'] ?? 200);
let statusSince = Date.now();

interface State {
  requests: number;
  byStatus: Record<string, number>;
  /** Idempotency-Key → its record id and how often it came. */
  keys: Map<string, { id: string; n: number }>;
  keysTwice: number;
  extraReceipts: number;
  withoutKey: number;
  badBodies: number;
  /** contactCrmId → last benchSeq delivered. */
  lastSeq: Map<string, number>;
  orderChecked: number;
  orderViolations: number;
  violationSamples: string[];
  first200At: number | null;
  lastNewKeyAt: number | null;
}

/** What GET /_bench/stats answers. */
export interface HookStats {
  readonly status: number;
  readonly statusSince: number;
  readonly requests: number;
  readonly byStatus: Record<string, number>;
  readonly distinctKeys: number;
  readonly keysTwice: number;
  readonly extraReceipts: number;
  readonly withoutKey: number;
  readonly badBodies: number;
  readonly contacts: number;
  readonly orderChecked: number;
  readonly orderViolations: number;
  readonly violationSamples: readonly string[];
  readonly first200At: number | null;
  readonly lastNewKeyAt: number | null;
  readonly now: number;
}

let state = fresh();

function fresh(): State {
  return {
    requests: 0,
    byStatus: {},
    keys: new Map(),
    keysTwice: 0,
    extraReceipts: 0,
    withoutKey: 0,
    badBodies: 0,
    lastSeq: new Map(),
    orderChecked: 0,
    orderViolations: 0,
    violationSamples: [],
    first200At: null,
    lastNewKeyAt: null,
  };
}

function send(response: ServerResponse, code: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function hook(request: IncomingMessage, response: ServerResponse, text: string): void {
  state.requests++;
  state.byStatus[status] = (state.byStatus[status] ?? 0) + 1;
  if (status !== 200) {
    send(response, status, { error: 'down' });
    return;
  }
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '') {
    state.withoutKey++;
    send(response, 400, { error: 'no Idempotency-Key' });
    return;
  }
  const now = Date.now();
  state.first200At ??= now;
  const known = state.keys.get(key);
  if (known) {
    known.n++;
    state.extraReceipts++;
    if (known.n === 2) state.keysTwice++;
    send(response, 200, { id: known.id, url: `http://127.0.0.1:${port}/records/${known.id}` });
    return;
  }
  const id = `T-${state.keys.size + 1}`;
  state.keys.set(key, { id, n: 1 });
  state.lastNewKeyAt = now;
  let call: { contactCrmId?: unknown; benchSeq?: unknown } | undefined;
  try {
    call = (JSON.parse(text) as { call?: typeof call }).call;
  } catch {
    state.badBodies++;
  }
  const contact = call?.contactCrmId;
  const seq = call?.benchSeq;
  if (typeof contact === 'string' && contact !== '' && typeof seq === 'number') {
    state.orderChecked++;
    const last = state.lastSeq.get(contact);
    if (last !== undefined && seq <= last) {
      state.orderViolations++;
      if (state.violationSamples.length < 5)
        state.violationSamples.push(`${contact}: seq ${seq} arrived after ${last}`);
    }
    state.lastSeq.set(contact, seq);
  }
  send(response, 200, { id, url: `http://127.0.0.1:${port}/records/${id}` });
}

function stats(): HookStats {
  return {
    status,
    statusSince,
    requests: state.requests,
    byStatus: state.byStatus,
    distinctKeys: state.keys.size,
    keysTwice: state.keysTwice,
    extraReceipts: state.extraReceipts,
    withoutKey: state.withoutKey,
    badBodies: state.badBodies,
    contacts: state.lastSeq.size,
    orderChecked: state.orderChecked,
    orderViolations: state.orderViolations,
    violationSamples: state.violationSamples,
    first200At: state.first200At,
    lastNewKeyAt: state.lastNewKeyAt,
    now: Date.now(),
  };
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const path = request.url ?? '/';
    if (request.method === 'POST' && path === '/hook')
      return hook(request, response, Buffer.concat(chunks).toString('utf8'));
    if (path === '/healthz') return send(response, 200, { status: 'ok' });
    if (request.method === 'GET' && path === '/_bench/stats') return send(response, 200, stats());
    if (request.method === 'POST' && path === '/_bench/reset') {
      state = fresh();
      return send(response, 200, stats());
    }
    const set = /^\/_bench\/status\/(\d{3})$/.exec(path);
    if (request.method === 'POST' && set) {
      status = Number(set[1]);
      statusSince = Date.now();
      return send(response, 200, stats());
    }
    send(response, 404, { error: 'not found' });
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => process.stderr.write(`webhook target on 127.0.0.1:${port}\n`));
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
