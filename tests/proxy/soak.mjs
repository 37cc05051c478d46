// A bounded soak of `crossguard proxy` (scripts/soak.sh starts the proxy and runs this):
// mixed load for DURATION seconds through the proxy to tests/proxy/upstream.mjs, which this
// script starts itself on a fixed port and kills (SIGKILL) and restarts every 30 s, while
// clients abort mid-body and read slowly. Then it checks, and prints one JSON report:
//   - every answer is the upstream's, or the proxy's own 502/504 (`crossguard: upstream_...`);
//     a body cut short is allowed only when the upstream was killed while it was under way (a
//     slow reader still drains what the kernel buffered for seconds after the kill);
//   - no request hangs (each has a 60 s bound);
//   - the proxy's resident memory and open descriptors come back to their baseline.
// Usage: node soak.mjs PROXY_URL PROXY_PID UPSTREAM_PORT DURATION_SECONDS
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const [proxyUrl, proxyPidText, upstreamPortText, durationText] = process.argv.slice(2);
const proxy = new URL(proxyUrl);
const proxyPid = Number(proxyPidText);
const upstreamPort = Number(upstreamPortText);
const duration = Number(durationText) * 1000;
const upstreamScript = fileURLToPath(new URL('./upstream.mjs', import.meta.url));
const own = `http://localhost:${proxy.port}`;

const counts = {};
const failures = [];
const count = (what) => { counts[what] = (counts[what] || 0) + 1; };
const fail = (what) => { if (failures.length < 50) failures.push(what); count('failure'); };

// --- the upstream, killed and restarted --------------------------------------------------------
let upstream = null;
const kills = [];
function startUpstream() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [upstreamScript, String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => reject(new Error('the upstream did not start')), 10_000);
    child.stdout.on('data', (data) => {
      if (String(data).includes('listening')) { clearTimeout(timer); resolve(child); }
    });
    child.on('exit', () => { if (upstream === child) upstream = null; });
  });
}
// Whether the upstream was killed (or came back) while an exchange that started at `started` was
// under way, give or take 3 s.
const killedSince = (started) => kills.some((at) => at >= started - 3000 && at <= Date.now() + 3000);

// --- the proxy's resources ---------------------------------------------------------------------
function resources() {
  const status = readFileSync(`/proc/${proxyPid}/status`, 'utf8');
  const rssKib = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const fds = readdirSync(`/proc/${proxyPid}/fd`).length;
  return { rssKib, fds };
}

// --- one exchange, classified ------------------------------------------------------------------
// Resolves with the status and the body (as much as arrived); classifies the answer.
function exchange({ method = 'GET', path, body = null, headers = {}, slow = false, abortAfter = 0 }) {
  return new Promise((resolve) => {
    const started = Date.now();
    const req = http.request({
      host: proxy.hostname, port: proxy.port, method, path,
      headers: { host: `localhost:${proxy.port}`, origin: own, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', ...headers },
      agent: false,
    });
    const hang = setTimeout(() => { fail(`hung: ${method} ${path}`); req.destroy(); resolve(); }, 60_000);
    const done = () => { clearTimeout(hang); resolve(); };
    req.on('error', (err) => {
      if (abortAfter) { count('aborted by client'); done(); return; }
      if (killedSince(started)) { count('cut near an upstream kill'); } else { fail(`${method} ${path}: ${err.code || err.message}`); }
      done();
    });
    req.on('response', (res) => {
      const chunks = [];
      let received = 0;
      res.on('data', (data) => {
        received += data.length;
        if (chunks.length < 4) chunks.push(data);
        if (abortAfter && received >= abortAfter) { req.destroy(); count('aborted by client'); done(); }
        if (slow) { res.pause(); setTimeout(() => res.resume(), 20); }
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        if (res.statusCode === 502 || res.statusCode === 504) {
          if (text.startsWith('crossguard: upstream_')) count(`proxy ${res.statusCode}`);
          else fail(`${method} ${path}: ${res.statusCode} ${JSON.stringify(text.slice(0, 80))}`);
        } else if (res.statusCode === 200) {
          count('upstream 200');
        } else {
          fail(`${method} ${path}: unexpected ${res.statusCode} ${JSON.stringify(text.slice(0, 80))}`);
        }
        done();
      });
      res.on('error', () => {});
      res.on('aborted', () => {
        if (abortAfter) return;
        if (killedSince(started)) count('cut near an upstream kill'); else fail(`${method} ${path}: body cut (${received} bytes after ${Date.now() - started} ms)`);
        done();
      });
    });
    if (body === null) { req.end(); return; }
    if (abortAfter && method === 'POST') {
      // Declare more than is sent, then go away mid-body.
      req.write(body);
      setTimeout(() => { req.destroy(); count('aborted by client'); done(); }, 50);
      return;
    }
    req.end(body);
  });
}

function websocketSession() {
  return new Promise((resolve) => {
    const started = Date.now();
    const ws = new WebSocket(`ws://${proxy.host}/echo`, { origin: own, perMessageDeflate: true, headers: { host: `localhost:${proxy.port}` } });
    let echoed = 0;
    const hang = setTimeout(() => { fail('hung: websocket'); ws.terminate(); resolve(); }, 60_000);
    const finish = (what) => { clearTimeout(hang); count(what); resolve(); };
    ws.on('open', () => ws.send('x'.repeat(512)));
    ws.on('message', () => {
      echoed += 1;
      if (echoed === 20) { ws.close(); } else { ws.send('x'.repeat(512)); }
    });
    ws.on('close', () => {
      if (echoed === 20) finish('websocket session');
      else if (killedSince(started)) finish('cut near an upstream kill');
      else { clearTimeout(hang); fail(`websocket closed after ${echoed} echoes`); resolve(); }
    });
    ws.on('unexpected-response', (_req, res) => {
      if ((res.statusCode === 502 || res.statusCode === 504)) finish(`proxy ${res.statusCode}`);
      else { clearTimeout(hang); fail(`websocket handshake answered ${res.statusCode}`); resolve(); }
      res.resume();
    });
    ws.on('error', () => {});
  });
}

// --- the run -----------------------------------------------------------------------------------
upstream = await startUpstream();
await exchange({ path: '/slow?ms=1' });
await sleep(500);
const baseline = resources();
const deadline = Date.now() + duration;
const loop = async (work) => { while (Date.now() < deadline) await work(); };
const small = Buffer.from(JSON.stringify({ prompt: { text: 'a lighthouse at dusk' } }));
const upload = Buffer.alloc(1024 * 1024, 'u');
let peak = baseline;

const killer = (async () => {
  while (Date.now() + 30_000 < deadline) {
    await sleep(30_000);
    const victim = upstream;
    kills.push(Date.now());
    victim?.kill('SIGKILL');
    count('upstream kill');
    await sleep(1000);
    upstream = await startUpstream();
    kills.push(Date.now());
  }
})();
const sampler = (async () => {
  while (Date.now() < deadline) {
    const now = resources();
    peak = { rssKib: Math.max(peak.rssKib, now.rssKib), fds: Math.max(peak.fds, now.fds) };
    await sleep(1000);
  }
})();

await Promise.all([
  ...Array.from({ length: 6 }, () => loop(() => exchange({ path: '/slow?ms=1' }))),
  ...Array.from({ length: 4 }, () => loop(() => exchange({ method: 'POST', path: '/upload', body: small, headers: { 'content-type': 'application/json' } }))),
  loop(() => exchange({ path: '/download?mib=10' })),
  loop(() => exchange({ path: '/download?mib=10', slow: true })),
  loop(() => exchange({ path: '/sse?n=10&ms=50' })),
  loop(() => exchange({ path: '/download?mib=10', abortAfter: 128 * 1024 })),
  loop(() => exchange({ method: 'POST', path: '/upload', body: upload.subarray(0, 64 * 1024), headers: { 'content-length': String(upload.length) }, abortAfter: 1 })),
  ...Array.from({ length: 2 }, () => loop(websocketSession)),
  killer,
  sampler,
]);

// Connections close, and the proxy's pool lets idle upstream connections go (30 s idle timeout).
upstream?.kill('SIGTERM');
let after = resources();
for (let i = 0; i < 40 && (after.fds > baseline.fds + 2); i += 1) {
  await sleep(1000);
  after = resources();
}
const report = {
  duration_s: duration / 1000,
  counts,
  failures,
  baseline,
  peak,
  after,
  fds_back: after.fds <= baseline.fds + 2,
  rss_growth_kib: after.rssKib - baseline.rssKib,
};
console.log(JSON.stringify(report, null, 2));
process.exit(failures.length === 0 && report.fds_back ? 0 : 1);
