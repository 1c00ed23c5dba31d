import { type Core, openCore } from '../main.js';
import type { Delivery, DeliveryStatus, OutboxStore } from '../store/outbox-types.js';
import { type CommonOptions, isoTime } from './calls.js';
import { quietLogger, table } from './format.js';
import { loadTenant } from './load.js';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'running', 'done', 'dead'];

/** Deliveries listed when --limit is not given. */
export const DEFAULT_DELIVERIES = 50;

async function withOutbox(
  options: CommonOptions,
  use: (outbox: OutboxStore) => Promise<void>,
): Promise<void> {
  const { config, tenant } = loadTenant(options);
  const core: Core = await openCore(tenant, { logger: quietLogger(config) });
  try {
    await use(core.store.outbox);
  } finally {
    await core.close();
  }
}

/** When it is tried next: only pending and running deliveries have a next try. */
function nextTry(delivery: Delivery, now: number): string {
  if (delivery.status === 'pending') return delivery.nextAt <= now ? 'now' : isoTime(delivery.nextAt);
  if (delivery.status === 'running') {
    return delivery.lockedUntil !== undefined ? `running until ${isoTime(delivery.lockedUntil)}` : 'running';
  }
  return '-';
}

/** An error message on one line, cut short for the table. */
function oneLine(text: string | undefined, max = 100): string {
  if (text === undefined) return '';
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The table of deliveries: never their payloads (the call and the contact they carry). */
export function deliveryRows(deliveries: readonly Delivery[], now: number): string[][] {
  return [
    ['ID', 'WORKFLOW', 'ACTION', 'STATUS', 'ATTEMPTS', 'NEXT TRY', 'LAST ERROR'],
    ...deliveries.map((d) => [
      d.id,
      d.workflow,
      d.actionType,
      d.status,
      `${d.attempts}/${d.maxAttempts}`,
      nextTry(d, now),
      oneLine(d.lastError),
    ]),
  ];
}

/** `callcard outbox`: deliveries in queue order, with the count of each status. */
export async function outboxCommand(
  options: CommonOptions & { readonly status?: DeliveryStatus; readonly limit?: number },
): Promise<void> {
  await withOutbox(options, async (outbox) => {
    const deliveries = await outbox.list({
      ...(options.status && { status: options.status }),
      limit: options.limit ?? DEFAULT_DELIVERIES,
    });
    const counts = await outbox.counts();
    const summary = DELIVERY_STATUSES.map((status) => `${counts[status]} ${status}`).join(', ');
    process.stdout.write(
      deliveries.length === 0
        ? `no deliveries${options.status ? ` ${options.status}` : ''}\n${summary}\n`
        : `${table(deliveryRows(deliveries, Date.now()))}\n${summary}\n`,
    );
  });
}

/** `callcard outbox retry ID`: a dead or pending delivery is tried again at once, attempts reset. */
export async function retryDeliveryCommand(id: string, options: CommonOptions): Promise<void> {
  await withOutbox(options, async (outbox) => {
    const delivery = await outbox.get(id);
    if (!delivery) throw new Error(`no delivery "${id}"`);
    if (!(await outbox.retry(id, Date.now()))) {
      throw new Error(`delivery "${id}" is ${delivery.status}: only dead or pending deliveries are retried`);
    }
    process.stdout.write(
      `delivery "${id}" will be tried again at once by the running service (attempts reset)\n`,
    );
  });
}

/** `callcard outbox drop ID`: removes a delivery that is not running. */
export async function dropDeliveryCommand(id: string, options: CommonOptions): Promise<void> {
  await withOutbox(options, async (outbox) => {
    const delivery = await outbox.get(id);
    if (!delivery) throw new Error(`no delivery "${id}"`);
    if (!(await outbox.drop(id))) {
      throw new Error(`delivery "${id}" is ${delivery.status}: a running delivery cannot be dropped`);
    }
    process.stdout.write(`delivery "${id}" dropped (it was ${delivery.status})\n`);
  });
}
