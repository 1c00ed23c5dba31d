import type { Core } from './core/open-core.js';
import type { Readiness } from './http/routes/service.js';

/**
 * Ready: each tenant's store answers, and each of its mirrored sources has a first good sync to
 * answer from. OAuth connections are checked too, for monitoring: one whose consent is needed does
 * not make the service unready, since its other sources keep answering.
 */
export async function readinessOf(cores: readonly Core[]): Promise<Readiness> {
  const checks: { name: string; ok: boolean; detail?: string }[] = [];
  /** Checks shown without deciding readiness. */
  const informational = new Set<string>();
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
      informational.add(`${of}connection ${name}`);
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
  const ready = checks.every((check) => check.ok || informational.has(check.name));
  return { ready, checks };
}
