// A tiny static server for the attacker page (tests/e2e/attacker.html), on 127.0.0.1 only.
// Usage: node attacker-server.mjs  -> prints "attacker listening on http://127.0.0.1:PORT/".
import fs from 'node:fs';
import http from 'node:http';

const page = fs.readFileSync(new URL('./attacker.html', import.meta.url));

const server = http.createServer((request, response) => {
  const { pathname } = new URL(request.url, 'http://attacker.invalid');
  if (request.method === 'GET' && (pathname === '/' || pathname === '/index.html')) {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    response.end(page);
  } else {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('not found\n');
  }
});

server.listen(0, '127.0.0.1', () => {
  console.log(`attacker listening on http://127.0.0.1:${server.address().port}/`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
