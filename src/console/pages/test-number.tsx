import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { pathPrefix } from '../../config/schema.js';
import { toWireContact } from '../../connector/wire.js';
import { cleanNumber, incomingKey, isNoNumber } from '../../phone/index.js';
import type { ConsoleKit } from '../kit.js';
import { type NumberTest, TestNumberPage } from '../views/test-number.js';

/** A number as a person types it is far shorter; more is not read. */
const MAX_INPUT = 100;

/** Where callcard is reached, as the CONNECTOR's cards name its logo. */
export function publicUrlOf(kit: ConsoleKit, request: FastifyRequest): string {
  return (kit.options.tenant.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}

/** The root URL to enter in the CUSTOMER-PORTAL: the public address and the tenant's base path. */
export function rootUrlOf(kit: ConsoleKit, request: FastifyRequest): string {
  return `${publicUrlOf(kit, request)}${pathPrefix(kit.options.tenant.basePath)}` || '/';
}

export const testRoutes: FastifyPluginAsync<{ kit: ConsoleKit }> = async (app, { kit }) => {
  const { options } = kit;
  const { region } = options.tenant;

  app.get<{ Querystring: { number?: string } }>('/test', async (request, reply) => {
    const ctx = kit.context(request, reply);
    const input = typeof request.query.number === 'string' ? request.query.number.slice(0, MAX_INPUT) : '';
    if (input.trim() === '') return kit.send(reply, <TestNumberPage ctx={ctx} />);
    // Each step as the lookup takes it: cleaned, read in the region, the key; then the lookup itself.
    const withheld = isNoNumber(input);
    const cleaned = withheld ? undefined : cleanNumber(input);
    const key = incomingKey(input, region);
    const result = await options.lookup(input);
    const publicUrl = publicUrlOf(kit, request);
    const test: NumberTest = {
      input,
      ...(cleaned && { cleaned: cleaned.digits }),
      ...(cleaned?.extension !== undefined && { extension: cleaned.extension }),
      region,
      ...(key !== undefined && { key }),
      outcomes: result.outcomes.map((outcome) =>
        outcome.error === undefined ? outcome : { ...outcome, error: options.redact(outcome.error) },
      ),
      cards: result.hits.map((hit) => toWireContact(hit, publicUrl)),
    };
    return kit.send(reply, <TestNumberPage ctx={ctx} test={test} />);
  });
};
