import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify';

/** Where the authorization server sends the browser back, under the tenant's base path. */
export const OAUTH_CALLBACK_PATH = '/oauth/callback';

export interface OAuthRoutesOptions {
  /**
   * Finishes the consent the query's `state` names (once, before it expires); answers the
   * connection's name. A wrong, used or expired state is a `CallcardError` (400).
   */
  readonly finish: (query: URLSearchParams) => Promise<string>;
  /** The address limit; the browser sends no token: the single-use state is the proof. */
  readonly guard?: onRequestAsyncHookHandler;
}

/** The redirect URI of `callcard connect` when the consent comes back to the running service. */
export const oauthRoutes: FastifyPluginAsync<OAuthRoutesOptions> = async (app, { finish, guard }) => {
  if (guard) app.addHook('onRequest', guard);
  app.get(OAUTH_CALLBACK_PATH, async (request, reply) => {
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const connection = await finish(query);
    return reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .type('text/plain; charset=utf-8')
      .send(`callcard: ${connection} is connected. This page can be closed.\n`);
  });
};
