import type { FastifyPluginAsync } from 'fastify';
import type { CallJournal } from '../../store/types.js';
import { CALL_PAGE_PATH } from '../../workflows/callflow.js';
import { errorBody } from '../errors.js';
import { renderCallPage } from '../pages/call-page.js';

/**
 * Pages the CONNECTOR opens in the user's browser from a workflow answer's url. A browser sends no
 * token header: a record's address is its secret (a keyed id that cannot be derived from the call).
 */
export const pageRoutes: FastifyPluginAsync<{ journal: CallJournal }> = async (app, { journal }) => {
  app.get<{ Params: { id: string } }>(`${CALL_PAGE_PATH}:id`, async (request, reply) => {
    const record = /^[\w-]{22}$/.test(request.params.id) ? await journal.get(request.params.id) : undefined;
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    reply.header('x-robots-tag', 'noindex');
    if (!record) return reply.code(404).send(errorBody('NOT_FOUND', 'no call record at this address'));
    return reply.type('text/html; charset=utf-8').send(renderCallPage(record));
  });
};
