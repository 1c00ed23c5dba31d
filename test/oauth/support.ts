import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CliExit } from '../../src/cli/io.js';
import { runProgram } from '../../src/cli/program.js';
import type { CliResult } from '../support/cli.js';
import type { FakeAuthorizationServer } from './fake-authorization-server.js';

/** A run of the command line in this process whose output can be watched while it runs. */
export interface LiveRun {
  /** Resolves with the first match of `pattern` in what was written to stdout so far or later. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  readonly done: Promise<CliResult>;
}

export function runLive(args: readonly string[], cwd: string, env: Record<string, string> = {}): LiveRun {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  const waiting: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const wait of [...waiting]) {
      const match = out.match(wait.pattern);
      if (match) {
        waiting.splice(waiting.indexOf(wait), 1);
        wait.resolve(match);
      }
    }
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const done = runProgram(args, {
    stdout,
    stderr,
    exit: (code) => {
      throw new CliExit(code);
    },
    env: { PATH: process.env['PATH'] ?? '', ...env },
    cwd,
  })
    .catch((error: unknown) => {
      if (error instanceof CliExit) return error.code;
      throw error;
    })
    .then(async (code) => {
      await new Promise<void>((settle) => setImmediate(settle));
      return { code, stdout: out, stderr: err };
    });
  return {
    waitFor(pattern) {
      const match = out.match(pattern);
      if (match) return Promise.resolve(match);
      return new Promise((resolve, reject) => {
        waiting.push({ pattern, resolve });
        // A run that ends without writing it fails the wait, with what it wrote.
        done.then((result) =>
          reject(new Error(`ended (${result.code}) without ${pattern}: ${result.stdout}${result.stderr}`)),
        );
      });
    },
    done,
  };
}

/** The person's browser: opens the consent URL and follows the authorization server's redirect once. */
export async function giveConsent(consentUrl: string): Promise<URL> {
  const response = await fetch(consentUrl, { redirect: 'manual' });
  const location = response.headers.get('location');
  if (response.status !== 302 || !location)
    throw new Error(`no redirect from the consent URL (${response.status})`);
  return new URL(location);
}

export const SECRET_ENV = 'CRM_CLIENT_SECRET';

/**
 * A config with a rest source `crm` on the fake server's API, authenticated by an OAuth connection,
 * and a CSV source `office` that needs none; written as JSON (which YAML reads) for the command line.
 */
export function testConfig(
  dir: string,
  fake: FakeAuthorizationServer,
  extra: { redirectUri?: string; publicUrl?: string; endpoints?: boolean; device?: boolean } = {},
) {
  writeFileSync(join(dir, 'office.csv'), 'id,name,phone\no1,Office Desk,021 552 20 00\n');
  const config = {
    dataDir: join(dir, 'data'),
    ...(extra.publicUrl && { publicUrl: extra.publicUrl }),
    sources: [
      {
        type: 'rest',
        name: 'crm',
        baseUrl: fake.issuer,
        auth: {
          type: 'oauth2Code',
          // The endpoints themselves, or the issuer whose discovery document names them.
          ...(extra.endpoints
            ? {
                authorizationUrl: `${fake.issuer}/authorize`,
                tokenUrl: `${fake.issuer}/token`,
                ...(extra.device !== false && {
                  deviceAuthorizationUrl: `${fake.issuer}/device_authorization`,
                }),
                clientAuth: 'body',
              }
            : { issuer: fake.issuer }),
          clientId: fake.clientId,
          clientSecretEnv: SECRET_ENV,
          scopes: ['contacts.read', 'offline_access'],
          ...(extra.redirectUri && { redirectUri: extra.redirectUri }),
        },
        list: { request: { url: '/api/contacts' }, items: 'results' },
        fields: { id: 'id', name: 'name', phones: 'phone' },
      },
      { type: 'file', name: 'office', path: join(dir, 'office.csv') },
    ],
  };
  const file = join(dir, 'callcard.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { config, file };
}
