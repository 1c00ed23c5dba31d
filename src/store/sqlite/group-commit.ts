import type Database from 'better-sqlite3';

/** Runs a write of the calls database; resolves once it is committed. */
export type Write = <T>(work: () => T) => Promise<T>;

export interface GroupCommit {
  readonly write: Write;
  /** Commits what is queued now (before the database is closed). */
  flush(): void;
}

interface Job {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: the writes asked for in one turn of the event loop (the calls posted at once, the
 * deliveries claimed and completed meanwhile) run in one IMMEDIATE transaction, one commit for all,
 * each in a savepoint of its own: a write that fails is rolled back alone and rejects alone. Each
 * write's promise settles only after the commit, so nothing is answered before it is stored; a
 * commit that fails rejects every write of the group. In WAL mode with `synchronous = NORMAL` a
 * commit appends the changed pages to the WAL: one append for the group instead of one per write.
 */
export function createGroupCommit(db: Database.Database): GroupCommit {
  let queue: Job[] = [];
  let scheduled = false;
  // Inside the group's transaction, better-sqlite3 runs a nested transaction as a savepoint.
  const savepoint = db.transaction((work: () => unknown) => work());
  const runAll = db.transaction((jobs: readonly Job[]) => {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    for (const job of jobs) {
      try {
        outcomes.push({ ok: true, value: savepoint(job.work) });
      } catch (error) {
        // Some errors (a full disk, an I/O error) end the whole transaction: then nothing of the
        // group is stored, and every write fails.
        if (!db.inTransaction) throw error;
        outcomes.push({ ok: false, value: error });
      }
    }
    return outcomes;
  });

  function flush(): void {
    scheduled = false;
    const jobs = queue;
    queue = [];
    if (jobs.length === 0) return;
    let outcomes: { ok: boolean; value: unknown }[];
    try {
      outcomes = runAll.immediate(jobs);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.value);
    });
  }

  return {
    write<T>(work: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          // After the I/O callbacks of this turn: the requests that came in together commit together.
          setImmediate(flush);
        }
      });
    },
    flush,
  };
}
