// The upstream of scripts/bench-proxy.sh, on 127.0.0.1 only: small answers to GET and POST
// (a POST's body is read to its end first), and `ws` echoing every message on /ws (no
// permessage-deflate: the proxies relay frames, compression would only load the upstream).
// Prints "upstream listening on http://127.0.0.1:PORT/".
import http from 'node:http';
import { WebSocketServer } from 'ws';

const small = Buffer.from('{"ok":true}\n');
const headers = { 'Content-Type': 'application/json', 'Content-Length': String(small.length) };

const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    req.on('data', () => {});
    req.on('end', () => { res.writeHead(200, headers); res.end(small); });
    return;
  }
  res.writeHead(200, headers);
  res.end(small);
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'http://upstream.invalid').pathname !== '/ws') {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`upstream listening on http://127.0.0.1:${server.address().port}/`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
