import type { FastifyPluginAsync } from 'fastify';
import type { ConsoleKit } from '../kit.js';
import { type OverviewData, OverviewPage, type SourceHealth } from '../views/overview.js';

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

  app.get<{ Querystring: { notice?: string } }>('/', async (request, reply) => {
    const now = kit.now();
    const sources: SourceHealth[] = [];
    for (const { name, mode } of options.sources) {
      const state = mode === 'mirror' ? await options.contacts.syncState(name) : undefined;
      sources.push({
        name,
        mode,
        ...(mode !== 'live' && { contacts: await countOf(name, now, state?.succeededAt) }),
        ...(state && {
          state: state.error === undefined ? state : { ...state, error: options.redact(state.error) },
        }),
      });
    }
    const data: OverviewData = {
      now,
      recent: options.activity?.summary(15, now) ?? EMPTY,
      hour: options.activity?.summary(60, now) ?? EMPTY,
      sources,
      outbox: await options.outbox.counts(),
      version: kit.version,
      ...(request.consoleUser?.role === 'partner' && options.tenants && { tenants: options.tenants }),
      canSync: options.syncNow !== undefined && request.consoleUser?.role !== 'read-only',
      ...(request.query.notice === 'sync-started' && { notice: 'sync-started' as const }),
      ...(request.query.notice === 'sync-refused' && { notice: 'sync-refused' as const }),
    };
    return kit.send(reply, <OverviewPage ctx={kit.context(request, reply)} data={data} />);
  });
};
