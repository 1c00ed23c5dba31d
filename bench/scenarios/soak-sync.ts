// soak-sync: callcard with a mirrored file source (sync.intervalMs 1000 ms by default) running for
// --minutes (default 60). The file is rewritten after each sync that read it (at most every
// --soak-change-seconds), so that the next sync reads it again (an unchanged file is not read). The
// server's resident memory and thread count (/proc/<pid>/status VmRSS, Threads) are sampled every
// --sample-seconds, the thread count also every 200 ms in between (its peak: threads that live only
// during a sync). A table, min/max/first/last, and the trend from the first to the last quarter show
// whether memory and threads stay flat across thousands of syncs.
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freshDir, startCallcard, writeConfig } from '../support/callcard.js';
import { log, sleep, stop } from '../support/children.js';
import { num, round } from '../support/numbers.js';
import { memoryAndThreads } from '../support/proc.js';
import { failed } from '../support/report.js';
import { defineScenario } from './types.js';

export interface SoakSample {
  /** Seconds since the server answered /healthz. */
  readonly atSeconds: number;
  readonly rssMb: number;
  readonly threads: number;
  /** Most threads seen since the sample before (polled every 200 ms). */
  readonly threadsPeak: number;
  /** Syncs that read the file so far ("source synced" log lines). */
  readonly syncs: number;
  readonly fileChanges: number;
}

interface Spread {
  readonly min: number;
  readonly max: number;
  readonly first: number;
  readonly last: number;
  /** Medians of the first and the last quarter of the samples. */
  readonly firstQuarter: number;
  readonly lastQuarter: number;
}

export interface SoakSyncResult {
  readonly minutes: number;
  readonly sampleSeconds: number;
  readonly syncIntervalMs: number;
  readonly contacts: number;
  readonly changeSeconds: number;
  readonly syncs: number;
  readonly syncsFailed: number;
  readonly fileChanges: number;
  readonly samples: SoakSample[];
  readonly rssMb: Spread;
  readonly threads: Spread;
  readonly threadsPeak: Spread;
  readonly pass: { threadsFlat: boolean; rssFlat: boolean; synced: boolean };
}

/** How often the thread count is polled between samples. */
const POLL_MS = 200;
const SYNCED = 'source synced';
const SYNC_FAILED = 'sync failed; the last good contacts stay';

/** RSS may grow this much from the first to the last quarter (heap warm-up, allocator). */
const RSS_GROWTH_ALLOWED = 0.2;

function soakCsv(contacts: number, change: number): string {
  const rows = ['id,name,phone'];
  for (let i = 0; i < contacts; i++) {
    // Row 0 carries the change number: the file's size and contents change with each rewrite.
    const name = i === 0 ? `Soak Change ${change}` : `Soak Person ${i}`;
    rows.push(`s${i},${name},+4144${String(1_000_000 + i).padStart(7, '0')}`);
  }
  return `${rows.join('\n')}\n`;
}

function spread(values: readonly number[]): Spread {
  const median = (list: readonly number[]) => {
    const sorted = [...list].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  const quarter = Math.max(1, Math.floor(values.length / 4));
  return {
    min: Math.min(...values),
    max: Math.max(...values),
    first: values[0] ?? 0,
    last: values.at(-1) ?? 0,
    firstQuarter: median(values.slice(0, quarter)),
    lastQuarter: median(values.slice(-quarter)),
  };
}

/** The samples as a table: every one when few, else evenly spaced ones and the last. */
export function sampleTable(samples: readonly SoakSample[], maxRows = 30): string[] {
  const step = Math.max(1, Math.ceil(samples.length / maxRows));
  const shown = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  const clock = (s: number) =>
    `${String(Math.floor(s / 60)).padStart(3)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  return [
    '   time   RSS MB  threads  peak   syncs  file changes',
    ...shown.map(
      (s) =>
        `${clock(s.atSeconds)}  ${String(s.rssMb.toFixed(1)).padStart(7)}  ${String(s.threads).padStart(7)}  ` +
        `${String(s.threadsPeak).padStart(4)}  ${String(s.syncs).padStart(6)}  ${String(s.fileChanges).padStart(12)}`,
    ),
  ];
}

export default defineScenario<SoakSyncResult>({
  name: 'soak-sync',
  description: 'a mirrored file source syncing every second for --minutes: RSS and threads over time',
  byDefault: false,
  needs: [],
  async run(ctx) {
    const { minutes, sampleSeconds, soakContacts, soakChangeSeconds, syncIntervalMs } = ctx.options;
    const dir = join(ctx.paths.work, 'soak');
    const dataDir = join(dir, 'data');
    freshDir(dir);
    freshDir(dataDir);
    const file = join(dir, 'contacts.csv');
    let fileChanges = 0;
    await writeFile(file, soakCsv(soakContacts, 0));
    const config = await writeConfig(ctx, 'soak-sync', {
      sources: [{ type: 'file', name: 'soak', path: file, sync: { intervalMs: syncIntervalMs } }],
    });
    log(
      `soak-sync: callcard with a file source of ${num(soakContacts)} contacts, sync every ${syncIntervalMs} ms, ` +
        `file rewritten ${soakChangeSeconds > 0 ? 'after each sync' : 'never'}, for ${minutes} min`,
    );
    // Info: the sync engine logs each sync that read the source ("source synced").
    const server = await startCallcard(ctx, { logLevel: 'info', logTo: 'pipe', config, dataDir });
    const samples: SoakSample[] = [];
    const syncsDone = () => (server.messages.get(SYNCED) ?? 0) + (server.messages.get(SYNC_FAILED) ?? 0);
    let running = true;
    // After each sync that read the file (done or failed), a new version for the next one.
    const changer = (async () => {
      if (soakChangeSeconds <= 0) return;
      let seen = 0;
      while (running) {
        await sleep(Math.max(POLL_MS, soakChangeSeconds * 1000));
        const done = syncsDone();
        if (!running || done === seen) continue;
        seen = done;
        // Written aside and renamed: a sync never reads a half-written file.
        const next = join(dir, 'contacts.csv.next');
        await writeFile(next, soakCsv(soakContacts, ++fileChanges));
        await rename(next, file);
      }
    })();
    try {
      const started = performance.now();
      const endAt = started + minutes * 60_000;
      let nextSampleAt = started;
      let threadsPeak = 0;
      let lastLog = 0;
      for (;;) {
        const now = performance.now();
        const seen = memoryAndThreads(server.child.pid);
        if (!seen) throw new Error('the server exited during the soak');
        threadsPeak = Math.max(threadsPeak, seen.threads);
        if (now >= nextSampleAt || now >= endAt) {
          const sample: SoakSample = {
            atSeconds: round((now - started) / 1000, 1),
            rssMb: round(seen.rssKb / 1024, 1),
            threads: seen.threads,
            threadsPeak,
            syncs: server.messages.get(SYNCED) ?? 0,
            fileChanges,
          };
          samples.push(sample);
          threadsPeak = 0;
          nextSampleAt += sampleSeconds * 1000;
          if (now - lastLog >= 60_000 || samples.length === 1) {
            log(
              `soak-sync ${sample.atSeconds} s: RSS ${sample.rssMb} MB, ${sample.threads} threads ` +
                `(peak ${sample.threadsPeak}), ${sample.syncs} syncs`,
            );
            lastLog = now;
          }
          if (now >= endAt) break;
        }
        await sleep(Math.min(POLL_MS, Math.max(0, endAt - performance.now())));
      }
    } finally {
      running = false;
      await changer;
      await stop(server.child);
    }
    const rssMb = spread(samples.map((s) => s.rssMb));
    const threads = spread(samples.map((s) => s.threads));
    // The first sample's peak is the start-up's: left out of the peaks' spread.
    const threadsPeak = spread(samples.slice(1).map((s) => s.threadsPeak));
    const syncs = server.messages.get(SYNCED) ?? 0;
    return {
      minutes,
      sampleSeconds,
      syncIntervalMs,
      contacts: soakContacts,
      changeSeconds: soakChangeSeconds,
      syncs,
      syncsFailed: server.messages.get(SYNC_FAILED) ?? 0,
      fileChanges,
      samples,
      rssMb,
      threads,
      threadsPeak,
      pass: {
        threadsFlat:
          threads.lastQuarter <= threads.firstQuarter && threadsPeak.lastQuarter <= threadsPeak.firstQuarter,
        rssFlat: rssMb.lastQuarter <= rssMb.firstQuarter * (1 + RSS_GROWTH_ALLOWED),
        synced: syncs > 1,
      },
    };
  },
  notes: (r) => [
    `soak-sync: one file source (${num(r.contacts)} contacts, sync.intervalMs ${r.syncIntervalMs}), file rewritten ` +
      (r.changeSeconds > 0 ? `after each sync (at most every ${r.changeSeconds} s)` : 'never') +
      `, ${r.minutes} min, a sample every ${r.sampleSeconds} s ` +
      '(/proc/<pid>/status VmRSS and Threads of the server; table below)',
  ],
  footer: (r) => ['soak-sync samples:', ...sampleTable(r.samples).map((line) => `  ${line}`)],
  rows(report, outcome) {
    const title = 'soak-sync';
    if (!outcome.ok) return report.row(title, failed(outcome));
    const r = outcome.result;
    const text = (s: Spread, unit: string) =>
      `min ${s.min}, max ${s.max}, first ${s.first}, last ${s.last}${unit} ` +
      `(median of first / last quarter ${s.firstQuarter} / ${s.lastQuarter})`;
    report.row(
      `${title}: syncs that read the file`,
      `${num(r.syncs)} in ${r.minutes} min (${r.syncsFailed} failed), ${num(r.fileChanges)} file changes`,
      '> 1',
      r.pass.synced,
    );
    report.row(
      `${title}: server RSS MB`,
      text(r.rssMb, ' MB'),
      `last quarter <= +${RSS_GROWTH_ALLOWED * 100}%`,
      r.pass.rssFlat,
    );
    report.row(`${title}: server threads`, text(r.threads, ''), 'no growth', r.pass.threadsFlat);
    report.row(`${title}: server threads, peak per sample`, text(r.threadsPeak, ''));
  },
  pass: (r) => ({
    soakSyncThreadsFlat: r.pass.threadsFlat,
    soakSyncRssFlat: r.pass.rssFlat,
    soakSyncSynced: r.pass.synced,
  }),
});
