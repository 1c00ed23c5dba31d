import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { type Config, SINGLE_TENANT, type Tenant } from '../config/schema.js';
import { CallcardError } from '../errors.js';
import { Redactor, secretsOf } from '../secrets.js';
import type { CliIo } from './io.js';

export interface TenantOptions {
  readonly config?: string;
  /** With several tenants, the one a command works on. */
  readonly tenant?: string;
}

/**
 * The config, the tenant a command works on (the only one, or the one named by --tenant), and
 * what hides the config's secrets in text a command prints (a source's error may quote a URL).
 */
export function loadTenant(
  options: TenantOptions,
  io: Pick<CliIo, 'env' | 'cwd'>,
): {
  config: Readonly<Config>;
  tenant: Readonly<Tenant>;
  redact: (text: string) => string;
} {
  const config = loadConfig({
    ...(options.config !== undefined && { file: options.config }),
    env: io.env,
    cwd: io.cwd,
  });
  const names = config.tenants.map((tenant) => tenant.name);
  const wanted = options.tenant ?? (config.tenants.length === 1 ? config.tenants[0]!.name : undefined);
  const tenant = config.tenants.find((entry) => entry.name.toLowerCase() === wanted?.toLowerCase());
  if (!tenant) {
    const listed = names.filter((name) => name !== SINGLE_TENANT).join(', ');
    throw new CallcardError(
      'INVALID_INPUT',
      wanted === undefined
        ? `several tenants are configured: name one with --tenant (${listed})`
        : `no tenant named "${wanted}"${listed ? ` (tenants: ${listed})` : ''}`,
    );
  }
  const redactor = new Redactor(secretsOf(config, io.env));
  // A relative data directory is the command's directory's (the process's, when run as a program).
  return {
    config,
    tenant: { ...tenant, dataDir: resolve(io.cwd, tenant.dataDir) },
    redact: (text) => redactor.redact(text),
  };
}
