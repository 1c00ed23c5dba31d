import { availableParallelism } from 'node:os';
import { toWireContact } from '../connector/wire.js';
import { openCore } from '../core/open-core.js';
import { connectionOfSource } from '../oauth/settings.js';
import { table } from './format.js';
import type { CommandIo } from './io.js';
import { loadTenant, type TenantOptions } from './load.js';
import { quietLogger } from './quiet-logger.js';

type CommonOptions = TenantOptions;

function age(ms: number | undefined, now: number): string {
  if (ms === undefined) return 'never';
  const seconds = Math.round((now - ms) / 1000);
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

/** `callcard sources`: each source with its mode, contacts in the index, and how its syncs went. */
export async function sourcesCommand(options: CommonOptions, io: CommandIo): Promise<void> {
  const { config, tenant, redact } = loadTenant(options, io);
  const core = await openCore(tenant, { logger: quietLogger(config, io) });
  try {
    const now = Date.now();
    const rows: string[][] = [
      ['SOURCE', 'TYPE', 'MODE', 'CONTACTS', 'LAST SYNC', 'TOOK', 'LAST FULL', 'ERROR'],
    ];
    for (const entry of tenant.sources) {
      const configured = core.sources.find((source) => source.name === entry.name)!;
      const { mode } = configured;
      const mirrored = mode === 'mirror';
      const state = mirrored ? await core.store.contacts.syncState(entry.name) : undefined;
      const count = mode === 'live' ? '-' : String(await core.store.contacts.count(entry.name));
      // A connection without consent is what to fix first, whatever the last sync said.
      const connection = connectionOfSource(entry);
      const consent = connection === undefined ? undefined : await core.connections.state(connection);
      const error = consent && consent.state !== 'connected' ? consent.message : (state?.error ?? '');
      rows.push([
        entry.name,
        entry.type,
        mode,
        count,
        mirrored ? age(state?.succeededAt, now) : '-',
        state?.durationMs !== undefined ? `${(state.durationMs / 1000).toFixed(1)} s` : '-',
        mirrored ? age(state?.fullAt, now) : '-',
        redact(error),
      ]);
    }
    io.stdout.write(`${table(rows)}\n`);
  } finally {
    await core.close();
  }
}

/** `callcard sync [SOURCE]`: mirrors one source, or all mirrored sources, now. */
export async function syncCommand(
  name: string | undefined,
  options: CommonOptions & { full: boolean },
  io: CommandIo,
): Promise<void> {
  const { config, tenant, redact } = loadTenant(options, io);
  const core = await openCore(tenant, {
    logger: quietLogger(config, io),
    workers: Math.min(2, availableParallelism()),
  });
  try {
    const entries = name === undefined ? [...core.mirrors.values()] : [core.mirrors.get(name)];
    if (entries.length === 0) throw new Error('no source is mirrored (sources with mode: mirror)');
    if (entries[0] === undefined) {
      throw new Error(
        `"${name}" is not a mirrored source; mirrored: ${[...core.mirrors.keys()].join(', ') || 'none'}`,
      );
    }
    let failed = false;
    for (const entry of entries) {
      const report = await core.sync.sync(entry!, { full: options.full });
      const rate = report.durationMs > 0 ? Math.round((report.read / report.durationMs) * 1000) : 0;
      if (report.error) failed = true;
      io.stdout.write(
        report.error
          ? `${report.source}: failed after ${(report.durationMs / 1000).toFixed(1)} s: ${redact(report.error)}\n`
          : report.unchanged
            ? `${report.source}: unchanged since the last sync\n`
            : report.elsewhere
              ? `${report.source}: being synced by another instance on the same store: not synced here\n`
              : `${report.source}: ${report.full ? 'full' : 'incremental'} sync, ${report.read} read, ` +
                `${report.written} written, ${report.removed} removed, ${report.skipped} skipped, ` +
                `${(report.durationMs / 1000).toFixed(1)} s (${rate} rows/s)\n`,
      );
    }
    if (failed) io.exitCode = 1;
  } finally {
    await core.close();
  }
}

/** `callcard lookup NUMBER`: the answer the CONNECTOR would get; with --explain, what each source did. */
export async function lookupCommand(
  number: string,
  options: CommonOptions & { explain: boolean },
  io: CommandIo,
): Promise<void> {
  const { config, tenant, redact } = loadTenant(options, io);
  const core = await openCore(tenant, { logger: quietLogger(config, io) });
  try {
    const result = await core.lookup(number);
    const publicUrl = tenant.publicUrl ?? `http://localhost:${config.port}`;
    const answer = result.hits.map((hit) => toWireContact(hit, publicUrl));
    if (options.explain) {
      const lines = [`number: ${JSON.stringify(number)} → key ${result.key ?? '(none: empty or withheld)'}`];
      for (const outcome of result.outcomes) {
        lines.push(
          `source ${outcome.source} (${outcome.mode}): ${outcome.status}, ${outcome.found} found in ${outcome.ms} ms` +
            `${outcome.cached ? ' (from cache)' : ''}${outcome.error ? ` — ${redact(outcome.error)}` : ''}`,
        );
        for (const drop of outcome.dropped ?? []) lines.push(`  dropped ${drop.id}: ${drop.reason}`);
      }
      for (const hit of result.hits) {
        lines.push(`  kept ${hit.from.name}/${hit.match.id}${hit.match.primary ? ' (main number)' : ''}`);
      }
      lines.push('answer:');
      io.stdout.write(`${lines.join('\n')}\n`);
    }
    io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  } finally {
    await core.close();
  }
}
