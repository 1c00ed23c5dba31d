import type { Config, Tenant } from './config/schema.js';
import type { Core } from './core/open-core.js';
import { type Retention, startRetention } from './workflows/retention.js';

/** The result of reading the config file again. */
export type ConfigReload =
  | {
      readonly ok: true;
      /** Epoch ms. */
      readonly at: number;
      /** The tenants by name. */
      readonly added: readonly string[];
      readonly changed: readonly string[];
      readonly removed: readonly string[];
    }
  | {
      readonly ok: false;
      readonly at: number;
      /** Why the file was refused (the running configuration stays). */
      readonly reason: string;
    };

/** Which tenants a new configuration adds, changes and removes, by name. */
export function tenantChanges(
  running: readonly Readonly<Tenant>[],
  fresh: readonly Readonly<Tenant>[],
): { added: string[]; changed: string[]; removed: string[] } {
  const before = new Map(running.map((tenant) => [tenant.name, JSON.stringify(tenant)]));
  const after = new Map(fresh.map((tenant) => [tenant.name, JSON.stringify(tenant)]));
  return {
    added: [...after.keys()].filter((name) => !before.has(name)),
    changed: [...after]
      .filter(([name, text]) => before.has(name) && before.get(name) !== text)
      .map(([name]) => name),
    removed: [...before.keys()].filter((name) => !after.has(name)),
  };
}

/**
 * The settings outside `tenants` that a new configuration changes: listeners, TLS files, metrics,
 * consoles, logs. They are the start's until the next start.
 */
export function restartOnlyChanges(running: Readonly<Config>, fresh: Readonly<Config>): string[] {
  const keys = new Set([...Object.keys(running), ...Object.keys(fresh)]);
  keys.delete('tenants');
  return [...keys]
    .filter(
      (key) => JSON.stringify(running[key as keyof Config]) !== JSON.stringify(fresh[key as keyof Config]),
    )
    .sort();
}

/** Each served tenant's retention of old calls and deliveries, started and stopped with the tenant. */
export function tenantRetention(): {
  follow(tenants: readonly Core[]): void;
  stop(tenants: readonly Core[]): Promise<void>;
} {
  const running = new Map<Core, Retention>();
  return {
    follow(tenants) {
      for (const core of tenants) {
        if (running.has(core)) continue;
        running.set(
          core,
          startRetention(core.store.calls, core.tenant.journal.retentionDays, core.logger, {
            outbox: { store: core.store.outbox, days: core.tenant.delivery.retentionDays },
            ...(core.store.once && { once: core.store.once }),
          }),
        );
      }
    },
    async stop(tenants) {
      await Promise.all(
        tenants.map(async (core) => {
          const retention = running.get(core);
          running.delete(core);
          await retention?.stop();
        }),
      );
    },
  };
}
