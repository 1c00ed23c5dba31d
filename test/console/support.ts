import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../src/console/password.js';
import type { AdminRole, AdminStore } from '../../src/store/admin-types.js';

/** A password the tests set directly (the command line's one-time passwords are tested apart). */
export const PASSWORD = 'correct horse battery';

/** Adds an account whose password is PASSWORD, already changed (no one-time password to replace). */
export async function addAccount(
  store: AdminStore,
  name: string,
  role: AdminRole,
  tenant: string | undefined,
  options: { mustChange?: boolean; password?: string } = {},
): Promise<void> {
  const now = Date.now() - 1000;
  const added = await store.addAccount({
    name,
    role,
    ...(tenant !== undefined && { tenant }),
    passwordHash: await hashPassword(options.password ?? PASSWORD),
    mustChange: options.mustChange ?? false,
    passwordAt: now,
    createdAt: now,
  });
  if (!added) throw new Error(`account ${name} exists`);
}

/** A browser's cookie jar for `app.inject`, one per simulated browser. */
export class Jar {
  readonly cookies = new Map<string, string>();

  take(headers: Record<string, unknown>): void {
    const set = headers['set-cookie'];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair = ''] = String(line).split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(String(line))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** The hidden form token of a page. */
export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no form token on the page');
  return token;
}

/** A browser on one app: GETs and form POSTs with its cookies. */
export function browser(app: FastifyInstance, headers: Record<string, string> = {}, remoteAddress?: string) {
  const jar = new Jar();
  const request = async (method: 'GET' | 'POST', url: string, form?: Record<string, string>) => {
    const response = await app.inject({
      method,
      url,
      headers: {
        ...headers,
        ...(jar.header && { cookie: jar.header }),
        ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(form && { payload: new URLSearchParams(form).toString() }),
      ...(remoteAddress && { remoteAddress }),
    });
    jar.take(response.headers);
    return response;
  };
  return {
    jar,
    get: (url: string) => request('GET', url),
    post: (url: string, form: Record<string, string>) => request('POST', url, form),
    /** Posts a form with the token of the page at `page`. */
    async submit(page: string, url: string, form: Record<string, string>) {
      const shown = await request('GET', page);
      return request('POST', url, { ...form, _csrf: csrfOf(shown.body) });
    },
    async signIn(base: string, name: string, password = PASSWORD) {
      return this.submit(`${base}/sign-in`, `${base}/sign-in`, { name, password });
    },
  };
}
