import { PassThrough } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ConsoleKit } from '../kit.js';
import { liveOverview, type OverviewData, OverviewPage, type SourceHealth } from '../views/overview.js';

/** How often the live overview is sent again without a lookup (its ages, the sources, the deliveries). */
export const LIVE_INTERVAL_MS = 5000;
/** While a sync runs here: its progress this often. */
const LIVE_SYNC_INTERVAL_MS = 1000;
/** Lookups coming fast are sent together, at most this often. */
const LIVE_MIN_GAP_MS = 250;

/** How long a source's contact count is reused at most: counting a large index is not free. */
const COUNT_TTL_MS = 60_000;
const EMPTY = { lookups: 0, hits: 0, misses: 0, errors: 0 };

export const overviewRoutes: FastifyPluginAsync<{ kit: ConsoleKit }> = async (app, { kit }) => {
  const { options } = kit;
  // A count is reused for a minute, or until the source's next sync.
  const counts = new Map<string, { n: number; at: number; syncedAt?: number }>();
  const countOf = async (source: string, now: number, syncedAt: number | undefined) => {
    const cached = counts.get(source);
    if (cached && now - cached.at < COUNT_TTL_MS && cached.syncedAt === syncedAt) return cached.n;
    const n = await options.contacts.count(source);
    counts.set(source, { n, at: now, ...(syncedAt !== undefined && { syncedAt }) });
    return n;
  };

  app.post<{ Body: Record<string, string> }>(
    '/sources/sync',
    { config: { change: true } },
    async (request, reply) => {
      const name = String(request.body?.['source'] ?? '');
      const full = request.body?.['full'] === '1';
      const started = options.sources.some((source) => source.name === name) && options.syncNow?.(name, full);
      if (started) await kit.audit(request, full ? 'source-sync-full' : 'source-sync', name);
      return reply.redirect(`${kit.base}?notice=${started ? 'sync-started' : 'sync-refused'}`, 303);
    },
  );

  const overviewOf = async (request: FastifyRequest) => {
    const now = kit.now();
    const sources: SourceHealth[] = [];
    for (const { name, mode } of options.sources) {
      const state = mode === 'mirror' ? await options.contacts.syncState(name) : undefined;
      const underway = mode === 'mirror' ? options.syncUnderway?.(name) : undefined;
      sources.push({
        name,
        mode,
        ...(mode !== 'live' && { contacts: await countOf(name, now, state?.succeededAt) }),
        ...(state && {
          state: state.error === undefined ? state : { ...state, error: options.redact(state.error) },
        }),
        ...(underway && { underway }),
      });
    }
    return {
      now,
      recent: options.activity?.summary(15, now) ?? EMPTY,
      hour: options.activity?.summary(60, now) ?? EMPTY,
      sources,
      outbox: await options.outbox.counts(),
      version: kit.version,
      canSync: options.syncNow !== undefined && request.consoleUser?.role !== 'read-only',
    };
  };

  // The overview's figures as server-sent events: after each lookup, and now and then (every
  // second while a sync runs here). The stream ends with the session.
  app.get('/events', async (request, reply) => {
    const ctx = kit.context(request, reply);
    const session = request.consoleUser!.session;
    const stream = new PassThrough();
    let timer: NodeJS.Timeout | undefined;
    let sending = false;
    let again = false;
    let lastSent = 0;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      unsubscribe?.();
      stream.end();
    };
    const send = async () => {
      if (closed) return;
      if (sending) {
        again = true;
        return;
      }
      sending = true;
      if (timer) clearTimeout(timer);
      try {
        if (!(await options.accounts.session(session))) return close();
        const data = await overviewOf(request);
        if (closed) return;
        stream.write(`event: overview\ndata: ${JSON.stringify(liveOverview(ctx, data))}\n\n`);
        lastSent = kit.now();
        const syncing = data.sources.some((source) => source.underway);
        timer = setTimeout(send, syncing ? LIVE_SYNC_INTERVAL_MS : LIVE_INTERVAL_MS);
      } catch (error) {
        request.log.warn(
          { err: { message: options.redact((error as Error).message) } },
          'live overview failed',
        );
        timer = setTimeout(send, LIVE_INTERVAL_MS);
      } finally {
        sending = false;
        if (again && !closed) {
          again = false;
          void send();
        }
      }
    };
    const unsubscribe = options.activity?.subscribe(() => {
      const wait = Math.max(0, lastSent + LIVE_MIN_GAP_MS - kit.now());
      if (timer) clearTimeout(timer);
      timer = setTimeout(send, wait);
    });
    request.raw.on('close', close);
    stream.write('retry: 3000\n\n');
    void send();
    return reply.type('text/event-stream; charset=utf-8').header('x-accel-buffering', 'no').send(stream);
  });

  app.get<{ Querystring: { notice?: string } }>('/', async (request, reply) => {
    const data: OverviewData = {
      ...(await overviewOf(request)),
      ...(request.consoleUser?.role === 'partner' && options.tenants && { tenants: options.tenants }),
      ...(request.query.notice === 'sync-started' && { notice: 'sync-started' as const }),
      ...(request.query.notice === 'sync-refused' && { notice: 'sync-refused' as const }),
    };
    return kit.send(reply, <OverviewPage ctx={kit.context(request, reply)} data={data} />);
  });
};
