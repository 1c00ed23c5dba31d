import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookAction, webhookActionSchema } from '../../src/workflows/actions/webhook.js';
import { failure, run } from '../support/workflows.js';

/**
 * An automation tool's webhook behind an OAuth2 client credentials grant (RFC 6749 section 4.4),
 * scripted per test: its token endpoint issues tokens (with or without `expires_in`) and the hook
 * takes only tokens it has not revoked.
 */
function oauthHook() {
  const hits: { path: string; headers: IncomingHttpHeaders }[] = [];
  const valid = new Set<string>();
  let issued = 0;
  let tokenReply: { status: number; body: unknown } | undefined;
  let hookReply: { status: number; headers?: Record<string, string> } | undefined;
  const server: Server = createServer(async (request, response) => {
    for await (const _ of request);
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    hits.push({ path, headers: request.headers });
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (path === '/token') {
      if (tokenReply) return send(tokenReply.status, tokenReply.body);
      const token = `token-${++issued}`;
      valid.add(token);
      // No expires_in: the token is good until the hook says otherwise.
      return send(200, { access_token: token, token_type: 'Bearer' });
    }
    if (hookReply) return send(hookReply.status, undefined, hookReply.headers);
    const bearer = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (!valid.has(bearer)) return send(401, { error: 'invalid_token' });
    return send(201, { id: `record-${hits.filter((hit) => hit.path === '/hook').length}` });
  });
  return {
    hits,
    hookHits: () => hits.filter((hit) => hit.path === '/hook'),
    revokeAll: () => valid.clear(),
    tokenAnswers(reply: { status: number; body: unknown }) {
      tokenReply = reply;
    },
    hookAnswers(reply: { status: number; headers?: Record<string, string> }) {
      hookReply = reply;
    },
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const PAYLOAD = { workflow: 'CallFlow', callId: 'c1', call: { status: 'answered' }, contact: null };

let hook: ReturnType<typeof oauthHook>;

afterEach(async () => {
  await hook?.close();
});

function webhook(base: string, fields: Record<string, unknown> = {}) {
  const config = webhookActionSchema.parse({
    type: 'webhook',
    url: `${base}/hook`,
    auth: {
      type: 'oauth2',
      tokenUrl: `${base}/token`,
      clientId: 'callcard',
      clientSecret: 'hook-s3cret-for-test',
    },
    response: { id: 'id' },
    ...fields,
  });
  return createWebhookAction(config, { baseDir: process.cwd() });
}

describe('webhook action', () => {
  it('renews a rejected OAuth2 token (one without expires_in too) and sends again within the attempt', async () => {
    hook = oauthHook();
    const action = webhook(await hook.start());
    expect(await run(action, PAYLOAD, 'CallFlow:first:0')).toEqual({ id: 'record-1' });
    hook.revokeAll();
    expect(await run(action, PAYLOAD, 'CallFlow:second:0')).toEqual({ id: 'record-3' });
    expect(hook.hookHits().map((hit) => hit.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-1',
      'Bearer token-2',
    ]);
    expect(hook.hits.filter((hit) => hit.path === '/token')).toHaveLength(2);
  });

  it('fails for good, with the endpoint’s error code, when the token endpoint refuses the client', async () => {
    hook = oauthHook();
    hook.tokenAnswers({ status: 401, body: { error: 'invalid_client' } });
    const base = await hook.start();
    const error = await failure(run(webhook(base), PAYLOAD));
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(
      /^webhook 127\.0\.0\.1:\d+: OAuth2 token request failed: HTTP 401 Unauthorized \(invalid_client\)$/,
    );
    expect(error.message).not.toContain('hook-s3cret-for-test');
    expect(hook.hookHits()).toHaveLength(0);

    hook.tokenAnswers({ status: 400, body: { error: 'invalid_scope' } });
    const scope = await failure(run(webhook(base), PAYLOAD));
    expect(scope.permanent).toBe(true);
    expect(scope.message).toContain('HTTP 400 Bad Request (invalid_scope)');
  });

  it('a token endpoint that does not answer is tried again later', async () => {
    hook = oauthHook();
    const base = await hook.start();
    await hook.close();
    const error = await failure(run(webhook(base), PAYLOAD));
    expect(error.permanent).toBe(false);
    expect(error.message).toContain('OAuth2 token request failed: connection failed');
  });

  it('reports a redirect as a permanent failure with its reason, and does not follow it', async () => {
    hook = oauthHook();
    hook.hookAnswers({ status: 302, headers: { location: 'https://elsewhere.example/hook' } });
    const error = await failure(run(webhook(await hook.start(), { auth: { type: 'none' } }), PAYLOAD));
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(/HTTP 302.*redirects are not followed, write the address it leads to$/);
    expect(hook.hookHits()).toHaveLength(1);
  });

  it('configured headers replace callcard’s own, whatever their case', async () => {
    hook = oauthHook();
    const action = webhook(await hook.start(), {
      headers: { 'Content-Type': 'application/cloudevents+json', 'X-Source': 'callcard' },
    });
    await run(action, PAYLOAD);
    const sent = hook.hookHits()[0]!.headers;
    expect(sent['content-type']).toBe('application/cloudevents+json');
    expect(sent['x-source']).toBe('callcard');
    expect(sent['idempotency-key']).toBe('CallFlow:DL9nRm1DLM61yWcRVfrxkQ:0');
  });
});
