import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleKit } from '../kit.js';
import { AuditPage, ConnectorPage } from '../views/connector.js';
import { rootUrlOf } from './test-number.js';

/** Audit entries on one page. */
export const AUDIT_PER_PAGE = 50;

export const settingsRoutes: FastifyPluginAsync<{ kit: ConsoleKit }> = async (app, { kit }) => {
  const { options } = kit;

  /** The CONNECTOR settings page; the header values only when `reveal`. */
  const connectorPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    reveal: boolean,
    shown: { fresh?: string; news?: string; error?: string } = {},
    status = 200,
  ) => {
    const sets = options
      .credentials()
      .map((set) => Object.entries(set).map(([name, value]) => (reveal ? { name, value } : { name })));
    const tokens = options.tokens && {
      keptIn: options.tokens.keptIn,
      ids: (await options.tokens.list()).map(tokenId),
    };
    return kit.send(
      reply,
      <ConnectorPage
        ctx={kit.context(request, reply)}
        rootUrl={rootUrlOf(kit, request)}
        sets={sets}
        canReveal={request.consoleUser?.role !== 'read-only'}
        {...(tokens && { tokens })}
        {...shown}
      />,
      status,
    );
  };

  app.get('/connector', async (request, reply) => connectorPage(request, reply, false));

  // A secret is shown in answer to a form that says so, and the audit log records who saw it.
  app.post('/connector/reveal', { config: { change: true } }, async (request, reply) => {
    await kit.audit(
      request,
      'token-reveal',
      options
        .credentials()
        .flatMap((set) => Object.keys(set))
        .join(', '),
    );
    return connectorPage(request, reply, true);
  });

  // Rotation: a new token beside the old ones (shown this once), then the old one retired.
  app.post('/connector/tokens/add', { config: { change: true } }, async (request, reply) => {
    if (!options.tokens) return kit.forbid(request, reply);
    const token = await options.tokens.add();
    await kit.audit(request, 'token-added', tokenId(token));
    return connectorPage(request, reply, false, { fresh: token });
  });

  app.post<{ Body: Record<string, string> }>(
    '/connector/tokens/retire',
    { config: { change: true } },
    async (request, reply) => {
      if (!options.tokens) return kit.forbid(request, reply);
      const t = kit.context(request, reply).t;
      const id = String(request.body?.['token'] ?? '');
      const token = (await options.tokens.list()).find((value) => tokenId(value) === id);
      if (token === undefined || !(await options.tokens.retire(token))) {
        return connectorPage(request, reply, false, { error: t('connector.retireRefused') }, 409);
      }
      await kit.audit(request, 'token-retired', id);
      return connectorPage(request, reply, false, { news: t('connector.retired', { id }) });
    },
  );

  app.get<{ Querystring: { before?: string } }>('/audit', async (request, reply) => {
    const before = Number(request.query.before);
    const page = await options.accounts.auditLog({
      limit: AUDIT_PER_PAGE,
      ...(Number.isInteger(before) && before > 0 && { before }),
    });
    return kit.send(
      reply,
      <AuditPage
        ctx={kit.context(request, reply)}
        entries={page.entries}
        {...(page.next !== undefined && { next: page.next })}
        paged={request.query.before !== undefined}
      />,
    );
  });
};

/** How a token is named on the page and in the audit log: the start of its SHA-256, never the token. */
export const tokenId = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 8);
