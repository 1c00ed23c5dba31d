import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NewDelivery } from '../../src/store/outbox-types.js';
import { type Action, DeliveryError } from '../../src/workflows/actions/types.js';

export const PHONE = '+41445551234';

/** A delivery as a workflow would enqueue it; `n` numbers it within its order key. */
export function newDelivery(id: string, fields: Partial<NewDelivery> & { n?: number } = {}): NewDelivery {
  const { n = 0, orderKey = 'contact-1', ...rest } = fields;
  return {
    id,
    workflow: 'CallFlow',
    callId: id,
    action: 0,
    actionType: 'test',
    orderKey,
    // A phone number, as real payloads carry: the logs must never show it.
    payload: { n, orderKey, number: PHONE },
    maxAttempts: 10,
    ...rest,
  };
}

export interface TargetHit {
  readonly key: string;
  readonly orderKey: string;
  readonly n: number;
}

/**
 * The outside world: a CRM that records each call it is sent, keyed by the Idempotency-Key header.
 * It records a request when it arrives (like a CRM that commits before it answers), then answers
 * after `delayMs`; while `down` it answers 503 and records nothing.
 */
export interface Target {
  readonly url: string;
  /** Every recorded request, in arrival order (repeats of a key included). */
  readonly hits: TargetHit[];
  /** Requests received, down or not. */
  readonly requests: number;
  /** Requests recorded whose answer has not been sent yet. */
  readonly inFlight: number;
  down: boolean;
  /** Sent with the 503s while down, in seconds. */
  retryAfter?: number;
  delayMs: number;
  /** Distinct keys recorded, with how many times each was. */
  counts(): Map<string, number>;
  close(): Promise<void>;
}

export async function startTarget(options: { delayMs?: number; down?: boolean } = {}): Promise<Target> {
  let requests = 0;
  let inFlight = 0;
  const hits: TargetHit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      if (target.down) {
        res.writeHead(
          503,
          target.retryAfter === undefined ? {} : { 'retry-after': String(target.retryAfter) },
        );
        res.end();
        return;
      }
      const key = req.headers['idempotency-key'];
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { orderKey: string; n: number };
      if (typeof key !== 'string') {
        res.writeHead(400).end();
        return;
      }
      hits.push({ key, orderKey: body.orderKey, n: body.n });
      inFlight++;
      const answer = () => {
        inFlight--;
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `crm-${key}` }));
      };
      if (target.delayMs > 0) setTimeout(answer, target.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const target: Target = {
    url: `http://127.0.0.1:${port}/calls`,
    hits,
    get requests() {
      return requests;
    },
    get inFlight() {
      return inFlight;
    },
    down: options.down ?? false,
    delayMs: options.delayMs ?? 0,
    counts() {
      const counts = new Map<string, number>();
      for (const hit of hits) counts.set(hit.key, (counts.get(hit.key) ?? 0) + 1);
      return counts;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return target;
}

/**
 * A test action that POSTs the delivery to a target with its id as `Idempotency-Key`: 5xx, 408 and
 * 429 are retried (with the target's Retry-After), any other 4xx is permanent.
 */
export function httpAction(url: string, options: { sockets?: number } = {}): Action {
  const agent = new Agent({ keepAlive: true, maxSockets: options.sockets ?? 16 });
  return {
    type: 'test',
    run(payload, { signal, deliveryId }) {
      const body = JSON.stringify(payload);
      return new Promise((resolve, reject) => {
        const req = request(
          url,
          {
            method: 'POST',
            agent,
            signal,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'idempotency-key': deliveryId,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', reject);
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              if (status >= 200 && status < 300) {
                const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string };
                resolve({ id: answer.id });
                return;
              }
              const retryAfter = Number(res.headers['retry-after']);
              const retryable = status >= 500 || status === 408 || status === 429;
              reject(
                new DeliveryError(`target answered ${status}`, {
                  permanent: !retryable,
                  ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }),
                }),
              );
            });
          },
        );
        req.on('error', (error) => reject(new DeliveryError(`target unreachable: ${error.message}`)));
        req.end(body);
      });
    },
    async close() {
      agent.destroy();
    },
  };
}

/** Polls until `check` holds, or fails after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Unfinished deliveries whose `held` mark disagrees with the rule it stands for (an earlier
 * unfinished delivery of the same order key): always none, whatever happened.
 */
export function wrongHolds(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'calls.db'), { readonly: true });
  try {
    return db
      .prepare<[], { id: string }>(`
        SELECT id FROM deliveries AS d
        WHERE status IN ('pending', 'running') AND held <> EXISTS (
          SELECT 1 FROM deliveries AS e
          WHERE e.order_key = d.order_key AND e.seq < d.seq AND e.status IN ('pending', 'running'))`)
      .all()
      .map((row) => row.id);
  } finally {
    db.close();
  }
}
