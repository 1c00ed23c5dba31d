import * as z from 'zod';
import type { ConnectionAuths } from '../../net/auth.js';
import type { DeliveryResult } from '../../store/outbox-types.js';

/** Settings every action has: how often a delivery is tried before it is dead. */
export const retrySettings = {
  /** Attempts before the delivery is dead (visible in `callcard outbox`, and retried from there). */
  maxAttempts: z.coerce.number().int().min(1).max(1000).default(12),
};

/** What every action is built with. */
export interface ActionDeps {
  /** Directory that relative paths (secret files) are read against. */
  readonly baseDir: string;
  /** The tenant's OAuth connections, for actions whose auth is oauth2Code. */
  readonly connections?: ConnectionAuths;
}

export interface ActionContext {
  /** Aborted when the attempt's time is up or the service stops. */
  readonly signal: AbortSignal;
  /** The delivery's id: stable across attempts, sent to targets as an idempotency key. */
  readonly deliveryId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /**
   * Set when the delivery updates what an earlier one made (the call changed after it): `of` is the
   * first delivery's id; `made` whether it was made, with the record it answered (`id`, `url`).
   */
  readonly update?: {
    readonly of: string;
    readonly made: boolean;
    readonly id?: string;
    readonly url?: string;
  };
}

/** Something a workflow does for a call in a target system (journal, database, HTTP API). */
export interface Action {
  readonly type: string;
  /** It can update what it made: a call that changes after its delivery then gets an update delivery. */
  readonly updates?: boolean;
  run(payload: Readonly<Record<string, unknown>>, context: ActionContext): Promise<DeliveryResult>;
  close?(): Promise<void>;
}

/** A failed attempt, with what the target said about trying again. */
export class DeliveryError extends Error {
  /** The target asked to wait (HTTP Retry-After). */
  readonly retryAfterMs?: number;
  /** Trying again cannot help (a 4xx other than 408/429): the delivery goes dead at once. */
  readonly permanent: boolean;

  constructor(
    message: string,
    options: { retryAfterMs?: number; permanent?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeliveryError';
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    this.permanent = options.permanent ?? false;
  }
}
