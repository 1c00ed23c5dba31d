import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import { type Entry, loadContacts } from '../contacts/load.js';
import { FullListingNeeded, type Source } from '../sources/types.js';
import type { ContactStore, SyncState } from '../store/types.js';

export interface MirrorEntry {
  readonly source: Source;
  /** How often changes are fetched. */
  readonly intervalMs: number;
  /** How often everything is listed again, which also removes contacts deleted in the source. */
  readonly fullIntervalMs: number;
}

export interface SyncReport {
  readonly source: string;
  readonly full: boolean;
  readonly read: number;
  readonly written: number;
  readonly removed: number;
  readonly skipped: number;
  readonly durationMs: number;
  /** The source's fingerprint had not changed: nothing was listed. */
  readonly unchanged?: boolean;
  /** Another instance on the same store was syncing the source, or had just synced it: not synced here. */
  readonly elsewhere?: boolean;
  readonly error?: string;
}

export interface SyncEngineOptions {
  readonly store: ContactStore;
  readonly region: CountryCode;
  readonly logger: Logger;
  /** Worker threads that parse numbers during a sync. */
  readonly workers: number;
  readonly now?: () => number;
}

/** Changes committed in the source while the last sync ran may carry an earlier time: ask again. */
const OVERLAP_MS = 60_000;

/**
 * Mirrors sources into the local index: a full listing first and then every `fullIntervalMs`,
 * changes since the last one in between. One sync at a time, and at most one waiting per source;
 * a failed sync keeps the last good contacts and records its error for `callcard sources`.
 */
export function createSyncEngine(options: SyncEngineOptions) {
  const { store, region, logger, workers } = options;
  const now = options.now ?? Date.now;
  const timers = new Set<NodeJS.Timeout>();
  const controller = new AbortController();
  let queue: Promise<unknown> = Promise.resolve();

  /** Syncs waiting or running here, by source, with the entries read so far: what the console shows live. */
  const underway = new Map<string, { state: 'waiting' | 'running'; read: number }>();

  /** When this engine last attempted each source's sync (epoch ms). */
  const attempted = new Map<string, number>();

  /**
   * On a store several instances share, a source is synced by one of them at a time (the store's
   * sync lock); a scheduled sync is also left out when another instance attempted one since this
   * one's last, less than an interval ago: the instance that synced goes on doing it, and another
   * takes over once it has missed an interval (it died).
   */
  async function run(entry: MirrorEntry, forceFull: boolean, scheduled: boolean): Promise<SyncReport> {
    if (!entry.source.list) throw new Error(`source "${entry.source.name}" cannot list its contacts`);
    if (!store.exclusively) return runHere(entry, forceFull, false);
    try {
      return await runShared(entry, forceFull, scheduled);
    } catch (error) {
      // The shared store does not answer (it restarts, or fails over): the next turn tries again.
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ source: entry.source.name, err: message }, 'sync failed: the store does not answer');
      const { elsewhere: _, ...nothing } = notHere(entry);
      return { ...nothing, error: message };
    }
  }

  async function runShared(entry: MirrorEntry, forceFull: boolean, scheduled: boolean): Promise<SyncReport> {
    if (!store.exclusively) return runHere(entry, forceFull, false);
    // Checked before the lock too: an instance that leaves the sync to another never holds it up.
    if (scheduled && syncedElsewhere(entry, await store.syncState(entry.source.name), now()))
      return notHere(entry);
    const result = await store.exclusively(entry.source.name, () => runHere(entry, forceFull, scheduled));
    return result.ran ? result.value : notHere(entry);
  }

  /** Another instance attempted the source's sync since this one's last, less than an interval ago. */
  const syncedElsewhere = (entry: MirrorEntry, state: SyncState | undefined, at: number) =>
    state?.attemptedAt !== undefined &&
    state.attemptedAt !== attempted.get(entry.source.name) &&
    at - state.attemptedAt < entry.intervalMs;

  const notHere = (entry: MirrorEntry): SyncReport => ({
    source: entry.source.name,
    full: false,
    read: 0,
    written: 0,
    removed: 0,
    skipped: 0,
    durationMs: 0,
    elsewhere: true,
  });

  async function runHere(entry: MirrorEntry, forceFull: boolean, scheduled: boolean): Promise<SyncReport> {
    const { source } = entry;
    const list = source.list!;
    const previous = (await store.syncState(source.name)) ?? {};
    const started = now();
    if (scheduled && syncedElsewhere(entry, previous, started)) return notHere(entry);
    attempted.set(source.name, started);
    const full =
      forceFull ||
      (previous.cursor === undefined && !source.tracksChanges) ||
      previous.fullAt === undefined ||
      started - previous.fullAt >= entry.fullIntervalMs;
    // A source that cannot tell its fingerprint (it may be down) is listed, and any failure recorded.
    const version = await source.version?.({ signal: controller.signal }).catch(() => undefined);
    if (version !== undefined && version === previous.version && previous.error === undefined && !forceFull) {
      return {
        source: source.name,
        full: false,
        read: 0,
        written: 0,
        removed: 0,
        skipped: 0,
        durationMs: 0,
        unchanged: true,
      };
    }
    // A source with a fingerprint (a file) gives its whole contents whenever it changed: list it in
    // full, so that removed contacts go too.
    const complete = full || version !== undefined;
    const since = complete ? undefined : (previous.cursor ?? previous.fullAt!) - OVERLAP_MS;
    /** The source's new place in its changes, told once it has read its listing to the end. */
    let changeTokens: Readonly<Record<string, string>> | undefined;
    let line = 0;
    async function* entries(): AsyncGenerator<Entry> {
      for await (const batch of list!.call(source, {
        signal: controller.signal,
        ...(since !== undefined && { since }),
        ...(!complete && previous.changeTokens && { changeTokens: previous.changeTokens }),
        keepChangeTokens: (tokens) => {
          changeTokens = tokens;
        },
      })) {
        for (const raw of batch) yield { line: ++line, raw };
        const shown = underway.get(source.name);
        if (shown) shown.read = line;
      }
    }
    let skippedLogged = 0;
    let warned = 0;
    try {
      const summary = await loadContacts(store, entries(), {
        source: source.name,
        replace: complete,
        region,
        workers,
        onSkip: (row, reason) => {
          if (skippedLogged++ < 20) logger.warn({ source: source.name, row, reason }, 'contact skipped');
        },
        onWarning: (row, reason) => {
          if (warned++ < 20) logger.warn({ source: source.name, row, reason }, 'contact read with a doubt');
        },
        // Saved with the contacts, in their transaction: the cursor and the change tokens are never
        // ahead of what the index holds, whichever process syncs next.
        syncState: (loaded): SyncState => {
          const cursor = Math.max(loaded.latestUpdate ?? -Infinity, previous.cursor ?? -Infinity);
          const tokens = changeTokens ?? (complete ? undefined : previous.changeTokens);
          return {
            attemptedAt: started,
            succeededAt: now(),
            durationMs: now() - started,
            written: loaded.contacts,
            ...(Number.isFinite(cursor) && { cursor }),
            ...(version !== undefined && { version }),
            ...(complete
              ? { fullAt: started }
              : previous.fullAt !== undefined && { fullAt: previous.fullAt }),
            ...(tokens && { changeTokens: tokens }),
          };
        },
      });
      const durationMs = now() - started;
      const report = {
        source: source.name,
        full: complete,
        read: summary.read,
        written: summary.contacts,
        removed: summary.removed,
        skipped: summary.skipped,
        durationMs,
      };
      logger.info(report, 'source synced');
      return report;
    } catch (error) {
      if (error instanceof FullListingNeeded && !complete && !controller.signal.aborted) {
        // The incremental listing was dropped (its session aborted): the full one reads everything,
        // in the same turn (and under the same sync lock).
        logger.info({ source: source.name, reason: error.message }, 'changes unavailable: listing all');
        return runHere(entry, true, false);
      }
      const message = error instanceof Error ? error.message : String(error);
      await store.saveSyncState(source.name, { ...previous, attemptedAt: started, error: message });
      logger.warn({ source: source.name, full, err: message }, 'sync failed; the last good contacts stay');
      return {
        source: source.name,
        full,
        read: line,
        written: 0,
        removed: 0,
        skipped: 0,
        durationMs: now() - started,
        error: message,
      };
    }
  }

  /** Syncs not yet started, by source: a sync asked while one waits joins it. */
  const waiting = new Map<string, { report: Promise<SyncReport>; full: boolean; scheduled: boolean }>();

  /**
   * Syncs one source after any sync already running. A source has at most one sync waiting: when
   * a listing takes longer than the interval, the syncs asked meanwhile are one run, not a queue
   * that runs back to back. A full sync asked joins a waiting one and makes it full.
   */
  function sync(entry: MirrorEntry, { full = false, scheduled = false } = {}): Promise<SyncReport> {
    const name = entry.source.name;
    const pending = waiting.get(name);
    if (pending) {
      pending.full ||= full;
      pending.scheduled &&= scheduled;
      return pending.report;
    }
    const report = queue.then(async () => {
      const asked = waiting.get(name) ?? { full, scheduled };
      waiting.delete(name);
      underway.set(name, { state: 'running', read: 0 });
      try {
        return await run(entry, asked.full, asked.scheduled);
      } finally {
        underway.delete(name);
      }
    });
    waiting.set(name, { report, full, scheduled });
    if (!underway.has(name)) underway.set(name, { state: 'waiting', read: 0 });
    queue = report.catch(() => {});
    return report;
  }

  return {
    sync,
    /** The source's sync waiting or running on this instance, with the entries read so far. */
    underway(name: string): { readonly state: 'waiting' | 'running'; readonly read: number } | undefined {
      const found = underway.get(name);
      return found && { ...found };
    },
    /** Syncs each source at once, then on its schedule, until `stop`. */
    start(entries: readonly MirrorEntry[]): void {
      for (const entry of entries) {
        void sync(entry, { scheduled: true });
        const timer = setInterval(() => void sync(entry, { scheduled: true }), entry.intervalMs);
        timer.unref();
        timers.add(timer);
      }
    },
    /** Stops the schedule and cuts off a sync in progress (its transaction is rolled back). */
    async stop(): Promise<void> {
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      controller.abort(new Error('shutting down'));
      await queue;
    },
  };
}

export type SyncEngine = ReturnType<typeof createSyncEngine>;
