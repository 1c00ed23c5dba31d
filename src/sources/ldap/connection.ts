import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { readOptionalSecret } from '../../config/secret-fields.js';

/** How to reach and bind to the directory, secrets already read. */
export interface ConnectionSettings {
  readonly url: string;
  /** Unset: anonymous. */
  readonly bindDn?: string | undefined;
  readonly password?: string | undefined;
  readonly tls: {
    readonly ca?: Buffer | undefined;
    readonly rejectUnauthorized: boolean;
    readonly startTls: boolean;
  };
}

export interface Timeouts {
  /** Longest wait for the TCP (and TLS) connection. */
  readonly connectMs: number;
  /** Longest wait for one answer (a bind, a search, one page of a listing). */
  readonly operationMs: number;
}

interface SecretSettings {
  readonly password?: string | undefined;
  readonly passwordEnv?: string | undefined;
  readonly passwordFile?: string | undefined;
}

/** The bind password from the config, an environment variable or a file; errors name the setting, never the value. */
export function readPassword(
  settings: SecretSettings,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return readOptionalSecret(settings as Readonly<Record<string, unknown>>, 'password', { baseDir, env });
}

/** The CA certificate file, read once at start. */
export function readCa(caFile: string | undefined, baseDir: string): Buffer | undefined {
  if (caFile === undefined) return undefined;
  const file = resolve(baseDir, caFile);
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`tls.caFile: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function tlsOptions(settings: ConnectionSettings): ConnectionOptions {
  return {
    rejectUnauthorized: settings.tls.rejectUnauthorized,
    ...(settings.tls.ca && { ca: settings.tls.ca }),
  };
}

/** A client that has not connected yet: it connects on its first operation. */
export function newClient(settings: ConnectionSettings, timeouts: Timeouts): Client {
  const secure = /^ldaps:/i.test(settings.url);
  return new Client({
    url: settings.url,
    timeout: timeouts.operationMs,
    connectTimeout: timeouts.connectMs,
    // TLS options given to the client make it speak TLS from the start, so only for ldaps://;
    // StartTLS gets them when it upgrades the plain connection.
    ...(secure && { tlsOptions: tlsOptions(settings) }),
  });
}

/** Connects (upgrading with StartTLS when asked) and binds; errors say which step failed, without the password. */
export async function openSession(client: Client, settings: ConnectionSettings): Promise<void> {
  if (settings.tls.startTls) {
    try {
      await client.startTLS({ ...tlsOptions(settings), servername: new URL(settings.url).hostname });
    } catch (error) {
      throw ldapError(error, settings, 'StartTLS failed');
    }
  }
  try {
    // An anonymous bind also opens the connection, so that an unreachable server is told as such.
    await client.bind(settings.bindDn ?? '', settings.password ?? '');
  } catch (error) {
    const who = settings.bindDn ? `bind as "${settings.bindDn}"` : 'anonymous bind';
    throw ldapError(error, settings, error instanceof ResultCodeError ? `${who} refused` : 'cannot connect');
  }
}

/** LDAP result codes a person can act on, in words. */
const RESULTS: Record<number, string> = {
  4: 'the server stopped at its size limit: let the bind account read more entries (OpenLDAP: olcLimits size.prtotal; AD: MaxPageSize) or use a smaller pageSize',
  8: 'the server wants a stronger or signed bind: use ldaps:// or tls.startTls',
  13: 'the server wants an encrypted connection: use ldaps:// or tls.startTls',
  32: 'no such entry: check baseDn',
  34: 'a DN is not valid: check bindDn and baseDn',
  48: 'inappropriate authentication: give bindDn with a password, or neither',
  49: 'invalid credentials: check bindDn and the password',
  50: 'insufficient access for the bind account',
  51: 'the server is busy',
  52: 'the server is unavailable',
  53: 'the server is unwilling to perform the request',
};

/** One error message for the log and `callcard sources`: the server, what failed and why; never the password. */
export function ldapError(error: unknown, settings: ConnectionSettings, doing: string): Error {
  let reason: string;
  if (error instanceof ResultCodeError) {
    // The client appends " Code: 0x31" to the server's own (often empty) diagnostic.
    const diagnostic = error.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
    const known = RESULTS[error.code];
    reason = `${known ?? error.name} (LDAP result ${error.code}${diagnostic ? `: ${diagnostic}` : ''})`;
  } else {
    const message = error instanceof Error ? error.message : String(error);
    reason = message
      .replace(/^Connection timeout$/, 'no connection within the connect timeout')
      .replace(/^(\w+): Operation timed out$/, 'no answer in time ($1)');
  }
  if (settings.password) reason = reason.split(settings.password).join('[redacted]');
  return new Error(`LDAP ${settings.url}: ${doing}: ${reason}`, { cause: error });
}
