import { randomBytes } from 'node:crypto';
import type { ContactImportSummary } from './kit.js';

/** Skipped entries listed in a report; the count goes on past them. */
export const MAX_LISTED_SKIPS = 500;
/** How long a finished import's report stays to be read. */
const KEEP_MS = 60 * 60_000;

/** An upload being imported, or imported: what its page and its progress show. */
export interface ImportJob {
  readonly id: string;
  /** The account that uploaded it. */
  readonly account: string;
  readonly fileName: string;
  readonly source: string;
  readonly replace: boolean;
  /** Lines of the uploaded file, for the share read so far. */
  readonly lines: number;
  status: 'running' | 'done' | 'failed';
  /** The line of the last entry read. */
  line: number;
  read: number;
  readonly skips: { line: number; reason: string }[];
  skipped: number;
  summary?: ContactImportSummary;
  error?: string;
  finishedAt?: number;
}

/** The imports of one tenant's console, kept in memory by the instance that took the upload. */
export class ImportJobs {
  readonly #jobs = new Map<string, ImportJob>();

  constructor(private readonly now: () => number) {}

  start(
    job: Pick<ImportJob, 'account' | 'fileName' | 'source' | 'replace' | 'lines'>,
    run: (job: ImportJob) => Promise<ContactImportSummary>,
    finished: (job: ImportJob) => Promise<void>,
  ): ImportJob {
    this.#purge();
    const started: ImportJob = {
      ...job,
      id: randomBytes(12).toString('base64url'),
      status: 'running',
      line: 0,
      read: 0,
      skips: [],
      skipped: 0,
    };
    this.#jobs.set(started.id, started);
    // The job is over for its page once its upload is removed and the audit log has it.
    void (async () => {
      let status: ImportJob['status'];
      try {
        started.summary = await run(started);
        status = 'done';
      } catch (error) {
        started.error = (error as Error).message;
        status = 'failed';
      }
      started.finishedAt = this.now();
      await finished(started).catch(() => {});
      started.status = status;
    })();
    return started;
  }

  get(id: string): ImportJob | undefined {
    return this.#jobs.get(id);
  }

  /** Notes an entry read, and a skipped one with its reason. */
  static entry(job: ImportJob, line: number): void {
    job.read++;
    job.line = line;
  }

  static skip(job: ImportJob, line: number, reason: string): void {
    job.skipped++;
    if (job.skips.length < MAX_LISTED_SKIPS) job.skips.push({ line, reason });
  }

  /** The share of the file read, 0 to 1. */
  static progress(job: ImportJob): number {
    if (job.status !== 'running') return 1;
    return job.lines === 0 ? 0 : Math.min(1, job.line / job.lines);
  }

  #purge(): void {
    const at = this.now();
    for (const [id, job] of this.#jobs) {
      if (job.finishedAt !== undefined && at - job.finishedAt > KEEP_MS) this.#jobs.delete(id);
    }
  }
}
