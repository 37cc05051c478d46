// Node `ws` against the crossguard WebSocket example: permessage-deflate negotiated by crossguard
// and really used in both directions for a 200 KB message, and a cross-origin handshake refused.
'use strict';
const WebSocket = require('ws');

const url = process.argv[2];
let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed += 1; console.log(`ok - node ws: ${name}`); }
  else { failed += 1; console.log(`not ok - node ws: ${name} ${detail}`); }
}

function roundTrip(name, options, expected) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0, ...options } });
    let header = '';
    const big = 'crossguard permessage-deflate '.repeat(7000).slice(0, 200000);
    ws.on('upgrade', (res) => { header = res.headers['sec-websocket-extensions'] || ''; });
    ws.on('open', () => {
      check(`${name}: 101 Sec-WebSocket-Extensions`, header === expected, `got ${JSON.stringify(header)}`);
      check(`${name}: ws.extensions`, ws.extensions === 'permessage-deflate', ws.extensions);
      ws.send(big);
    });
    ws.on('message', (data) => {
      check(`${name}: 200 KB echoed intact`, data.toString() === big);
      const read = ws._socket.bytesRead;
      const written = ws._socket.bytesWritten;
      check(`${name}: compressed both ways (${written} bytes out, ${read} in)`, read < 20000 && written < 20000);
      ws.close();
    });
    ws.on('close', resolve);
    ws.on('error', (err) => { check(`${name}: no error`, false, err.message); resolve(); });
  });
}

function crossOrigin() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { origin: 'http://evil.example' });
    ws.on('open', () => { check('cross-origin handshake refused', false, 'opened'); ws.close(); resolve(); });
    ws.on('unexpected-response', (req, res) => {
      check('cross-origin handshake refused with 403', res.statusCode === 403, `status ${res.statusCode}`);
      req.destroy();
      resolve();
    });
    ws.on('error', () => resolve());
  });
}

(async () => {
  const timer = setTimeout(() => { console.log('not ok - node ws: timed out'); process.exit(1); }, 60000);
  await roundTrip('default offer', {}, 'permessage-deflate');
  await roundTrip('small windows, no context takeover',
    { serverMaxWindowBits: 10, clientMaxWindowBits: 9, serverNoContextTakeover: true, clientNoContextTakeover: true },
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9');
  await crossOrigin();
  clearTimeout(timer);
  console.log(`node ws: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
