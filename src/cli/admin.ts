import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config, Tenant } from '../config/schema.js';
import { hashPassword, oneTimePassword } from '../console/password.js';
import { openTenantStore, partnerTenantIndex } from '../core/open-store.js';
import { CallcardError } from '../errors.js';
import type { AdminRole, AdminStore } from '../store/admin-types.js';
import { openAdminStore } from '../store/sqlite/admin-store.js';
import { isoTime } from './flags.js';
import { table } from './format.js';
import type { CommandIo } from './io.js';
import { loadTenant, type TenantOptions } from './load.js';

/** Names people sign in with: letters, digits and `.`, `_`, `-`, `@`. */
const ACCOUNT_NAME = /^[\w.@-]{1,64}$/;

/**
 * Where accounts live: a tenant's accounts in its store, partner accounts (every tenant) in the
 * store of the first tenant on PostgreSQL (shared by every instance), else in the instance's data
 * directory. With one tenant on the embedded store both are the same files.
 */
interface Place {
  /** The tenant whose store this is; absent for the instance's (partners). */
  readonly tenant?: Readonly<Tenant>;
}

const placeOf = (tenant: Readonly<Tenant>, cwd: string): Place => ({
  tenant: { ...tenant, dataDir: resolve(cwd, tenant.dataDir) },
});

/** Where partner accounts are kept: a tenant's store (a shared PostgreSQL schema), or the instance's. */
function partnerPlace(config: Readonly<Config>, cwd: string): Place {
  const keeper = partnerTenantIndex(config, cwd);
  return keeper === undefined ? {} : placeOf(config.tenants[keeper]!, cwd);
}

/** Every store with accounts: the partners' first, then each other tenant's. */
function places(config: Readonly<Config>, cwd: string): Place[] {
  const keeper = partnerTenantIndex(config, cwd);
  const others = config.tenants.filter((_, index) => index !== keeper);
  return [partnerPlace(config, cwd), ...others.map((tenant) => placeOf(tenant, cwd))];
}

/** Runs `use` on the accounts of `place`, then closes them. */
async function withStore<T>(
  place: Place,
  config: Readonly<Config>,
  io: CommandIo,
  use: (store: AdminStore) => Promise<T>,
): Promise<T> {
  if (!place.tenant) {
    const store = openAdminStore(resolve(io.cwd, config.dataDir));
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  }
  const store = await openTenantStore(place.tenant, io.env);
  try {
    return await use(store.admin);
  } finally {
    await store.close();
  }
}

function printPassword(io: CommandIo, name: string, password: string, what: string): void {
  io.stdout.write(
    `${what} "${name}". One-time password (shown once; it must be changed at the first sign-in):\n` +
      `  ${password}\n`,
  );
}

/** `callcard admin add NAME`: an account with a printed one-time password. */
export async function addAdminCommand(
  name: string,
  options: TenantOptions & { readonly role: AdminRole },
  io: CommandIo,
): Promise<void> {
  if (!ACCOUNT_NAME.test(name)) {
    throw new CallcardError(
      'INVALID_INPUT',
      'an account name has 1 to 64 letters, digits, ".", "_", "-" or "@"',
    );
  }
  let config: Readonly<Config>;
  let tenant: Readonly<Tenant> | undefined;
  if (options.role === 'partner') {
    if (options.tenant !== undefined) {
      throw new CallcardError('INVALID_INPUT', 'a partner account is for every tenant: leave --tenant out');
    }
    config = loadConfig({ ...(options.config && { file: options.config }), env: io.env, cwd: io.cwd });
  } else {
    ({ config, tenant } = loadTenant(options, io));
  }
  const password = oneTimePassword();
  const now = Date.now();
  const added = await withStore(
    tenant ? { tenant } : partnerPlace(config, io.cwd),
    config,
    io,
    async (store) =>
      store.addAccount({
        name,
        role: options.role,
        ...(tenant && { tenant: tenant.name }),
        passwordHash: await hashPassword(password),
        mustChange: true,
        passwordAt: now,
        createdAt: now,
      }),
  );
  if (!added)
    throw new CallcardError(
      'INVALID_INPUT',
      `an account "${name}" exists already (callcard admin reset ${name})`,
    );
  printPassword(io, name, password, `Added ${options.role} account`);
}

/** `callcard admin list`: every account, partners and each tenant's. */
export async function listAdminsCommand(options: TenantOptions, io: CommandIo): Promise<void> {
  const config = loadConfig({ ...(options.config && { file: options.config }), env: io.env, cwd: io.cwd });
  const rows: string[][] = [['NAME', 'ROLE', 'TENANT', 'PASSWORD', 'CREATED']];
  for (const place of places(config, io.cwd)) {
    await withStore(place, config, io, async (store) => {
      for (const account of await store.accounts()) {
        if (options.tenant !== undefined && account.tenant !== options.tenant && account.role !== 'partner')
          continue;
        rows.push([
          account.name,
          account.role,
          account.tenant ?? '(all)',
          account.mustChange ? 'one-time, not changed yet' : 'set',
          isoTime(account.createdAt),
        ]);
      }
    });
  }
  io.stdout.write(
    rows.length === 1 ? 'no accounts: the console is off (callcard admin add NAME)\n' : `${table(rows)}\n`,
  );
}

/** The one store that holds `name` (with several, --tenant chooses). */
async function findAccount(
  name: string,
  options: TenantOptions,
  io: CommandIo,
): Promise<{ place: Place; config: Readonly<Config> }> {
  const config = loadConfig({ ...(options.config && { file: options.config }), env: io.env, cwd: io.cwd });
  const found: Place[] = [];
  for (const place of places(config, io.cwd)) {
    const account = await withStore(place, config, io, (store) => store.account(name));
    if (!account) continue;
    if (options.tenant !== undefined && account.role !== 'partner' && account.tenant !== options.tenant)
      continue;
    found.push(place);
  }
  if (found.length === 0) throw new CallcardError('INVALID_INPUT', `no account "${name}"`);
  if (found.length > 1) {
    throw new CallcardError(
      'INVALID_INPUT',
      `several tenants have an account "${name}": name one with --tenant`,
    );
  }
  return { place: found[0]!, config };
}

/** `callcard admin remove NAME`: the account and its sessions are gone. */
export async function removeAdminCommand(name: string, options: TenantOptions, io: CommandIo): Promise<void> {
  const { place, config } = await findAccount(name, options, io);
  await withStore(place, config, io, (store) => store.removeAccount(name));
  io.stdout.write(`account "${name}" removed; its sessions are over\n`);
}

/** `callcard admin reset NAME`: a new one-time password; the account's sessions end. */
export async function resetAdminCommand(name: string, options: TenantOptions, io: CommandIo): Promise<void> {
  const { place, config } = await findAccount(name, options, io);
  const password = oneTimePassword();
  const hash = await hashPassword(password);
  await withStore(place, config, io, (store) => store.setPassword(name, hash, true, Date.now()));
  printPassword(io, name, password, 'New password for');
}
