import type { FastifyPluginAsync, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { pathPrefix, type Tenant } from '../../config/schema.js';
import { ErrorAnswer, LookupAnswer, WorkflowAnswer } from '../../connector/schema.js';
import { readCallInputs, readLookupNumber, toWireContact } from '../../connector/wire.js';
import { CallcardError, ErrorMessages } from '../../errors.js';
import type { Lookup } from '../../lookup/lookup.js';
import type { Workflows } from '../../workflows/registry.js';
import { errorBody } from '../errors.js';
import { serializerSchema } from '../json-schema.js';
import { publicUrlOf } from '../request.js';

export interface ConnectorRoutesOptions {
  readonly tenant: Pick<Tenant, 'basePath' | 'publicUrl'>;
  readonly lookup: Lookup;
  readonly workflows: Workflows;
  /** Address, limits and token, checked before the body is read. */
  readonly guard: onRequestAsyncHookHandler;
}

/** When a call the store could not record is to be posted again. */
const STORE_RETRY_AFTER_S = 5;

// The answers' serializers, from the schemas the OpenAPI document shows.
const REFUSAL = serializerSchema(ErrorAnswer);
const LOOKUP_ANSWER = serializerSchema(LookupAnswer);
const WORKFLOW_ANSWER = serializerSchema(WorkflowAnswer);

/** The CONNECTOR API: `<base>/Lookup` and `<base>/<WorkflowName>`, behind the token headers. */
export const connectorRoutes: FastifyPluginAsync<ConnectorRoutesOptions> = async (app, options) => {
  const { tenant: config, lookup, workflows } = options;
  app.addHook('onRequest', options.guard);

  const answerLookup = async (request: FastifyRequest) => {
    const number = readLookupNumber(request.body, request.query);
    const result = await lookup(number);
    const publicUrl = publicUrlOf(request, config.publicUrl);
    request.outcome = {
      ...request.outcome,
      ...(result.key !== undefined && { key: result.key }),
      results: result.hits.length,
      ...(result.outcomes.some((o) => o.status !== 'ok') && {
        sources: result.outcomes.map((o) => `${o.source}:${o.status}`).join(','),
      }),
    };
    return result.hits.map((hit) => toWireContact(hit, publicUrl));
  };
  const lookupRoute = { schema: { response: { 200: LOOKUP_ANSWER, '4xx': REFUSAL } } };
  app.post('/Lookup', lookupRoute, answerLookup);
  app.get('/Lookup', lookupRoute, answerLookup);

  const workflowRoute = {
    schema: { response: { 200: WORKFLOW_ANSWER, '4xx': REFUSAL, 503: REFUSAL } },
  };
  app.post<{ Params: { workflow: string } }>('/:workflow', workflowRoute, async (request, reply) => {
    const workflow = workflows.get(request.params.workflow);
    if (!workflow) {
      throw new CallcardError('UNKNOWN_WORKFLOW', ErrorMessages.unknownWorkflow(request.params.workflow));
    }
    request.outcome = { ...request.outcome, workflow: workflow.name };
    const call = readCallInputs(request.body);
    try {
      return await workflow.run(call, {
        baseUrl: publicUrlOf(request, config.publicUrl) + pathPrefix(config.basePath),
      });
    } catch (error) {
      if (error instanceof CallcardError) throw error;
      // A workflow only reads and writes the store: the call is not accepted, and the CONNECTOR
      // posts it again later (a repeat is the same call, recorded once).
      request.log.warn(
        { err: { type: (error as Error).name, code: (error as { code?: unknown }).code } },
        'call not recorded: the store does not answer',
      );
      return reply
        .code(503)
        .header('retry-after', String(STORE_RETRY_AFTER_S))
        .send(errorBody('STORE_UNAVAILABLE', ErrorMessages.STORE_UNAVAILABLE));
    }
  });
};
