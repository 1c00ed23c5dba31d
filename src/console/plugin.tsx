import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import helmet from '@fastify/helmet';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { pathPrefix } from '../config/schema.js';
import { ErrorMessages } from '../errors.js';
import type { AdminAccount, AdminStore } from '../store/admin-types.js';
import { SCRIPT, STYLESHEET } from './assets.js';
import { chooseLang, type Lang, translator } from './i18n.js';
import type { ConsoleKit, ConsoleOptions, ConsoleUser } from './kit.js';
import { callRoutes } from './pages/calls.js';
import { contactRoutes } from './pages/contacts.js';
import { overviewRoutes } from './pages/overview.js';
import { settingsRoutes } from './pages/settings.js';
import { testRoutes } from './pages/test-number.js';
import { hashPassword, MIN_PASSWORD_LENGTH, UNKNOWN_ACCOUNT_HASH, verifyPassword } from './password.js';
import { createSignInThrottle, DEFAULT_THROTTLE } from './throttle.js';
import { html } from './views/layout.js';
import { ErrorPage, PasswordPage, SignInPage } from './views/sign-in.js';

const SESSION_COOKIE = 'callcard_session';
const CSRF_COOKIE = 'callcard_csrf';
const LANG_COOKIE = 'callcard_lang';
const IDLE_TIMEOUT_MS = 30 * 60_000;
const MAX_SESSION_MS = 12 * 3_600_000;
/** The console's forms are small; a larger body is refused before it is read. */
const FORM_LIMIT = 16 * 1024;

const VERSION = (() => {
  try {
    const file = new URL('../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
})();

/** Whom a form's token is for: the session, or anyone signed out (the sign-in form). */
const formUser = (request: FastifyRequest) => request.consoleUser?.session ?? 'signed-out';

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * One tenant's web console, registered at `<base>/admin`: off (404, as an unknown path) until an
 * account exists. Pages are HTML drawn on the server; forms post with a token bound to the session;
 * the Content-Security-Policy allows this origin's stylesheet and script only.
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleOptions> = async (app, options) => {
  const { tenant, accounts, partners } = options;
  const now = options.now ?? Date.now;
  const idleMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const maxMs = options.maxSessionMs ?? MAX_SESSION_MS;
  const base = `${pathPrefix(tenant.basePath)}/admin`;
  const throttle = createSignInThrottle(options.throttle ?? DEFAULT_THROTTLE);
  const cookieOptions = { path: base, httpOnly: true, sameSite: 'strict', secure: 'auto' } as const;

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // A card's logo may be on the CRM's site.
        imgSrc: ["'self'", 'data:', 'https:'],
        formAction: ["'self'"],
        // The script's uploads and the overview's live figures.
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    // HTTPS and its policy are the deployment's (tls, or the reverse proxy).
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(cookie);
  await app.register(csrf, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: cookieOptions,
    csrfOpts: { hmacKey: options.csrfKey },
    getUserInfo: formUser,
    // A form's token is a field; the script's uploads (the file is the body) send it in a header.
    getToken: (request: FastifyRequest) => {
      const field = (request.body as Record<string, unknown> | undefined)?.['_csrf'];
      if (typeof field === 'string') return field;
      const header = request.headers['x-csrf-token'];
      return typeof header === 'string' ? header : '';
    },
  });
  app.decorateRequest('consoleUser', undefined);

  // Forms post as application/x-www-form-urlencoded; the service's parser reads everything else as JSON.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_LIMIT },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const findAccount = async (
    name: string,
  ): Promise<{ account: AdminAccount; store: AdminStore } | undefined> => {
    const own = await accounts.account(name);
    if (own && (own.role === 'partner' || own.tenant === tenant.name))
      return { account: own, store: accounts };
    const partner = await partners?.account(name);
    if (partner?.role === 'partner' && partners) return { account: partner, store: partners };
    return undefined;
  };

  const langOf = (request: FastifyRequest): Lang =>
    chooseLang(request.cookies[LANG_COOKIE], request.headers['accept-language']);

  const kit: ConsoleKit = {
    options,
    now,
    base,
    version: VERSION,
    context(request, reply) {
      const lang = langOf(request);
      const user = request.consoleUser;
      return {
        t: translator(lang),
        lang,
        base,
        here: request.url,
        csrf: reply.generateCsrf({ userInfo: formUser(request) }),
        tenant: tenant.name,
        ...(user && { viewer: { name: user.name, role: user.role } }),
      };
    },
    async audit(request, action, subject) {
      await accounts.audit({
        at: now(),
        actor: request.consoleUser?.name ?? '-',
        action,
        ...(subject !== undefined && { subject }),
        address: request.ip,
      });
    },
    send(reply, page, status = 200) {
      return reply.code(status).type('text/html; charset=utf-8').send(html(page));
    },
    forbid(request, reply) {
      const ctx = kit.context(request, reply);
      return kit.send(reply, <ErrorPage ctx={ctx} message={ctx.t('error.forbidden')} />, 403);
    },
  };

  // Off until an account exists: the same answer as a path where nothing is.
  app.addHook('onRequest', async (request, reply) => {
    const on = (await accounts.hasAccounts()) || (partners !== undefined && (await partners.hasAccounts()));
    if (!on) {
      const path = request.url.split('?')[0] ?? '';
      return reply
        .code(404)
        .send({ error: { code: 'NOT_FOUND', message: ErrorMessages.noSuchEndpoint(request.method, path) } });
    }
    reply.header('cache-control', 'no-store').header('x-robots-tag', 'noindex');
  });

  // The session, then the form's token, then the role: in that order, since the token is bound to the session.
  app.addHook('preHandler', async (request, reply) => {
    const config = request.routeOptions.config;
    const user = await sessionOf(request);
    if (user === 'expired') {
      reply.clearCookie(SESSION_COOKIE, { path: base });
      if (!config.open) return reply.redirect(`${base}/sign-in?expired=1`, 303);
    } else if (user) {
      request.consoleUser = user;
    }
    if (!config.open && !request.consoleUser) return reply.redirect(`${base}/sign-in`, 303);
    if (request.method === 'POST') {
      let passed = false;
      app.csrfProtection(request, reply, () => {
        passed = true;
      });
      if (!passed) return reply;
    }
    if (request.consoleUser?.mustChange && !config.open && !config.beforePassword) {
      return reply.redirect(`${base}/password`, 303);
    }
    if (config.change && request.consoleUser?.role === 'read-only') return kit.forbid(request, reply);
  });

  async function sessionOf(request: FastifyRequest): Promise<ConsoleUser | 'expired' | undefined> {
    const id = request.cookies[SESSION_COOKIE];
    if (!id) return undefined;
    const hash = sha256(id);
    const session = await accounts.session(hash);
    if (!session) return undefined;
    const at = now();
    if (at - session.seenAt > idleMs || at - session.createdAt > maxMs) {
      await accounts.endSession(hash);
      return 'expired';
    }
    // A removed account, or one whose password changed since, has no session any more.
    const found = await findAccount(session.account);
    if (!found || found.account.passwordAt > session.createdAt) {
      await accounts.endSession(hash);
      return undefined;
    }
    await accounts.touchSession(hash, at);
    return {
      name: found.account.name,
      role: found.account.role,
      mustChange: found.account.mustChange,
      session: hash,
      store: found.store,
    };
  }

  async function openSession(reply: FastifyReply, account: string): Promise<void> {
    const id = randomBytes(32).toString('base64url');
    const at = now();
    await accounts.purgeSessions(at - idleMs, at - maxMs);
    await accounts.openSession({ idHash: sha256(id), account, createdAt: at, seenAt: at });
    reply.setCookie(SESSION_COOKIE, id, cookieOptions);
  }

  // The errors of this part as pages: a form without its token gets 403, never a stack.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    if (status === 500) {
      request.log.error(
        { err: { type: error.name, code: error.code, message: options.redact(error.message) } },
        'console request failed',
      );
    }
    const ctx = kit.context(request, reply);
    const message = error.code?.startsWith('FST_CSRF') ? ctx.t('error.csrf') : ctx.t('error.title');
    return kit.send(reply, <ErrorPage ctx={ctx} message={message} />, status);
  });

  app.get('/assets/console.css', { config: { open: true } }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
  app.get('/assets/console.js', { config: { open: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(SCRIPT),
  );

  app.get<{ Querystring: { to?: string; back?: string } }>(
    '/language',
    { config: { open: true } },
    async (request, reply) => {
      const lang = chooseLang(request.query.to, undefined);
      reply.setCookie(LANG_COOKIE, lang, { ...cookieOptions, maxAge: 365 * 86_400 });
      const back = request.query.back ?? '';
      // Only back into this console: never a redirect elsewhere.
      const safe = back === base || back.startsWith(`${base}/`) || back.startsWith(`${base}?`) ? back : base;
      return reply.redirect(safe, 303);
    },
  );

  app.get<{ Querystring: { expired?: string; out?: string } }>(
    '/sign-in',
    { config: { open: true } },
    async (request, reply) => {
      if (request.consoleUser) return reply.redirect(base, 303);
      const ctx = kit.context(request, reply);
      const news = request.query.expired
        ? ctx.t('signIn.expired')
        : request.query.out
          ? ctx.t('signIn.signedOut')
          : undefined;
      return kit.send(reply, <SignInPage ctx={ctx} {...(news && { news })} />);
    },
  );

  app.post<{ Body: Record<string, string> }>(
    '/sign-in',
    { config: { open: true } },
    async (request, reply) => {
      const name = String(request.body?.['name'] ?? '')
        .trim()
        .slice(0, 64);
      const password = String(request.body?.['password'] ?? '').slice(0, 1024);
      const at = now();
      const wait = throttle.wait(name, request.ip, at);
      if (wait > 0) {
        await accounts.audit({
          at,
          actor: '-',
          action: 'sign-in-throttled',
          subject: name,
          address: request.ip,
        });
        const ctx = kit.context(request, reply);
        reply.header('retry-after', Math.ceil(wait / 1000));
        const error = ctx.t('signIn.throttled', { minutes: Math.ceil(wait / 60_000) });
        return kit.send(reply, <SignInPage ctx={ctx} name={name} error={error} />, 429);
      }
      const found = await findAccount(name);
      // An unknown name costs as much as a wrong password: the answer does not tell names apart.
      const good = await verifyPassword(password, found?.account.passwordHash ?? UNKNOWN_ACCOUNT_HASH);
      if (!found || !good) {
        throttle.failed(name, request.ip, at);
        await accounts.audit({
          at,
          actor: found ? found.account.name : '-',
          action: 'sign-in-failed',
          address: request.ip,
        });
        const ctx = kit.context(request, reply);
        return kit.send(reply, <SignInPage ctx={ctx} name={name} error={ctx.t('signIn.wrong')} />, 401);
      }
      throttle.succeeded(name);
      if (request.consoleUser) await accounts.endSession(request.consoleUser.session);
      await openSession(reply, found.account.name);
      await accounts.audit({ at, actor: found.account.name, action: 'sign-in', address: request.ip });
      return reply.redirect(found.account.mustChange ? `${base}/password` : base, 303);
    },
  );

  app.post('/sign-out', { config: { beforePassword: true } }, async (request, reply) => {
    const user = request.consoleUser!;
    await accounts.endSession(user.session);
    await kit.audit(request, 'sign-out');
    reply.clearCookie(SESSION_COOKIE, { path: base });
    return reply.redirect(`${base}/sign-in?out=1`, 303);
  });

  app.get('/password', { config: { beforePassword: true } }, async (request, reply) =>
    kit.send(reply, <PasswordPage ctx={kit.context(request, reply)} min={MIN_PASSWORD_LENGTH} />),
  );

  app.post<{ Body: Record<string, string> }>(
    '/password',
    { config: { beforePassword: true } },
    async (request, reply) => {
      const user = request.consoleUser!;
      const password = String(request.body?.['password'] ?? '');
      const repeat = String(request.body?.['repeat'] ?? '');
      const refuse = (error: string) =>
        kit.send(
          reply,
          <PasswordPage ctx={kit.context(request, reply)} min={MIN_PASSWORD_LENGTH} error={error} />,
          400,
        );
      const t = translator(langOf(request));
      if (password.length < MIN_PASSWORD_LENGTH || password.length > 1024) {
        return refuse(t('password.tooShort', { min: MIN_PASSWORD_LENGTH }));
      }
      if (password !== repeat) return refuse(t('password.different'));
      const at = now();
      await user.store.setPassword(user.name, await hashPassword(password), false, at);
      // The new password ends every session of the account, this one too: a fresh one follows.
      await accounts.endSession(user.session);
      await openSession(reply, user.name);
      await kit.audit(request, 'password-changed');
      return reply.redirect(base, 303);
    },
  );

  await app.register(overviewRoutes, { kit });
  await app.register(testRoutes, { kit });
  await app.register(callRoutes, { kit });
  await app.register(contactRoutes, { kit });
  await app.register(settingsRoutes, { kit });
};
