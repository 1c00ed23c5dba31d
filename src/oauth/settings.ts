import type { Tenant } from '../config/schema.js';
import type { OAuth2CodeConfig } from '../net/auth-schema.js';
import type { ConnectionSettings } from './connections.js';

function oauthOf(auth: unknown): OAuth2CodeConfig | undefined {
  const config = auth as { type?: unknown } | undefined;
  return config?.type === 'oauth2Code' ? (auth as OAuth2CodeConfig) : undefined;
}

/**
 * The OAuth connections a tenant's config names: each source's `auth` of type oauth2Code (named
 * after the source unless `connection` says otherwise), and each workflow action's (by its
 * `connection`). The first place a name is configured wins; the registry checks that others agree.
 */
export function connectionsOf(
  tenant: Readonly<Pick<Tenant, 'sources' | 'workflows'>>,
): Map<string, ConnectionSettings> {
  const found = new Map<string, ConnectionSettings>();
  for (const source of tenant.sources) {
    const auth = oauthOf((source as { auth?: unknown }).auth);
    if (!auth) continue;
    const connection = auth.connection ?? source.name;
    if (!found.has(connection)) found.set(connection, { ...auth, connection });
  }
  for (const workflow of Object.values(tenant.workflows)) {
    for (const action of workflow.actions) {
      const auth = oauthOf((action as { auth?: unknown }).auth);
      if (auth?.connection !== undefined && !found.has(auth.connection)) {
        found.set(auth.connection, { ...auth, connection: auth.connection });
      }
    }
  }
  return found;
}

/** The connection a source uses, when it authenticates with oauth2Code. */
export function connectionOfSource(source: {
  readonly name: string;
  readonly auth?: unknown;
}): string | undefined {
  const auth = oauthOf(source.auth);
  return auth ? (auth.connection ?? source.name) : undefined;
}
