// What the end-to-end suites of tests/proxy/ share: assertions, bounded waits, processes (each
// leading its own process group, stopped by PID, also on failure), plain HTTP requests, headless
// Chromium driven by playwright-core, the attacker's page against Jupyter, and the scenario
// runner. Imported by e2e.mjs (`crossguard proxy`) and run.mjs (`crossguard run`).
//
// Environment: CROSSGUARD_BIN (default target/release/crossguard), CHROMIUM (default
// /usr/bin/chromium), PYTHON (default python3), E2E_PIDFILE (live PIDs, for the caller's trap),
// E2E_VERBOSE=1 (echo every process's output).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const BIN = process.env.CROSSGUARD_BIN || path.join(ROOT, 'target', 'release', 'crossguard');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const PYTHON = process.env.PYTHON || 'python3';
const PIDFILE = process.env.E2E_PIDFILE || '';
const VERBOSE = process.env.E2E_VERBOSE === '1';
const SCENARIO_TIMEOUT_MS = 90_000;

// ---------------------------------------------------------------------------------------------
// Helpers.

export function fail(message) {
  throw new Error(message);
}

export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

export function assert(condition, what) {
  if (!condition) fail(what);
}

export async function waitFor(what, probe, timeoutMs = 5000, intervalMs = 25) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Processes: each in its own process group, stopped by that PID.

const children = new Set();
const tempDirs = [];

export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function writePidfile() {
  if (!PIDFILE) return;
  const live = [...children].filter((c) => !c.exited).map((c) => c.proc.pid);
  fs.writeFileSync(PIDFILE, live.map((pid) => `${pid}\n`).join(''));
}

export function startProcess(name, command, args, options = {}) {
  const proc = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const child = { name, proc, lines: [], stderr: [], exited: false, code: null, signal: null };
  children.add(child);
  child.exit = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      child.exited = true;
      child.code = code;
      child.signal = signal;
      writePidfile();
      resolve();
    });
  });
  proc.on('error', (error) => {
    child.exited = true;
    child.stderr.push(`spawn error: ${error.message}`);
  });
  if (proc.pid) writePidfile();
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    child.lines.push(line);
    if (VERBOSE) console.log(`# [${name}] ${line}`);
  });
  readline.createInterface({ input: proc.stderr }).on('line', (line) => {
    child.stderr.push(line);
    if (VERBOSE) console.log(`# [${name} stderr] ${line}`);
  });
  return child;
}

export async function stopProcess(child) {
  if (child.exited || !child.proc.pid) return;
  const signal = (sig) => {
    try {
      process.kill(-child.proc.pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  if ((await Promise.race([child.exit.then(() => 'exited'), sleep(5000).then(() => 'timeout')])) === 'timeout') {
    signal('SIGKILL');
    await Promise.race([child.exit, sleep(2000)]);
  }
}

export async function stopAll() {
  for (const child of [...children].reverse()) await stopProcess(child);
  writePidfile();
}

export async function waitForLine(child, pattern, timeoutMs, what) {
  return waitFor(
    what,
    () => {
      for (const line of [...child.lines, ...child.stderr]) {
        const match = line.match(pattern);
        if (match) return match;
      }
      if (child.exited) fail(`${child.name} exited before ${what}:\n${[...child.lines, ...child.stderr].join('\n')}`);
      return null;
    },
    timeoutMs,
  );
}

export async function startProxy(name, upstream, extra = []) {
  const child = startProcess(name, BIN, ['proxy', '--upstream', upstream, '--listen', '127.0.0.1:0', ...extra]);
  const match = await waitForLine(child, /listening on http:\/\/127\.0\.0\.1:(\d+)/, 10_000, `${name} to listen`);
  child.port = Number(match[1]);
  return child;
}

export function refusals(proxy) {
  return proxy.stderr.filter((line) => line.startsWith('crossguard: refused '));
}

export function vmHWM(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = status.match(/^VmHWM:\s+(\d+) kB$/m);
  return match ? Number(match[1]) * 1024 : NaN;
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP from Node (no Origin, no Sec-Fetch-*: like curl).

export function request(port, { method = 'GET', path: urlPath = '/', headers = {}, body, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: urlPath, headers, timeout: 30_000, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request ${method} ${urlPath} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// Chromium, started by us (we own its PID) and driven over CDP by playwright-core.

export async function startChromium() {
  const userDataDir = tempDir('crossguard-proxy-chromium-');
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${userDataDir}`,
    '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0',
    // attacker.example is the DNS-rebinding name; every other name fails to resolve.
    '--host-resolver-rules=MAP attacker.example 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    'about:blank',
  ];
  const child = startProcess('chromium', CHROMIUM, args);
  child.userDataDir = userDataDir;
  const match = await waitForLine(child, /DevTools listening on (ws:\/\/\S+)/, 30_000, 'Chromium to open its DevTools endpoint');
  child.browser = await chromium.connectOverCDP(match[1], { timeout: 30_000 });
  return child;
}

// ---------------------------------------------------------------------------------------------
// The attacker's page, served from http://127.0.0.1:ATTACKER (another site than localhost).
// It tries what a malicious page would against a Jupyter it can reach: create files through
// /api/contents (a CORS PUT and a no-cors text/plain POST), start a kernel, and run code through
// the kernel's /channels WebSocket. Results go to window.attack.

export const ATTACK_PAGE = String.raw`<!doctype html>
<meta charset="utf-8"><title>attacker</title>
<a id="link" href="#">a link to the target</a>
<script>
const q = new URLSearchParams(location.search);
const target = q.get('target');
const tag = q.get('tag');
document.getElementById('link').href = 'http://' + target + '/api/status';
window.attack = (async () => {
  const out = {};
  try {
    const r = await fetch('http://' + target + '/api/contents/' + tag + '-put.txt', {
      method: 'PUT', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'file', format: 'text', content: 'pwned' }) });
    out.put = r.status;
  } catch (e) { out.put = 'blocked'; }
  try {
    await fetch('http://' + target + '/api/contents/' + tag, { method: 'POST', mode: 'no-cors',
      headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ type: 'file', ext: '.txt' }) });
    out.post = 'sent';
  } catch (e) { out.post = 'blocked'; }
  let kernel = q.get('kernel');
  try {
    const r = await fetch('http://' + target + '/api/kernels', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    const k = await r.json();
    if (k.id) { kernel = k.id; out.ownKernel = true; }
  } catch (e) { out.ownKernel = false; }
  out.ws = await new Promise((resolve) => {
    const ws = new WebSocket('ws://' + target + '/api/kernels/' + kernel + '/channels');
    const timer = setTimeout(() => resolve('timeout'), 20000);
    ws.onerror = () => { clearTimeout(timer); resolve('error'); };
    ws.onopen = () => {
      ws.send(JSON.stringify({ header: { msg_id: 'a1', username: '', session: 'attacker', msg_type: 'execute_request', version: '5.3' },
        parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
        content: { code: "open('" + tag + "-ws.txt', 'w').write('pwned')", silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true } }));
    };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.msg_type === 'execute_reply') { clearTimeout(timer); resolve('ran:' + msg.content.status); ws.close(); }
    };
  });
  return out;
})();
</script>`;

export function startAttackerServer() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      if (req.url.startsWith('/attack.html')) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(ATTACK_PAGE);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// In a same-origin page served through the proxy: start a kernel, run print(6*7) over the
// kernel's WebSocket, return what it printed.
export async function runPrintInKernel() {
  const r = await fetch('/api/kernels', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  if (r.status !== 201) return { error: 'kernel start ' + r.status };
  const kernel = await r.json();
  return new Promise((resolve) => {
    const ws = new WebSocket('ws://' + location.host + '/api/kernels/' + kernel.id + '/channels');
    const timer = setTimeout(() => resolve({ error: 'timeout', kernel: kernel.id }), 60000);
    let stdout = '';
    ws.onerror = () => { clearTimeout(timer); resolve({ error: 'websocket error' }); };
    ws.onopen = () => ws.send(JSON.stringify({
      header: { msg_id: 'm1', username: '', session: 'same-origin', msg_type: 'execute_request', version: '5.3' },
      parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
      content: { code: 'print(6*7)', silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true } }));
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.parent_header && msg.parent_header.msg_id !== 'm1') return;
      if (msg.msg_type === 'stream') stdout += msg.content.text;
      if (msg.msg_type === 'status' && msg.content.execution_state === 'idle' && stdout) {
        clearTimeout(timer);
        resolve({ stdout, url: ws.url, kernel: kernel.id });
        ws.close();
      }
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

export const results = { passed: 0, failed: 0 };

export async function scenario(name, body) {
  try {
    await withTimeout(body(), SCENARIO_TIMEOUT_MS, name);
    results.passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    results.failed += 1;
    console.log(`not ok - ${name}`);
    for (const line of String(error && error.stack ? error.stack : error).split('\n')) console.log(`#   ${line}`);
  }
}

export function listDir(dir) {
  return fs.readdirSync(dir).filter((name) => !name.startsWith('.')).sort();
}

// A Vite page served on `pagePort` (the guard's): it loads, its HMR socket (`vite-hmr`) connects to
// that port (never to `vitePort`, Vite's own, when given) and an edit of `appDir/style.css`
// arrives over it and restyles the page without a reload.
export async function checkViteHmr(browser, pagePort, appDir, vitePort) {
  const context = await browser.newContext();
  context.setDefaultTimeout(30_000);
  // Record every WebSocket the page opens: its URL, subprotocol, whether it opened, its messages.
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    window.__sockets = [];
    window.WebSocket = class extends Native {
      constructor(url, protocols) {
        super(url, protocols);
        const record = { url: String(url), protocol: null, opened: false, messages: [] };
        window.__sockets.push(record);
        this.addEventListener('open', () => { record.opened = true; record.protocol = this.protocol; });
        this.addEventListener('message', (event) => { record.messages.push(String(event.data).slice(0, 200)); });
      }
    };
  });
  const page = await context.newPage();
  try {
    const response = await page.goto(`http://localhost:${pagePort}/`);
    assertEqual(response.status(), 200, 'page status');
    await page.waitForFunction(() => document.querySelector('#app').textContent === 'vite page through crossguard');
    const socket = await page.waitForFunction(() => window.__sockets.find((s) => s.opened), null, { timeout: 20_000 }).then((h) => h.jsonValue());
    const sockets = await page.evaluate(() => window.__sockets);
    const url = new URL(socket.url);
    assertEqual(url.host, `localhost:${pagePort}`, `HMR socket host (sockets: ${JSON.stringify(sockets)})`);
    assertEqual(socket.protocol, 'vite-hmr', 'HMR subprotocol');
    if (vitePort) assert(sockets.every((s) => new URL(s.url).port !== String(vitePort)), `no socket to Vite's own port: ${JSON.stringify(sockets)}`);
    // Vite's "connected" message follows the open event: wait for it (a loaded machine delays it).
    const connected = await page.waitForFunction(
      (socketUrl) => window.__sockets.some((s) => s.url === socketUrl && s.messages.some((m) => m.includes('"connected"'))),
      socket.url, { timeout: 20_000 },
    ).then(() => true, () => false);
    const messages = await page.evaluate((socketUrl) => window.__sockets.filter((s) => s.url === socketUrl).map((s) => s.messages), socket.url);
    assert(connected, `connected message: ${JSON.stringify(messages)}`);
    // An edit arrives over the proxied socket and restyles the page without a reload.
    await page.evaluate(() => { window.__sameDocument = true; });
    fs.writeFileSync(path.join(appDir, 'style.css'), '#app { color: rgb(4, 5, 6); }\n');
    await page.waitForFunction(() => getComputedStyle(document.querySelector('#app')).color === 'rgb(4, 5, 6)', null, { timeout: 20_000 });
    assert(await page.evaluate(() => window.__sameDocument === true), 'hot update, not a reload');
    const after = await page.evaluate(() => window.__sockets);
    const updates = after.filter((s) => s.opened && s.messages.some((m) => m.includes('"update"')));
    assert(updates.length === 1 && new URL(updates[0].url).host === `localhost:${pagePort}`, `update came over the proxied socket: ${JSON.stringify(after)}`);
    console.log(`#   HMR socket ${socket.url.replace(/token=[^&]+/, 'token=…')} protocol ${socket.protocol}`);
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The suite's run: bounded, every process stopped at the end and on SIGINT/SIGTERM, one summary
// line, exit status 0 only when every scenario passed.

export async function runSuite(name, main, timeoutMs) {
  let exitCode = 1;
  const onSignal = () => {
    stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await withTimeout(main(), timeoutMs, `the ${name} suite`);
    exitCode = results.failed === 0 && results.passed > 0 ? 0 : 1;
  } catch (error) {
    console.log(`not ok - suite: ${error && error.stack ? error.stack : error}`);
    exitCode = 1;
  } finally {
    await stopAll();
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
    console.log(`${name}: ${results.passed} passed, ${results.failed} failed`);
  }
  process.exit(exitCode);
}
