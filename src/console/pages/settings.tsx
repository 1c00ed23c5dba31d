import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleKit } from '../kit.js';
import { AuditPage, ConnectorPage } from '../views/connector.js';
import { rootUrlOf } from './test-number.js';

/** Audit entries on one page. */
export const AUDIT_PER_PAGE = 50;

export const settingsRoutes: FastifyPluginAsync<{ kit: ConsoleKit }> = async (app, { kit }) => {
  const { options } = kit;

  /** The CONNECTOR settings page; the header values only when `reveal`. */
  const connectorPage = (request: FastifyRequest, reply: FastifyReply, reveal: boolean) => {
    const sets = options
      .credentials()
      .map((set) => Object.entries(set).map(([name, value]) => (reveal ? { name, value } : { name })));
    return kit.send(
      reply,
      <ConnectorPage
        ctx={kit.context(request, reply)}
        rootUrl={rootUrlOf(kit, request)}
        sets={sets}
        canReveal={request.consoleUser?.role !== 'read-only'}
      />,
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
