import { openTenantStore } from '../core/open-store.js';
import type { Delivery, DeliveryStatus, OutboxStore } from '../store/outbox-types.js';
import { type CommonOptions, isoTime } from './calls.js';
import { DELIVERY_STATUSES } from './flags.js';
import { table } from './format.js';
import type { CommandIo } from './io.js';
import { loadTenant } from './load.js';

export { DELIVERY_STATUSES };

/** Deliveries listed when --limit is not given. */
export const DEFAULT_DELIVERIES = 50;

async function withOutbox(
  options: CommonOptions,
  io: CommandIo,
  use: (outbox: OutboxStore) => Promise<void>,
): Promise<void> {
  const { tenant } = loadTenant(options, io);
  // The outbox is all this reads or changes: the store alone, no source or action is opened.
  const store = await openTenantStore(tenant);
  try {
    await use(store.outbox);
  } finally {
    await store.close();
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
  io: CommandIo,
): Promise<void> {
  await withOutbox(options, io, async (outbox) => {
    const deliveries = await outbox.list({
      ...(options.status && { status: options.status }),
      limit: options.limit ?? DEFAULT_DELIVERIES,
    });
    const counts = await outbox.counts();
    const summary = DELIVERY_STATUSES.map((status) => `${counts[status]} ${status}`).join(', ');
    io.stdout.write(
      deliveries.length === 0
        ? `no deliveries${options.status ? ` ${options.status}` : ''}\n${summary}\n`
        : `${table(deliveryRows(deliveries, Date.now()))}\n${summary}\n`,
    );
  });
}

/** `callcard outbox retry ID`: a dead or pending delivery is tried again at once, attempts reset. */
export async function retryDeliveryCommand(id: string, options: CommonOptions, io: CommandIo): Promise<void> {
  await withOutbox(options, io, async (outbox) => {
    const delivery = await outbox.get(id);
    if (!delivery) throw new Error(`no delivery "${id}"`);
    if (!(await outbox.retry(id, Date.now()))) {
      throw new Error(`delivery "${id}" is ${delivery.status}: only dead or pending deliveries are retried`);
    }
    io.stdout.write(`delivery "${id}" will be tried again at once by the running service (attempts reset)\n`);
  });
}

/** `callcard outbox drop ID`: removes a delivery that is not running. */
export async function dropDeliveryCommand(id: string, options: CommonOptions, io: CommandIo): Promise<void> {
  await withOutbox(options, io, async (outbox) => {
    const delivery = await outbox.get(id);
    if (!delivery) throw new Error(`no delivery "${id}"`);
    if (!(await outbox.drop(id))) {
      throw new Error(`delivery "${id}" is ${delivery.status}: a running delivery cannot be dropped`);
    }
    io.stdout.write(`delivery "${id}" dropped (it was ${delivery.status})\n`);
  });
}
