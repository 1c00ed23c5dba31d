import * as z from 'zod';
import {
  basicAuthSchema,
  bearerAuthSchema,
  readSecret,
  type SecretContext,
} from '../../config/secret-fields.js';

export const carddavAuthSchema = z.discriminatedUnion('type', [basicAuthSchema, bearerAuthSchema], {
  error: 'must be basic or bearer',
});

export type CarddavAuth = z.output<typeof carddavAuthSchema>;

/** The Authorization header; secrets are read now, so a missing one stops the start. */
export function authHeaders(auth: CarddavAuth | undefined, context: SecretContext): Record<string, string> {
  if (auth === undefined) return {};
  if (auth.type === 'basic') {
    const password = readSecret(auth, 'password', context);
    // UTF-8, as RFC 7617 lets servers announce and as CardDAV servers read it.
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${password}`).toString('base64')}` };
  }
  const token = readSecret(auth, 'token', context);
  if (/[\r\n\0]/.test(token)) throw new Error('auth.token must be one line');
  return { authorization: `Bearer ${token}` };
}
