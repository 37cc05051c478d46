// The WebSocket load of scripts/bench-proxy.sh: CONNECTIONS connections to URL (Host and Origin
// set to http://localhost:PORT of the side under test), each doing request/response round trips
// of a 64-byte message for SECONDS; prints one JSON line with messages/s (round trips per
// second) and the p50/p99 round-trip latency in milliseconds.
//
//   node ws-load.mjs ws://127.0.0.1:PORT/ws SECONDS [CONNECTIONS]
import { WebSocket } from 'ws';

const [url, secondsArg, connectionsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || '8');
const connections = Number(connectionsArg || '32');
const port = new URL(url).port;
const message = Buffer.alloc(64, 'crossguard-bench-');

function fail(why) {
  console.error(`ws-load: ${why}`);
  process.exit(1);
}

function open() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, {
      origin: `http://localhost:${port}`,
      headers: { Host: `localhost:${port}` },
      perMessageDeflate: false,
    });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

let sockets;
try {
  sockets = await Promise.all(Array.from({ length: connections }, open));
} catch (err) {
  fail(`cannot open ${connections} connections: ${err.message}`);
}

const samples = [];
const started = performance.now();
const deadline = started + seconds * 1000;
let finished = 0;

await new Promise((resolve) => {
  for (const socket of sockets) {
    let sentAt = 0;
    const send = () => {
      sentAt = performance.now();
      socket.send(message);
    };
    socket.on('message', (data) => {
      const now = performance.now();
      if (data.length !== message.length || !message.equals(data)) fail('the echo differs from the message');
      samples.push(now - sentAt);
      if (now < deadline) {
        send();
      } else if (++finished === sockets.length) {
        resolve();
      }
    });
    socket.on('close', () => { if (performance.now() < deadline) fail('a connection closed early'); });
    socket.on('error', (err) => fail(`connection error: ${err.message}`));
    send();
  }
});
const elapsed = (performance.now() - started) / 1000;
for (const socket of sockets) socket.terminate();

const sorted = Float64Array.from(samples).sort();
const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
console.log(JSON.stringify({
  messages: sorted.length,
  msgs_per_s: sorted.length / elapsed,
  p50_ms: at(0.5),
  p99_ms: at(0.99),
}));
process.exit(0);
