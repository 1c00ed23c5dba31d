import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify';
import type { OutboxStore } from '../../store/outbox-types.js';
import type { CallJournal } from '../../store/types.js';
import { CALL_PAGE_PATH } from '../../workflows/workflow.js';
import { sendNotFound } from '../errors.js';
import { renderCallPage } from '../pages/call-page.js';

export interface PageRoutesOptions {
  readonly journal: CallJournal;
  readonly outbox?: OutboxStore;
  /** The address limit; pages need no token. */
  readonly guard?: onRequestAsyncHookHandler;
}

/**
 * Pages the CONNECTOR opens in the user's browser from a workflow answer's url. A browser sends no
 * token header: a record's address is its secret (a keyed id that cannot be derived from the call).
 * Once a workflow's action has created a record in the CRM, the page leads there.
 */
export const pageRoutes: FastifyPluginAsync<PageRoutesOptions> = async (app, { journal, outbox, guard }) => {
  if (guard) app.addHook('onRequest', guard);
  app.get<{ Params: { id: string } }>(`${CALL_PAGE_PATH}:id`, async (request, reply) => {
    const record = /^[\w-]{22}$/.test(request.params.id) ? await journal.get(request.params.id) : undefined;
    // As a page path where no tenant is: the answer does not tell whether a tenant is here.
    if (!record) return sendNotFound(request, reply);
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    reply.header('x-robots-tag', 'noindex');
    const deliveries = outbox ? await outbox.forCall(record.workflow, record.id) : [];
    const created = deliveries.find((delivery) => delivery.status === 'done' && delivery.resultUrl);
    if (created?.resultUrl) return reply.redirect(created.resultUrl, 302);
    return reply.type('text/html; charset=utf-8').send(renderCallPage(record, deliveries));
  });
};
