import type { Logger } from 'pino';
import type { CallJournal } from '../store/types.js';

const DAY_MS = 86_400_000;

export interface Retention {
  /** Stops the schedule; resolves once a purge under way has finished (close the store after). */
  stop(): Promise<void>;
}

export interface RetentionOptions {
  /** First purge this long after start (default one minute: start-up comes first). */
  readonly delayMs?: number;
  /** Then every so often (default daily). */
  readonly intervalMs?: number;
}

/**
 * Removes calls older than `days` from the journal, shortly after start and then daily;
 * `days` null (journal.retentionDays: null) keeps every call and does nothing.
 */
export function startRetention(
  journal: CallJournal,
  days: number | null,
  logger: Logger,
  options: RetentionOptions = {},
): Retention {
  if (days === null) return { stop: async () => {} };
  const intervalMs = options.intervalMs ?? DAY_MS;
  let running: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const run = () => {
    if (stopped || running) return;
    const olderThan = new Date(Date.now() - days * DAY_MS);
    running = journal
      .purge(olderThan)
      .then(
        (removed) => {
          if (removed > 0) {
            logger.info({ removed, olderThan: olderThan.toISOString(), days }, 'journal: old calls removed');
          }
        },
        (error: unknown) => logger.error({ err: error }, 'journal: removing old calls failed'),
      )
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
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
