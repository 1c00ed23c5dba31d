// A slow contacts API for the slow-source scenario: every request is answered only after `delayMs`
// (10 s), with one contact carrying the number asked for, so that a card from it would show if callcard
// ever waited. Runs inside the bench process (it only holds timers); listens on 127.0.0.1 only.
import { createServer } from 'node:http';

export interface SlowStats {
  requests: number;
  answered: number;
  closedBeforeAnswer: number;
}

export interface SlowServer {
  readonly stats: SlowStats;
  close(): Promise<void>;
}

export async function startSlowServer(port: number, delayMs: number): Promise<SlowServer> {
  const stats: SlowStats = { requests: 0, answered: 0, closedBeforeAnswer: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((request, response) => {
    stats.requests++;
    const number = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('number') ?? '';
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (response.destroyed) return;
      const body = JSON.stringify([{ id: `slow-${number}`, name: 'Slow Source Contact', phone: number }]);
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      response.end(body);
      stats.answered++;
    }, delayMs);
    timers.add(timer);
    // callcard gives up and closes the connection: no answer is owed any more.
    response.once('close', () => {
      if (!response.writableFinished) {
        stats.closedBeforeAnswer++;
        clearTimeout(timer);
        timers.delete(timer);
      }
    });
    request.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    stats,
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
