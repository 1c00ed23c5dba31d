import type { Core } from './core/open-core.js';
import type { Readiness } from './http/routes/service.js';

/**
 * Ready: each tenant's store answers, each of its OAuth connections has its consent, and each of its
 * mirrored sources has a first good sync to answer from.
 */
export async function readinessOf(cores: readonly Core[]): Promise<Readiness> {
  const checks: { name: string; ok: boolean; detail?: string }[] = [];
  for (const core of cores) {
    const of = cores.length > 1 ? `${core.tenant.name}: ` : '';
    try {
      await core.store.calls.get('readiness');
      checks.push({ name: `${of}store`, ok: true });
    } catch {
      checks.push({ name: `${of}store`, ok: false, detail: 'the store does not answer' });
    }
    // An OAuth connection whose consent is missing or was withdrawn: its sources and actions cannot work.
    for (const name of core.connections.names()) {
      const state = await core.connections.state(name).catch(() => undefined);
      checks.push(
        state?.state === 'connected'
          ? { name: `${of}connection ${name}`, ok: true }
          : {
              name: `${of}connection ${name}`,
              ok: false,
              detail: state?.message ?? 'the store does not answer',
            },
      );
    }
    for (const name of core.mirrors.keys()) {
      const state = await core.store.contacts.syncState(name).catch(() => undefined);
      checks.push(
        state?.succeededAt !== undefined
          ? { name: `${of}source ${name}`, ok: true }
          : {
              name: `${of}source ${name}`,
              ok: false,
              detail: state?.error ? 'first sync failed' : 'first sync running',
            },
      );
    }
  }
  return { ready: checks.every((check) => check.ok), checks };
}
