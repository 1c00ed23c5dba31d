/**
 * Cancellation helpers shared by every module that waits on something outside (HTTP, SQL, files).
 * Node's `AbortSignal.timeout` and `AbortSignal.any` cover the simple cases; these cover what
 * they do not: racing a promise that cannot be cancelled, and a timeout armed later and disposed
 * of, so a long-lived signal (a sync's) does not collect listeners.
 */

/**
 * Settles with `work`, or rejects with `reason(signal)` (by default the signal's reason) as soon as
 * the signal aborts; `onAbort` then stops the work where it runs (e.g. on the database server).
 * An already aborted signal rejects at once (and calls `onAbort`).
 */
export function raceAbort<T>(
  signal: AbortSignal,
  work: Promise<T>,
  options: { readonly onAbort?: () => void; readonly reason?: (signal: AbortSignal) => unknown } = {},
): Promise<T> {
  const reason = options.reason ?? ((aborted: AbortSignal) => aborted.reason);
  if (signal.aborted) {
    options.onAbort?.();
    // The work goes on without anyone waiting for it: its failure is not an unhandled rejection.
    work.catch(() => {});
    return Promise.reject(reason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const stop = () => {
      options.onAbort?.();
      reject(reason(signal));
    };
    signal.addEventListener('abort', stop, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', stop);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', stop);
        reject(error);
      },
    );
  });
}

/**
 * The signal of one operation: aborted by `parent` (with its reason), or `timeoutMs` after `arm()`
 * (again after each `arm()`) with a `TimeoutError`. `dispose()` when done.
 */
export function timeoutScope(parent: AbortSignal, timeoutMs: number) {
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    arm() {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
      }, timeoutMs);
    },
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}
