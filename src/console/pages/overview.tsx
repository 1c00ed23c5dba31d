import type { FastifyPluginAsync } from 'fastify';
import type { ConsoleKit } from '../kit.js';
import { type OverviewData, OverviewPage, type SourceHealth } from '../views/overview.js';

/** How long a source's contact count is reused: counting a large index is not free. */
const COUNT_TTL_MS = 60_000;
const EMPTY = { lookups: 0, hits: 0, misses: 0, errors: 0 };

export const overviewRoutes: FastifyPluginAsync<{ kit: ConsoleKit }> = async (app, { kit }) => {
  const { options } = kit;
  const counts = new Map<string, { n: number; at: number }>();
  const countOf = async (source: string, now: number) => {
    const cached = counts.get(source);
    if (cached && now - cached.at < COUNT_TTL_MS) return cached.n;
    const n = await options.contacts.count(source);
    counts.set(source, { n, at: now });
    return n;
  };

  app.get('/', async (request, reply) => {
    const now = kit.now();
    const sources: SourceHealth[] = [];
    for (const { name, mode } of options.sources) {
      const state = mode === 'mirror' ? await options.contacts.syncState(name) : undefined;
      sources.push({
        name,
        mode,
        ...(mode !== 'live' && { contacts: await countOf(name, now) }),
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
    };
    return kit.send(reply, <OverviewPage ctx={kit.context(request, reply)} data={data} />);
  });
};
