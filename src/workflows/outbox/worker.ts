import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as delayFor } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Delivery, OutboxStore } from '../../store/outbox-types.js';
import { raceAbort } from '../../util/abort.js';
import { type Action, DeliveryError } from '../actions/types.js';

export interface BackoffOptions {
  /** Wait after the first failed attempt. */
  readonly baseMs: number;
  /** Longest wait between attempts. */
  readonly maxMs: number;
  /** Growth of the wait from one failed attempt to the next. */
  readonly factor: number;
}

export interface OutboxWorkerOptions {
  readonly store: OutboxStore;
  /** The action that makes a delivery; undefined when none is configured for it (it goes dead). */
  readonly actionFor: (delivery: Delivery) => Action | undefined;
  readonly logger: Logger;
  /** Epoch ms; injected by tests to move time by hand. */
  readonly now?: () => number;
  /**
   * How long a claimed delivery stays this worker's without news from it: the lease is renewed every
   * third of it while the attempt runs, so it can be short (a crashed worker's deliveries wait no
   * longer than this), whatever the attempt's length.
   */
  readonly leaseMs: number;
  /** How often to look for due deliveries when nothing wakes the worker. */
  readonly pollMs: number;
  /** Attempts run at the same time. */
  readonly concurrency: number;
  readonly backoff: BackoffOptions;
  /** An attempt still running after this is aborted and counts as failed. */
  readonly attemptTimeoutMs: number;
  /** Longest wait a target's Retry-After may impose (default: an hour, or `backoff.maxMs` if longer). */
  readonly maxRetryAfterMs?: number;
  /** How long `stop()` lets running attempts finish before aborting them (default 10 s at most). */
  readonly stopGraceMs?: number;
  /** Names this worker in the leases it holds (default: `<instance>:` and a random part, or host, pid and a random part). */
  readonly id?: string;
  /**
   * The stable name of the instance whose outbox this is (kept in its data directory). Its leases
   * are named `<instance>:...`, and at start the worker ends those of the instance's earlier runs:
   * after a crash, their deliveries (and the contacts' later calls queued behind them) go at once.
   */
  readonly instance?: string;
  /** In [0, 1): the jitter's source; injected by tests for exact waits. */
  readonly random?: () => number;
}

export interface OutboxWorker {
  readonly id: string;
  /** Starts polling and running due deliveries. */
  start(): void;
  /**
   * Stops claiming; running attempts get `stopGraceMs` to finish, then are aborted and released
   * for a next attempt. Resolves when every delivery it claimed has been written back.
   */
  stop(): Promise<void>;
  /** Claims one batch (up to the free concurrency) and runs it to the end; answers how many ran. */
  runOnce(): Promise<number>;
  /** Looks for due deliveries now (after an enqueue) instead of at the next poll. */
  kick(): void;
  /**
   * The delivery once done or dead, or once an attempt has failed (its retry is a backoff away), or
   * as it stands when `ms` have passed (so that a request can wait a short budget for it);
   * undefined if there is no such delivery.
   */
  waitFor(deliveryId: string, ms: number): Promise<Delivery | undefined>;
}

/** Share of the backoff wait taken off at random, so that failed deliveries do not retry in step. */
const JITTER = 0.2;
/** Longest error message kept with a delivery or logged. */
const MAX_ERROR_LENGTH = 500;
const DEFAULT_MAX_RETRY_AFTER_MS = 3_600_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEFAULT_STOP_GRACE_MS = 10_000;
const MIN_LEASE_MS = 300;
/** A write-back the store did not take is tried again after this, then twice as long each time, up to the max. */
const WRITE_RETRY_FIRST_MS = 100;
const WRITE_RETRY_MAX_MS = 1000;

/** Why an attempt was cut short; its failure is then not the target's fault. */
class Interrupted extends Error {
  constructor(
    message: string,
    readonly stopping: boolean,
  ) {
    super(message);
  }
}

/**
 * The outbox worker: claims due deliveries, runs their actions and writes back the outcome. A
 * delivery is leased while it runs, and the lease renewed as long as the attempt goes on; if this
 * process dies, the lease runs out (or the instance, restarted, ends it at once) and a worker makes
 * the attempt again with the same idempotency key: the target sees a delivery at least once, and
 * once in effect.
 */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { store, actionFor, logger, leaseMs, pollMs, attemptTimeoutMs, backoff } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const maxRetryAfterMs = options.maxRetryAfterMs ?? Math.max(backoff.maxMs, DEFAULT_MAX_RETRY_AFTER_MS);
  const stopGraceMs = options.stopGraceMs ?? Math.min(attemptTimeoutMs, DEFAULT_STOP_GRACE_MS);
  const instance = options.instance;
  const id =
    options.id ??
    (instance
      ? `${instance}:${randomBytes(6).toString('hex')}`
      : `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`);
  if (!(leaseMs >= MIN_LEASE_MS)) throw new Error(`the outbox lease must be at least ${MIN_LEASE_MS} ms`);
  /** A running attempt renews its lease this often: two renewals may fail before it runs out. */
  const renewEveryMs = Math.floor(leaseMs / 3);

  /** Attempts running, by delivery id. */
  const running = new Map<string, Promise<void>>();
  /** Aborts the running attempts when a stop's grace is over. */
  let halt = haltController();
  function haltController(): AbortController {
    const controller = new AbortController();
    // Every running attempt listens to it.
    setMaxListeners(concurrency + 10, controller.signal);
    return controller;
  }
  /** Called when a delivery this worker handled is written back. */
  const waiters = new Map<string, Set<() => void>>();

  let loop: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  let woken = false;

  function kick(): void {
    woken = true;
    wake?.();
  }

  function sleep(ms: number): Promise<void> {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        woken = false;
        resolve();
      }
      wake = done;
    });
  }

  async function claimBatch(): Promise<Promise<void>[]> {
    const free = concurrency - running.size;
    if (free <= 0) return [];
    const claimed = await store.claim(id, now(), leaseMs, free);
    return claimed.map((delivery) => {
      const attempt = runAttempt(delivery)
        .catch((error: unknown) => {
          logger.error({ worker: id, delivery: delivery.id, err: describe(error) }, 'outbox attempt failed');
        })
        .finally(() => {
          running.delete(delivery.id);
          notify(delivery.id);
          // A slot is free: the next due delivery need not wait for the poll.
          kick();
        });
      running.set(delivery.id, attempt);
      return attempt;
    });
  }

  async function poll(): Promise<void> {
    if (instance) {
      try {
        const reclaimed = await store.reclaim(instance, id, now());
        if (reclaimed > 0)
          logger.warn(
            { worker: id, reclaimed },
            'outbox: deliveries left running by an earlier run are due again',
          );
      } catch (error) {
        logger.warn({ worker: id, err: describe(error) }, 'outbox reclaim failed; those leases will run out');
      }
    }
    while (!stopping) {
      try {
        await claimBatch();
      } catch (error) {
        logger.warn({ worker: id, err: describe(error) }, 'outbox claim failed');
      }
      // Every slot taken: more may be due, claimed when an attempt ends (it kicks). Otherwise
      // nothing else was due: wait for the poll, an enqueue's kick or an attempt's end.
      await sleep(running.size >= concurrency ? MAX_TIMER_MS : pollMs);
      // Let the attempts ending in this turn of the event loop end too: one claim fills their slots.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function runAttempt(delivery: Delivery): Promise<void> {
    const log = {
      worker: id,
      delivery: delivery.id,
      action: delivery.actionType,
      attempt: delivery.attempts,
    };
    let action: Action | undefined;
    try {
      action = actionFor(delivery);
    } catch (error) {
      // A bad configuration of the action: as good as none.
      logger.error({ ...log, err: describe(error) }, 'outbox action could not be made');
    }
    if (!action) {
      logger.error(log, 'outbox delivery has no action: dead');
      await writeBack(() =>
        store.fail(delivery.id, id, `no action of type "${delivery.actionType}"`, undefined, now()),
      );
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Interrupted(`attempt timed out after ${attemptTimeoutMs} ms`, false)),
      attemptTimeoutMs,
    );
    // The lease is renewed while the attempt runs; a lease lost (another worker took the delivery
    // after a long stall) ends the attempt, whose outcome could no longer be written back.
    const heartbeat = setInterval(() => {
      store.renew(delivery.id, id, leaseMs, now()).then(
        (held) => {
          if (!held) controller.abort(new Interrupted('the lease was lost', false));
        },
        (error: unknown) => {
          logger.warn({ ...log, err: describe(error) }, 'outbox lease renewal failed');
        },
      );
    }, renewEveryMs);
    const onHalt = () => controller.abort(new Interrupted('interrupted: the worker stopped', true));
    if (halt.signal.aborted) onHalt();
    else halt.signal.addEventListener('abort', onHalt, { once: true });
    try {
      // An update: the record the first delivery made, which it changes.
      const first = delivery.updateOf === undefined ? undefined : await store.get(delivery.updateOf);
      const made = first?.status === 'done';
      const update =
        delivery.updateOf === undefined
          ? undefined
          : {
              of: delivery.updateOf,
              made,
              ...(made && first.resultId !== undefined && { id: first.resultId }),
              ...(made && first.resultUrl !== undefined && { url: first.resultUrl }),
            };
      const answered = await untilAborted(
        action.run(delivery.payload, {
          signal: controller.signal,
          deliveryId: delivery.id,
          attempt: delivery.attempts,
          ...(update && { update }),
        }),
        controller.signal,
      );
      // An update that answers nothing of its own still leads to the record it changed.
      const result = update
        ? {
            ...(update.id !== undefined && { id: update.id }),
            ...(update.url !== undefined && { url: update.url }),
            ...answered,
          }
        : answered;
      const completed = await writeBack(() => store.complete(delivery.id, id, result, now()));
      if (completed === false) logger.warn(log, 'outbox lease lost before the delivery was recorded done');
      // The target is back: the store made its other calls waiting out a backoff due now, and the
      // attempt's end looks for them (it kicks).
      else logger.debug(log, 'outbox delivery done');
    } catch (error) {
      const message = describe(error);
      const at = now();
      let retryAt: number | undefined;
      if (error instanceof Interrupted && error.stopping) {
        // Not the target's fault: the next worker tries again at once.
        retryAt = at;
      } else if (error instanceof DeliveryError && error.permanent) {
        retryAt = undefined;
      } else if (delivery.attempts >= delivery.maxAttempts) {
        retryAt = undefined;
      } else {
        retryAt = at + retryDelay(delivery.attempts, error);
      }
      const failed = await writeBack(() => store.fail(delivery.id, id, message, retryAt, at));
      const fields = { ...log, err: message, ...(retryAt !== undefined && { retryInMs: retryAt - at }) };
      if (failed === false) logger.warn(fields, 'outbox lease lost before the failure was recorded');
      else if (retryAt === undefined) logger.error(fields, 'outbox delivery failed: dead');
      else logger.warn(fields, 'outbox delivery failed: will retry');
    } finally {
      clearTimeout(timer);
      clearInterval(heartbeat);
      halt.signal.removeEventListener('abort', onHalt);
    }
  }

  /**
   * Writes an attempt's outcome back. A store that does not answer (it restarts, or fails over) is
   * asked again, for up to a lease's time: the outcome written late still counts (the write only
   * takes the delivery while this worker holds it, and the lease is renewed meanwhile), where one
   * given up would leave the delivery to run out its lease and be made again. If it never answers,
   * or the worker is stopped, the lease runs out and the delivery is tried again.
   */
  async function writeBack(write: () => Promise<boolean>): Promise<boolean | undefined> {
    let waited = 0;
    for (let delay = WRITE_RETRY_FIRST_MS; ; delay = Math.min(delay * 2, WRITE_RETRY_MAX_MS)) {
      try {
        return await write();
      } catch (error) {
        if (waited >= leaseMs || halt.signal.aborted) {
          logger.error({ worker: id, err: describe(error) }, 'outbox write failed; the lease will run out');
          return undefined;
        }
        if (waited === 0)
          logger.warn({ worker: id, err: describe(error) }, 'outbox write failed; trying again');
      }
      await delayFor(delay, undefined, { signal: halt.signal }).catch(() => {});
      waited += delay;
    }
  }

  function retryDelay(attempts: number, error: unknown): number {
    const exponential = Math.min(backoff.maxMs, backoff.baseMs * backoff.factor ** Math.max(0, attempts - 1));
    const jittered = Math.round(exponential * (1 - JITTER * random()));
    const asked = error instanceof DeliveryError ? error.retryAfterMs : undefined;
    if (asked === undefined || !(asked > 0)) return jittered;
    return Math.max(jittered, Math.min(Math.ceil(asked), maxRetryAfterMs));
  }

  function notify(deliveryId: string): void {
    const set = waiters.get(deliveryId);
    if (set) for (const waiter of set) waiter();
  }

  return {
    id,
    start() {
      if (loop) return;
      stopping = false;
      halt = haltController();
      loop = poll();
    },
    async stop() {
      stopping = true;
      kick();
      await loop;
      loop = undefined;
      if (running.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, stopGraceMs);
        });
        await Promise.race([Promise.allSettled([...running.values()]), grace]);
        clearTimeout(timer);
        halt.abort();
        await Promise.allSettled([...running.values()]);
      }
    },
    async runOnce() {
      const started = await claimBatch();
      await Promise.allSettled(started);
      return started.length;
    },
    kick,
    async waitFor(deliveryId, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const delivery = await store.get(deliveryId);
        if (!delivery || delivery.status === 'done' || delivery.status === 'dead') return delivery;
        // An attempt has failed: the next one waits for its backoff, longer than anyone should wait here.
        if (delivery.status === 'pending' && delivery.attempts > 0) return delivery;
        const left = deadline - Date.now();
        if (left <= 0) return delivery;
        // Woken when this worker writes it back; polled for a delivery another process runs.
        await new Promise<void>((resolve) => {
          const entry = waiters.get(deliveryId) ?? new Set();
          waiters.set(deliveryId, entry);
          const timer = setTimeout(done, Math.min(left, pollMs));
          function done() {
            clearTimeout(timer);
            entry.delete(done);
            if (entry.size === 0 && waiters.get(deliveryId) === entry) waiters.delete(deliveryId);
            resolve();
          }
          entry.add(done);
        });
      }
    },
  };
}

/** The action's promise, or its signal's reason once aborted (an action that ignores it is left behind). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(signal, promise);
}

/** An error as one line: its name and message, never its stack, cause or any data it carries. */
function describe(error: unknown): string {
  const text =
    error instanceof Error
      ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
      : `non-error thrown: ${typeof error}`;
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}
