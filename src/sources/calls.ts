/**
 * The calls a source has in progress, so that closing the source cuts them off. Used by the file and
 * carddav sources, whose listings can run for minutes.
 */
export interface Calls {
  /** The caller's signal, also aborted when the source is closed; `end()` once the call is over. */
  begin(signal: AbortSignal): { signal: AbortSignal; end(): void };
  /** Aborts the calls in progress, and any begun later fails; false when already closed. */
  close(): boolean;
}

export function createCalls(name: string): Calls {
  let closed = false;
  const running = new Set<AbortController>();
  return {
    begin(signal) {
      if (closed) throw new Error(`source "${name}" is closed`);
      const controller = new AbortController();
      running.add(controller);
      return { signal: AbortSignal.any([signal, controller.signal]), end: () => running.delete(controller) };
    },
    close() {
      if (closed) return false;
      closed = true;
      for (const controller of running) controller.abort(new Error(`source "${name}" is closed`));
      running.clear();
      return true;
    },
  };
}
