import type { Logger } from 'pino';
import type { OutboxStore } from '../store/outbox-types.js';
import type { CallJournal, Store } from '../store/types.js';

const DAY_MS = 86_400_000;

export interface Retention {
  /** Purges now, as the schedule does; answers whether this instance did (see `once`). */
  purge(): Promise<boolean>;
  /** Stops the schedule; resolves once a purge under way has finished (close the store after). */
  stop(): Promise<void>;
}

export interface RetentionOptions {
  /** First purge this long after start (default one minute: start-up comes first). */
  readonly delayMs?: number;
  /** Then every so often (default daily). */
  readonly intervalMs?: number;
  /** Done and dead deliveries older than this many days are removed too; null (or absent) keeps them. */
  readonly outbox?: { readonly store: Pick<OutboxStore, 'purge'>; readonly days: number | null };
  /**
   * A shared store's `once`: the purges of all instances then run on one of them, once an interval,
   * rather than on each.
   */
  readonly once?: Store['once'];
}

/**
 * Removes calls older than `days` from the journal (and finished deliveries older than theirs from
 * the outbox), shortly after start and then daily; null keeps them for ever. On a shared store
 * (`once`), one instance purges for all, once a day.
 */
export function startRetention(
  journal: CallJournal,
  days: number | null,
  logger: Logger,
  options: RetentionOptions = {},
): Retention {
  const outbox = options.outbox?.days === null ? undefined : options.outbox;
  if (days === null && !outbox) return { purge: async () => false, stop: async () => {} };
  const intervalMs = options.intervalMs ?? DAY_MS;
  let running: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const purgeCalls = async () => {
    if (days === null) return;
    const olderThan = new Date(Date.now() - days * DAY_MS);
    const removed = await journal.purge(olderThan);
    if (removed > 0) {
      logger.info({ removed, olderThan: olderThan.toISOString(), days }, 'journal: old calls removed');
    }
  };
  const purgeDeliveries = async () => {
    if (!outbox || outbox.days === null) return;
    const olderThan = Date.now() - outbox.days * DAY_MS;
    const removed = await outbox.store.purge(olderThan);
    if (removed > 0) {
      logger.info(
        { removed, olderThan: new Date(olderThan).toISOString(), days: outbox.days },
        'outbox: finished deliveries removed',
      );
    }
  };
  const purgeBoth = async () => {
    await Promise.all([
      purgeCalls().catch((error: unknown) =>
        logger.error({ err: error }, 'journal: removing old calls failed'),
      ),
      purgeDeliveries().catch((error: unknown) =>
        logger.error({ err: error }, 'outbox: removing finished deliveries failed'),
      ),
    ]);
  };
  const purge = async (): Promise<boolean> => {
    if (!options.once) {
      await purgeBoth();
      return true;
    }
    try {
      return await options.once('retention', intervalMs, purgeBoth);
    } catch (error) {
      // The store does not answer: the next turn of the schedule tries again.
      logger.error({ err: error }, 'retention: the purges could not be started');
      return false;
    }
  };
  const run = () => {
    if (stopped || running) return;
    running = purge()
      .then(() => undefined)
      .finally(() => {
        running = undefined;
      });
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      run();
      if (!stopped) schedule(intervalMs);
    }, ms);
    // The schedule alone does not keep the process alive.
    timer.unref();
  };
  schedule(options.delayMs ?? 60_000);

  return {
    purge,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
