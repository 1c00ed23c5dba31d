// HTTP helpers of the bench: 127.0.0.1 only.
import { type Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Child } from './children.js';
import { sleep } from './children.js';

export const HOST = '127.0.0.1';

export interface Answer {
  readonly status: number;
  readonly body: string;
}

export function httpCall(
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
  agent: Agent | false = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: HOST,
        port,
        method,
        path,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (data: string) => {
          text += data;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function assertPortFree(port: number): Promise<void> {
  if (await portInUse(port)) throw new Error(`port ${port} is already in use (see --port)`);
}

/** Polls GET /healthz until 200; answers the milliseconds it took. */
export async function waitHealthy(child: Child, port: number, limitMs = 60_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${child.benchName} exited before answering /healthz`);
    try {
      const { status } = await httpCall(port, 'GET', '/healthz');
      if (status === 200) return Math.round(performance.now() - started);
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.benchName}: /healthz did not answer within ${limitMs / 1000} s`);
}
