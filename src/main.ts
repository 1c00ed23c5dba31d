import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildApp } from './http/app.js';
import type { Credential } from './http/auth.js';
import { type ConfiguredSource, createLookup } from './lookup/lookup.js';
import { ensureSecretFile, newKey, newToken } from './secrets.js';
import { createSource } from './sources/registry.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/types.js';
import { createCallFlow } from './workflows/callflow.js';
import { createWorkflowRegistry } from './workflows/registry.js';

export interface Service {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly logger: Logger;
  /** The token callcard generated on this start, when none was configured (first start). */
  readonly generatedToken?: { readonly value: string; readonly file: string };
  /** The token file in the data directory, when the token comes from there. */
  readonly tokenFile?: string;
  close(): Promise<void>;
}

export interface ServiceOptions {
  readonly logger?: Logger;
}

export function createLogger(config: Readonly<Config>): Logger {
  return pino({ level: config.log.level, base: { service: 'callcard' } });
}

/** The tokens accepted: configured ones, or the one kept in the data directory (made on first start). */
function credentialsOf(config: Readonly<Config>): {
  credentials: Credential[];
  tokenFile?: string;
  generatedToken?: { value: string; file: string };
} {
  const { header, tokens, credentials } = config.auth;
  if (tokens.length > 0 || credentials.length > 0) {
    return { credentials: [...tokens.map((token): Credential => ({ [header]: token })), ...credentials] };
  }
  const token = ensureSecretFile(config.dataDir, 'token', newToken);
  return {
    credentials: [{ [header]: token.value }],
    tokenFile: token.file,
    ...(token.created && { generatedToken: { value: token.value, file: token.file } }),
  };
}

/** Wiring only: config → store → sources → lookup and workflows → HTTP app. */
export async function createService(
  config: Readonly<Config>,
  options: ServiceOptions = {},
): Promise<Service> {
  const logger = options.logger ?? createLogger(config);
  const auth = credentialsOf(config);
  const secret = Buffer.from(ensureSecretFile(config.dataDir, 'secret', newKey).value, 'base64url');
  const store = openSqliteStore(config.dataDir);

  const workflows = createWorkflowRegistry([createCallFlow({ journal: store.calls, secret })]);
  const sources: ConfiguredSource[] = config.sources.map((entry) => ({
    source: createSource(entry, { store: store.contacts, logger: logger.child({ source: entry.name }) }),
    crmName: entry.crmName,
    crmLogo: entry.crmLogo,
    timeoutMs: entry.timeoutMs,
    workflows: workflows.namesFor(entry.name),
  }));
  const lookup = createLookup({
    sources,
    region: config.region,
    maxResults: config.maxResults,
    deadlineMs: config.lookup.deadlineMs,
    logger,
  });
  const app = await buildApp({
    config,
    lookup,
    workflows,
    journal: store.calls,
    credentials: auth.credentials,
    logger,
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    logger,
    ...(auth.tokenFile && { tokenFile: auth.tokenFile }),
    ...(auth.generatedToken && { generatedToken: auth.generatedToken }),
    close() {
      closing ??= (async () => {
        await app.close();
        await Promise.all(sources.map((entry) => entry.source.close?.()));
        await store.close();
      })();
      return closing;
    },
  };
}
