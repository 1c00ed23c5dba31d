// Baseline of the bench: a bare node:http server that reads each POST body and answers with one fixed
// JSON array (a real callcard hit answer, from the file in $BARE_BODY_FILE). It shows what the machine
// and the load generator allow, so that callcard's throughput can be read as a ratio.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.env['BARE_PORT'] ?? 18182);
const answer = readFileSync(process.env['BARE_BODY_FILE'] ?? '', 'utf8');
const health = JSON.stringify({ status: 'ok' });

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = request.method === 'POST' ? answer : health;
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => process.stderr.write(`bare server on 127.0.0.1:${port}\n`));
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
