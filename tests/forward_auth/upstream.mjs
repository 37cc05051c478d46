// The unguarded app behind the engines in scripts/test-forward-auth.sh: it accepts everything,
// so whatever it logs reached it. Every request (and every WebSocket handshake) is appended as
// one JSON line to the log file before it is answered; WebSocket messages are echoed.
//
// Usage: node upstream.mjs LOGFILE   (listens on 127.0.0.1, a free port; prints
// `upstream listening on http://127.0.0.1:PORT`)

import fs from 'node:fs';
import http from 'node:http';
import { WebSocketServer } from 'ws';

const logFile = process.argv[2];
if (!logFile) {
  console.error('usage: node upstream.mjs LOGFILE');
  process.exit(2);
}

function log(req, kind) {
  const entry = {
    kind,
    method: req.method,
    url: req.url,
    host: req.headers.host ?? null,
    origin: req.headers.origin ?? null,
  };
  fs.appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>upstream</title>
<h1>upstream app</h1>
<form id="f" method="POST" action="/api/echo?case=same-origin-form"><input name="x" value="1"></form>`;

const server = http.createServer((req, res) => {
  log(req, 'http');
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const url = new URL(req.url, 'http://upstream');
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }));
  });
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  log(req, 'upgrade');
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(`upstream listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const client of wss.clients) client.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
