import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { NO_AUTH, type RedirectPolicy, sendWithAuth } from '../../net/http-client.js';

/** Longest wait for a HEAD answer. */
const HEAD_TIMEOUT_MS = 30_000;
/** Longest a whole download may take. */
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

export interface Remote {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** How the URL is shown in messages and logs: no credentials, no query string. */
  readonly label: string;
}

export interface Download {
  readonly file: string;
  readonly contentType: string | undefined;
  /** Removes the temporary file; safe to call more than once. */
  remove(): Promise<void>;
}

/** The URL as it may be shown: user, password and query string (which may carry a key) left out. */
export function urlLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
}

/**
 * Where to send requests for a configured URL: user and password in it become a Basic
 * Authorization header (fetch refuses them in the URL), unless one is configured.
 */
export function remoteOf(url: string, headers: Readonly<Record<string, string>> = {}): Remote {
  const parsed = new URL(url);
  const sent = { ...headers };
  if (parsed.username || parsed.password) {
    if (!Object.keys(sent).some((name) => name.toLowerCase() === 'authorization')) {
      const user = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
      sent['Authorization'] = `Basic ${Buffer.from(user).toString('base64')}`;
    }
    parsed.username = '';
    parsed.password = '';
  }
  return { url: parsed.href, headers: sent, label: urlLabel(url) };
}

/**
 * Redirects are followed by the shared client: anywhere when the request carries no headers (a
 * public link to a storage host), on the same origin only when it does, so that configured
 * headers (which may hold a key) and credentials never go to another host.
 */
function redirectPolicy(remote: Remote): RedirectPolicy {
  return Object.keys(remote.headers).length === 0 ? 'follow' : 'follow-same-origin';
}

/** The first line of an error's message (or its cause's), the URL in it shown by its label only. */
function describe(error: unknown, remote: Remote): string {
  const cause = (error as { cause?: unknown }).cause;
  const message =
    cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.split(remote.url).join(remote.label);
}

/** Why a request failed: the caller's own abort as given, a timeout or a network error as a clear message. */
function requestError(
  method: string,
  remote: Remote,
  error: unknown,
  signal: AbortSignal,
  timeoutMs: number,
) {
  if (signal.aborted) return signal.reason as unknown;
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new Error(`${method} ${remote.label}: no answer within ${timeoutMs / 1000} s`);
  }
  return new Error(`${method} ${remote.label} failed: ${describe(error, remote)}`, { cause: error });
}

/**
 * A fingerprint of the file behind the URL, from a HEAD request: its ETag, else its Last-Modified
 * time; undefined when the server gives neither (or does not answer HEAD), so it is read every time.
 */
export async function remoteVersion(remote: Remote, signal: AbortSignal): Promise<string | undefined> {
  signal.throwIfAborted();
  let response: Response;
  try {
    response = await sendWithAuth(
      NO_AUTH,
      { method: 'HEAD', url: new URL(remote.url), headers: remote.headers },
      AbortSignal.any([signal, AbortSignal.timeout(HEAD_TIMEOUT_MS)]),
      redirectPolicy(remote),
    );
  } catch (error) {
    throw requestError('HEAD', remote, error, signal, HEAD_TIMEOUT_MS);
  }
  if (response.status === 405 || response.status === 501) return undefined;
  if (!response.ok)
    throw new Error(`HEAD ${remote.label}: HTTP ${response.status} ${response.statusText}`.trim());
  const etag = response.headers.get('etag');
  if (etag) return `etag ${etag}`;
  const modified = response.headers.get('last-modified');
  if (modified) return `modified ${modified} size ${response.headers.get('content-length') ?? '?'}`;
  return undefined;
}

/** Counts the bytes that pass and fails once there are more than `max`. */
function sizeCap(max: number, label: string): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > max) callback(new Error(`GET ${label}: larger than ${formatBytes(max)}`));
      else callback(null, chunk);
    },
  });
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MB` : `${bytes} bytes`;
}

/**
 * Downloads the URL into a new file under the OS temporary directory, streaming (memory does not
 * grow with the file) and at most `maxBytes` (counted after any content encoding is undone).
 */
export async function download(remote: Remote, signal: AbortSignal, maxBytes: number): Promise<Download> {
  signal.throwIfAborted();
  const timed = AbortSignal.any([signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]);
  let response: Response;
  try {
    response = await sendWithAuth(
      NO_AUTH,
      { method: 'GET', url: new URL(remote.url), headers: remote.headers },
      timed,
      redirectPolicy(remote),
    );
  } catch (error) {
    throw requestError('GET', remote, error, signal, DOWNLOAD_TIMEOUT_MS);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`GET ${remote.label}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (length > maxBytes) {
    await response.body.cancel().catch(() => {});
    throw new Error(`GET ${remote.label}: larger than ${formatBytes(maxBytes)}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'callcard-file-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  const file = join(dir, 'download');
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      sizeCap(maxBytes, remote.label),
      // Contacts are personal data: readable by this user only.
      createWriteStream(file, { mode: 0o600 }),
      { signal: timed },
    );
  } catch (error) {
    await remove();
    if (signal.aborted) throw signal.reason;
    if (error instanceof Error && error.message.startsWith(`GET ${remote.label}:`)) throw error;
    throw requestError('GET', remote, timed.aborted ? timed.reason : error, signal, DOWNLOAD_TIMEOUT_MS);
  }
  return { file, contentType: response.headers.get('content-type') ?? undefined, remove };
}
