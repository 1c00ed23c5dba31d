import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config, Tenant } from './config/schema.js';
import type { TokenRotation } from './console/kit.js';
import { reloadedCredentials, splitTokens, tokenFileOf } from './credentials.js';
import { newToken } from './secrets.js';
import type { ServedTenants } from './served-tenants.js';
import { readTls, tlsFilesOf, watchFiles } from './tls.js';

/**
 * Token files and the TLS certificate read again: rotation without a restart. A tenant's tokens or a
 * certificate that cannot be read are logged and the previous ones stay. Returns the reload and what
 * stops watching the files (they are read again on their own when they change).
 */
export function rotation(
  config: Readonly<Config>,
  served: ServedTenants,
  apps: readonly FastifyInstance[],
  logger: Logger,
): { reload: () => void; unwatch: () => void } {
  const { credentials, auths, read } = served;
  const reload = () => {
    refreshShared();
    const refuse = (index: number, message: string) =>
      logger.error(
        { tenant: config.tenants[index]!.name, err: { message } },
        'tokens not reloaded; the previous ones stay',
      );
    for (const { index, credentials: fresh } of reloadedCredentials(
      config.tenants,
      credentials,
      (tenant) => read(tenant).credentials,
      refuse,
    )) {
      credentials[index] = fresh;
      auths[index]!.update(fresh);
    }
    try {
      const fresh = readTls(config);
      if (fresh) for (const app of apps) (app.server as unknown as TlsServer).setSecureContext(fresh);
    } catch (error) {
      logger.error(
        { err: { message: (error as Error).message } },
        'certificate not reloaded; the previous one stays',
      );
    }
  };
  const tlsFiles = tlsFilesOf(config);
  const unwatchFiles = watchFiles(
    [
      ...config.tenants.flatMap((tenant) => tokenFileOf(tenant) ?? []),
      // The tokens callcard generated, rotated from the console of another instance on the same data directory.
      ...served.tenants.flatMap((tenant) => tenant.tokenFile ?? []),
      ...(tlsFiles ? [tlsFiles.cert, tlsFiles.key] : []),
    ],
    reload,
  );
  // Tokens kept in a shared store are read again now and then (another instance may have rotated
  // them), and at each reload.
  const shared = served.keptInStore();
  const refreshShared = () => {
    for (const index of shared) {
      served
        .refresh(index)
        .catch((error: Error) =>
          logger.error(
            { tenant: config.tenants[index]!.name, err: { message: error.message } },
            'tokens not read again; the previous ones stay',
          ),
        );
    }
  };
  const timer =
    shared.length === 0 ? undefined : setInterval(refreshShared, SHARED_TOKENS_INTERVAL_MS).unref();
  const unwatch = () => {
    unwatchFiles();
    if (timer) clearInterval(timer);
  };
  return { reload, unwatch };
}

/** How often an instance reads again the tokens kept in a shared store (another instance may have rotated them). */
export const SHARED_TOKENS_INTERVAL_MS = 15_000;

/**
 * The console's token rotation for one tenant, when its tokens are the console's to change: the
 * token callcard generated (its file in the data directory, or the shared store), or the tenant's
 * `auth.tokenFile` (lines of other tokens and comments stay). Tokens set inline, from the
 * environment or as header sets are the configuration's: none.
 */
export function tokenRotationOf(
  tenant: Readonly<Tenant>,
  index: number,
  served: ServedTenants,
): TokenRotation | undefined {
  const { tokens, tokenEnv, credentials } = tenant.auth;
  if (tokens.length > 0 || tokenEnv !== undefined || credentials.length > 0) return undefined;
  const core = served.tenants[index]!;
  const file = tokenFileOf(tenant);
  const kept = file
    ? {
        keptIn: file,
        read: async () => splitTokens(readFileSync(file, 'utf8')),
        write: async (before: readonly string[], after: readonly string[]) => {
          const added = after.filter((token) => !before.includes(token));
          const gone = new Set(before.filter((token) => !after.includes(token)));
          // Each line without the tokens retired (a line left empty goes), the new ones at the end.
          const lines = readFileSync(file, 'utf8')
            .replace(/\n$/, '')
            .split('\n')
            .flatMap((line) => {
              const [text = '', ...comment] = line.split('#');
              const kept = text.split(/([\s,]+)/).filter((part) => !gone.has(part));
              const rest = kept.join('').replace(/^[\s,]+|[\s,]+$/g, '');
              const joined = [rest, ...comment].join('#');
              return rest === '' && comment.length === 0 && text.trim() !== '' ? [] : [joined];
            });
          const text = `${[...lines, ...added].join('\n')}\n`;
          const next = `${file}.${process.pid}.next`;
          writeFileSync(next, text, { mode: statSync(file).mode & 0o777 });
          renameSync(next, file);
        },
      }
    : {
        keptIn: core.tokenKeptIn ?? tenant.dataDir,
        read: async () => splitTokens((await core.store.secrets.ensure('token', newToken)).value),
        write: async (_before: readonly string[], after: readonly string[]) =>
          core.store.secrets.write('token', after.join('\n')),
      };
  return {
    keptIn: kept.keptIn,
    list: kept.read,
    async add() {
      const before = await kept.read();
      const token = newToken();
      await kept.write(before, [...before, token]);
      await served.refresh(index);
      return token;
    },
    async retire(token) {
      const before = await kept.read();
      const after = before.filter((value) => value !== token);
      if (after.length === before.length || after.length === 0) return false;
      await kept.write(before, after);
      await served.refresh(index);
      return true;
    },
  };
}
