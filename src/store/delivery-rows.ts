import type { Delivery, DeliveryStatus } from './outbox-types.js';

// The outbox's row and how it becomes a delivery: the same for every store.

/**
 * A row of the deliveries table. `Big` is how the driver answers its bigint columns (SQLite:
 * number; PostgreSQL: string), `Flag` how it answers `held` (SQLite: 0/1; PostgreSQL: boolean).
 */
export interface DeliveryRow<Big extends number | string = number, Flag = number> {
  seq: Big;
  id: string;
  workflow: string;
  call_id: string;
  action: number;
  action_type: string;
  order_key: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  max_attempts: number;
  next_at: Big;
  held: Flag;
  locked_by: string | null;
  locked_until: Big | null;
  last_error: string | null;
  result_id: string | null;
  result_url: string | null;
  update_of: string | null;
  version: number;
  created_at: Big;
  updated_at: Big;
}

export function toDelivery(row: DeliveryRow<number | string, unknown>): Delivery {
  return {
    id: row.id,
    workflow: row.workflow,
    callId: row.call_id,
    action: row.action,
    actionType: row.action_type,
    orderKey: row.order_key,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    maxAttempts: row.max_attempts,
    status: row.status,
    attempts: row.attempts,
    nextAt: Number(row.next_at),
    ...(row.locked_by !== null && { lockedBy: row.locked_by }),
    ...(row.locked_until !== null && { lockedUntil: Number(row.locked_until) }),
    ...(row.last_error !== null && { lastError: row.last_error }),
    ...(row.result_id !== null && { resultId: row.result_id }),
    ...(row.result_url !== null && { resultUrl: row.result_url }),
    ...(row.update_of !== null && { updateOf: row.update_of }),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
