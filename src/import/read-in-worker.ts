import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CountryCode } from 'libphonenumber-js';
import type { ReadItem, ReadJob, ReadMessage } from './read-worker.js';

// The compiled worker sits beside this module; run from TypeScript sources there is none.
const WORKER = fileURLToPath(new URL('./read-worker.js', import.meta.url));

/** Whether CSV files can be read in a thread of their own (a built callcard). */
export const CAN_READ_IN_WORKER = existsSync(WORKER);

/** Batches read ahead of the writer. */
const AHEAD = 4;

/**
 * A CSV file's entries, read and their numbers parsed in a worker thread: each contact comes
 * built, with its line. The thread stops when the entries are no longer wanted.
 */
export async function* readCsvInWorker(file: string, region: CountryCode): AsyncGenerator<ReadItem> {
  const worker = new Worker(WORKER, { workerData: { file, region, ahead: AHEAD } satisfies ReadJob });
  const queue: ReadMessage[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const push = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (message: ReadMessage) => {
    queue.push(message);
    push();
  });
  worker.on('error', (error) => {
    failure = error;
    push();
  });
  worker.on('exit', (code) => {
    // Its messages came before: a thread gone without its last one stopped part-way.
    failure ??= new Error(`the CSV reader stopped (exit code ${code})`);
    push();
  });
  try {
    for (;;) {
      const message = queue.shift();
      if (!message) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if ('failed' in message) throw new Error(message.failed);
      if ('done' in message) return;
      worker.postMessage('more');
      yield* message.items;
    }
  } finally {
    await worker.terminate();
  }
}
