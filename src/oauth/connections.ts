import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { readOptionalSecret, type SecretContext } from '../config/secret-fields.js';
import type { Auth, ConnectionAuths } from '../net/auth.js';
import type { OAuth2CodeConfig } from '../net/auth-schema.js';
import type { CredentialStore } from '../store/credential-types.js';
import { type ClientConfiguration, clientConfiguration } from './client.js';
import { ConsentNeededError, createTokenKeeper } from './keeper.js';
import { createSealer, type Sealer } from './sealing.js';

export type ConnectionSettings = OAuth2CodeConfig & { readonly connection: string };

/** How a connection stands, as `callcard sources`, `/readyz` and the metrics show it. */
export type ConnectionState =
  | { readonly state: 'connected' }
  | { readonly state: 'consent needed' | 'not connected'; readonly message: string };

interface Registered {
  readonly settings: ConnectionSettings;
  readonly client: () => Promise<ClientConfiguration>;
  readonly auth: Auth;
}

/** The OAuth connections of one tenant: their auth for sources and actions, their clients, their state. */
export interface Connections extends ConnectionAuths {
  readonly store: CredentialStore;
  readonly sealer: Sealer;
  names(): string[];
  settings(name: string): ConnectionSettings | undefined;
  /** The openid-client configuration of a registered connection (discovered at first use). */
  client(name: string): Promise<ClientConfiguration>;
  state(name: string): Promise<ConnectionState>;
}

export interface ConnectionsOptions {
  readonly store: CredentialStore;
  readonly sealer: Sealer;
  readonly logger: Logger;
  /** With several tenants, the tenant's name, which `callcard connect` then needs. */
  readonly tenant?: string;
  readonly now?: () => number;
  /** How often a process waiting for another's refresh reads the store again. */
  readonly waitMs?: number;
  readonly onWait?: (connection: string) => void;
}

/** Settings as text with their keys in order: the same settings give the same text. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );

/** Settings that must agree when a source and an action share a connection. */
const sameSettings = (a: ConnectionSettings, b: ConnectionSettings) => canonical(a) === canonical(b);

export function createConnections(options: ConnectionsOptions): Connections {
  const { store, sealer } = options;
  const registered = new Map<string, Registered>();
  // One holder name per process and registry: leases taken by an earlier run are not this one's.
  const instance = `${process.pid}-${randomBytes(6).toString('hex')}`;

  return {
    store,
    sealer,
    auth(settings, context: SecretContext, timeoutMs) {
      const name = settings.connection;
      const known = registered.get(name);
      if (known) {
        if (!sameSettings(known.settings, settings)) {
          throw new Error(`OAuth connection "${name}" is configured twice, with different settings`);
        }
        return known.auth;
      }
      const secret = readOptionalSecret(settings, 'clientSecret', context, 'auth.');
      let configuration: Promise<ClientConfiguration> | undefined;
      const client = () => {
        configuration ??= clientConfiguration(settings, secret, timeoutMs).catch((error: unknown) => {
          configuration = undefined; // a discovery that failed is tried again next time
          throw error;
        });
        return configuration;
      };
      const auth = createTokenKeeper({
        connection: name,
        store,
        sealer,
        client,
        holder: instance,
        ...(options.tenant !== undefined && { tenant: options.tenant }),
        logger: options.logger,
        timeoutMs,
        ...(options.now && { now: options.now }),
        ...(options.waitMs !== undefined && { waitMs: options.waitMs }),
        ...(options.onWait && { onWait: () => options.onWait?.(name) }),
      });
      registered.set(name, { settings, client, auth });
      return auth;
    },
    names: () => [...registered.keys()],
    settings: (name) => registered.get(name)?.settings,
    client(name) {
      const known = registered.get(name);
      if (!known) return Promise.reject(new Error(`no OAuth connection named "${name}"`));
      return known.client();
    },
    async state(name) {
      const row = await store.read(name);
      if (row?.sealed !== undefined) return { state: 'connected' };
      const error = new ConsentNeededError(name, row ? 'consent needed' : 'not connected', options.tenant);
      return { state: row ? 'consent needed' : 'not connected', message: error.message };
    },
  };
}

/**
 * Connections for `callcard config check`: each connection's client secret is read and settings
 * shared under one name are compared, but no store is opened and no token is asked for.
 */
export function checkedConnections(logger: Logger): Connections {
  const none = () => Promise.reject(new Error('config check opens no store'));
  return createConnections({
    store: {
      read: none,
      save: none,
      markConsentNeeded: none,
      lease: none,
      release: none,
      addPending: none,
      takePending: none,
    },
    sealer: createSealer(randomBytes(32)),
    logger,
  });
}
