import { once } from 'node:events';

/** What a run of the command line works with: the real process's, or a test's. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Ends the run at once with this exit code (the process exits; a test's may throw CliExit). */
  readonly exit: (code: number) => never;
  /** The environment the config and the secrets are read from. */
  readonly env: NodeJS.ProcessEnv;
  /** The directory relative paths of the command line are read against. */
  readonly cwd: string;
}

/** The io of one run, as commands see it: they set `exitCode` to end with a failure once done. */
export interface CommandIo extends CliIo {
  exitCode: number;
}

/** Thrown by a test's `exit`: the run ended with this code. */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Writes text, waiting while the stream's buffer is full (a large export into a slow pipe). */
export async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}
