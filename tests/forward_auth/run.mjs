// Real-engine tests of `crossguard forward-auth`: Debian's nginx and Caddy, each configured from
// the files under deploy/ (only ports and paths are substituted), in front of an unguarded
// upstream (upstream.mjs, which logs every request it sees) and of Jupyter Server, exercised with
// headless Chromium (playwright-core) and raw clients.
//
// Run by scripts/test-forward-auth.sh, which installs the engines, Chromium, Jupyter and the npm
// packages and builds the binary. Prints one `ok - NAME` / `not ok - NAME` line per scenario and
// `forward-auth: N passed, M failed`; exits non-zero on any failure. Everything listens on
// loopback; every process is started in its own process group and stopped by PID, also on
// failure and on SIGINT/SIGTERM; every wait is bounded.
//
// Environment: CROSSGUARD_BIN (default target/release/crossguard), CHROMIUM (default
// /usr/bin/chromium), FA_PIDFILE (live PIDs, for the caller's trap), FA_VERBOSE=1 (echo output).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const BIN = process.env.CROSSGUARD_BIN || path.join(ROOT, 'target', 'release', 'crossguard');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PIDFILE = process.env.FA_PIDFILE || '';
const VERBOSE = process.env.FA_VERBOSE === '1';
const SUITE_TIMEOUT_MS = 360_000;
const SCENARIO_TIMEOUT_MS = 60_000;
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'crossguard-forward-auth-'));

// ---------------------------------------------------------------------------------------------
// Helpers.

function fail(message) {
  throw new Error(message);
}

function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

function assert(condition, what) {
  if (!condition) fail(what);
}

async function waitFor(what, probe, timeoutMs = 10_000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, what) {
  await waitFor(
    `${what} to accept on 127.0.0.1:${port}`,
    () =>
      new Promise((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    20_000,
  );
}

// ---------------------------------------------------------------------------------------------
// Processes: each in its own process group, stopped by that PID.

const children = new Set();

function writePidfile() {
  if (!PIDFILE) return;
  const live = [...children].filter((c) => !c.exited).map((c) => c.proc.pid);
  fs.writeFileSync(PIDFILE, live.map((pid) => `${pid}\n`).join(''));
}

function startProcess(name, command, args, env = {}) {
  const proc = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const child = { name, proc, lines: [], stderr: [], exited: false };
  children.add(child);
  proc.on('exit', () => {
    child.exited = true;
    writePidfile();
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

async function stopProcess(child) {
  if (child.exited || !child.proc.pid) return;
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  const signal = (sig) => {
    try {
      process.kill(-child.proc.pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  if ((await Promise.race([exited, sleep(5000).then(() => 'timeout')])) === 'timeout') {
    signal('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  }
}

async function stopAll() {
  for (const child of [...children].reverse()) await stopProcess(child);
  writePidfile();
}

async function waitForLine(child, pattern, timeoutMs, what) {
  return waitFor(
    what,
    () => {
      if (child.exited) {
        fail(`${child.name} exited before ${what}:\n${[...child.lines, ...child.stderr].join('\n')}`);
      }
      for (const line of [...child.lines, ...child.stderr]) {
        const match = line.match(pattern);
        if (match) return match;
      }
      return null;
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------
// The pieces: upstream, Jupyter, crossguard, engines from deploy/.

async function startUpstream() {
  const logFile = path.join(WORK, 'upstream.log');
  fs.writeFileSync(logFile, '');
  const child = startProcess('upstream', process.execPath, [path.join(HERE, 'upstream.mjs'), logFile]);
  const match = await waitForLine(child, /listening on http:\/\/127\.0\.0\.1:(\d+)/, 10_000, 'upstream');
  const port = Number(match[1]);
  return {
    port,
    entries: () =>
      fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
  };
}

async function startJupyter() {
  const port = await freePort();
  const dir = path.join(WORK, 'jupyter');
  for (const sub of ['root', 'config', 'data', 'runtime', 'home']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const child = startProcess(
    'jupyter',
    process.env.PYTHON || 'python3',
    [
      '-m',
      'jupyter_server',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--IdentityProvider.token=',
      '--ServerApp.password=',
      // Its own CSRF and origin checks are off: crossguard in front is what protects it here.
      '--ServerApp.disable_check_xsrf=True',
      '--ServerApp.allow_origin=*',
      '--ServerApp.open_browser=False',
      '--ServerApp.allow_root=True',
      `--ServerApp.root_dir=${path.join(dir, 'root')}`,
    ],
    {
      JUPYTER_CONFIG_DIR: path.join(dir, 'config'),
      JUPYTER_DATA_DIR: path.join(dir, 'data'),
      JUPYTER_RUNTIME_DIR: path.join(dir, 'runtime'),
      IPYTHONDIR: path.join(dir, 'home', '.ipython'),
      HOME: path.join(dir, 'home'),
    },
  );
  await waitFor(
    'Jupyter Server /api/status',
    async () => {
      if (child.exited) fail(`jupyter exited:\n${child.stderr.join('\n')}`);
      try {
        return (await request({ port, path: '/api/status' })).status === 200;
      } catch {
        return false;
      }
    },
    60_000,
    250,
  );
  return { port, child };
}

async function startCrossguard(name, args) {
  const child = startProcess(name, BIN, ['forward-auth', '--listen', '127.0.0.1:0', ...args]);
  const match = await waitForLine(child, /http:\/\/127\.0\.0\.1:(\d+)/, 10_000, `${name} listening`);
  return { name, child, port: Number(match[1]) };
}

// The deploy/ files name 127.0.0.1:8080 (the engine), 127.0.0.1:8188 (the app) and
// 127.0.0.1:9180 (crossguard); the tests substitute free ports and nothing else (plus, for the
// misconfiguration scenario, one removed line).
function render(file, { listen, upstream, auth }, edit = (text) => text) {
  const text = fs.readFileSync(path.join(ROOT, 'deploy', file), 'utf8');
  const out = text
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${listen}`)
    .replaceAll(':8080 {', `:${listen} {`)
    .replaceAll('127.0.0.1:8188', `127.0.0.1:${upstream}`)
    .replaceAll('127.0.0.1:9180', `127.0.0.1:${auth}`);
  const edited = edit(out);
  assert(edited.includes(String(listen)) && edited.includes(String(upstream)) && edited.includes(String(auth)), `${file}: ports not substituted`);
  return edited;
}

async function startNginx(name, ports, edit) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'crossguard.conf'), render('nginx/crossguard.conf', ports, edit));
  const t = (sub) => path.join(dir, 'tmp', sub);
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      `error_log ${path.join(dir, 'logs', 'error.log')} warn;`,
      'events { worker_connections 512; }',
      'http {',
      `  access_log ${path.join(dir, 'logs', 'access.log')};`,
      `  client_body_temp_path ${t('body')}; proxy_temp_path ${t('proxy')}; fastcgi_temp_path ${t('fastcgi')};`,
      `  uwsgi_temp_path ${t('uwsgi')}; scgi_temp_path ${t('scgi')};`,
      `  include ${path.join(dir, 'crossguard.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const child = startProcess(name, '/usr/sbin/nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;']);
  await waitForPort(ports.listen, name);
  return { name, port: ports.listen, child };
}

async function startCaddy(name, ports) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(path.join(dir, 'home'), { recursive: true });
  const config = path.join(dir, 'Caddyfile');
  fs.writeFileSync(config, render('caddy/Caddyfile', ports));
  const home = path.join(dir, 'home');
  const child = startProcess(name, '/usr/bin/caddy', ['run', '--config', config, '--adapter', 'caddyfile'], {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
  });
  await waitForPort(ports.listen, name);
  return { name, port: ports.listen, child };
}

// ---------------------------------------------------------------------------------------------
// Raw clients.

function request({ port, path: urlPath, method = 'GET', headers = {}, body, host }) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, headers: { host: host ?? `localhost:${port}`, ...headers }, timeout: 10_000, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// A raw WebSocket handshake: the status and headers of the answer, and whether it upgraded.
function rawHandshake({ port, urlPath, origin, version = '13' }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('handshake timed out'));
    }, 10_000);
    socket.on('connect', () => {
      socket.write(
        `GET ${urlPath} HTTP/1.1\r\nHost: localhost:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\nOrigin: ${origin}\r\n\r\n`,
      );
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
      const headers = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function wsEcho(url, origin, message) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin, handshakeTimeout: 10_000 });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('echo timed out'));
    }, 10_000);
    ws.on('open', () => ws.send(message));
    ws.on('message', (data) => {
      clearTimeout(timer);
      ws.close();
      resolve(data.toString());
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      ws.terminate();
      resolve({ refused: res.statusCode });
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

const results = [];

async function scenario(name, body) {
  try {
    await withTimeout(Promise.resolve().then(body), SCENARIO_TIMEOUT_MS, name);
    results.push({ name, ok: true });
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`not ok - ${name}\n#   ${String(error?.stack || error).split('\n').join('\n#   ')}`);
  }
}

function sawCase(upstream, marker) {
  return upstream.entries().filter((entry) => entry.url.includes(`case=${marker}`));
}

function assertNeverSeen(upstream, marker) {
  const seen = sawCase(upstream, marker);
  assertEqual(seen, [], `upstream log entries for case=${marker}`);
}

async function waitStderr(guard, needle) {
  await waitFor(`${guard.name} stderr to say ${JSON.stringify(needle)}`, () => guard.child.stderr.some((line) => line.includes(needle)), 10_000);
}

// Jupyter's kernel protocol over its WebSocket, run inside the page (same origin as the engine).
async function jupyterPrint(page) {
  return page.evaluate(async () => {
    const created = await fetch('/api/kernels', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'python3' }),
    });
    if (created.status !== 201) return { error: `POST /api/kernels: ${created.status}` };
    const kernel = await created.json();
    const session = crypto.randomUUID();
    const ws = new WebSocket(`ws://${location.host}/api/kernels/${kernel.id}/channels?session_id=${session}`);
    const text = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 45_000);
      let out = '';
      ws.onerror = () => resolve('websocket error');
      ws.onopen = () => {
        ws.send(
          JSON.stringify({
            header: { msg_id: crypto.randomUUID(), username: 'test', session, msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
            parent_header: {},
            metadata: {},
            content: { code: 'print(6*7)', silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
            channel: 'shell',
            buffers: [],
          }),
        );
      };
      ws.onmessage = (event) => {
        const msg = JSON.parse(event.data);
        if (msg.channel === 'iopub' && msg.msg_type === 'stream') out += msg.content.text;
        if (msg.channel === 'iopub' && msg.msg_type === 'status' && msg.content.execution_state === 'idle' && out) {
          clearTimeout(timer);
          resolve(out);
        }
      };
    });
    ws.close();
    await fetch(`/api/kernels/${kernel.id}`, { method: 'DELETE' });
    return { text };
  });
}

async function main() {
  const upstream = await startUpstream();
  const jupyter = await startJupyter();
  // Caddy relays the guard's own statuses; nginx's auth_request needs --deny-status 403.
  const guardCaddy = await startCrossguard('crossguard-caddy', ['--preset', 'local']);
  const guardNginx = await startCrossguard('crossguard-nginx', ['--preset', 'local', '--deny-status', '403']);
  const ports = async (upstreamPort, auth) => ({ listen: await freePort(), upstream: upstreamPort, auth });
  const engines = [
    {
      name: 'nginx',
      deny: 403,
      guard: guardNginx,
      app: await startNginx('nginx-app', await ports(upstream.port, guardNginx.port)),
      jupyter: await startNginx('nginx-jupyter', await ports(jupyter.port, guardNginx.port)),
    },
    {
      name: 'caddy',
      deny: null,
      guard: guardCaddy,
      app: await startCaddy('caddy-app', await ports(upstream.port, guardCaddy.port)),
      jupyter: await startCaddy('caddy-jupyter', await ports(jupyter.port, guardCaddy.port)),
    },
  ];
  // An nginx whose auth location forgets X-Forwarded-Method.
  const broken = await startNginx('nginx-misconfigured', await ports(upstream.port, guardNginx.port), (text) =>
    text.replace(/^\s*proxy_set_header X-Forwarded-Method \$request_method;\n/m, ''),
  );
  const attacker = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><meta charset="utf-8"><title>attacker</title><h1>another site</h1>');
  });
  await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  const attackerOrigin = `http://127.0.0.1:${attacker.address().port}`;
  console.log(
    `# upstream :${upstream.port}, jupyter :${jupyter.port}; ` +
      engines.map((e) => `${e.name} app :${e.app.port} jupyter :${e.jupyter.port} (crossguard :${e.guard.port})`).join('; ') +
      `; attacker ${attackerOrigin}`,
  );

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP rebind.example 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
  try {
    for (const engine of engines) {
      const E = engine.name;
      const P = engine.app.port;
      const refusal = (guardStatus) => engine.deny ?? guardStatus;
      const site = `http://localhost:${P}`;

      await scenario(`${E}: same-origin page: fetch POST and form POST reach the app`, async () => {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          const loaded = await page.goto(`${site}/`);
          assertEqual(loaded.status(), 200, 'page status');
          const fetched = await page.evaluate(async (marker) => {
            const r = await fetch(`/api/echo?case=${marker}`, { method: 'POST', body: 'hello' });
            return { status: r.status, body: await r.json() };
          }, `${E}-fetch`);
          assertEqual(fetched.status, 200, 'fetch POST status');
          assertEqual(fetched.body.body, 'hello', 'echoed body');
          const [navigation] = await Promise.all([page.waitForNavigation(), page.evaluate(() => document.getElementById('f').submit())]);
          assertEqual(navigation.status(), 200, 'form POST status');
          assertEqual(sawCase(upstream, `${E}-fetch`).length, 1, 'upstream saw the fetch once');
          assertEqual(sawCase(upstream, 'same-origin-form').filter((e) => e.host === `localhost:${P}`).length, 1, 'upstream saw the form once');
        } finally {
          await context.close();
        }
      });

      await scenario(`${E}: same-origin page: WebSocket opens through the engine and echoes`, async () => {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          await page.goto(`${site}/`);
          const echoed = await page.evaluate(
            (marker) =>
              new Promise((resolve) => {
                const ws = new WebSocket(`ws://${location.host}/ws?case=${marker}`);
                const timer = setTimeout(() => resolve('timeout'), 10_000);
                ws.onopen = () => ws.send('ping through the engine');
                ws.onmessage = (event) => {
                  clearTimeout(timer);
                  ws.close();
                  resolve(event.data);
                };
                ws.onerror = () => resolve('error');
              }),
            `${E}-ws`,
          );
          assertEqual(echoed, 'ping through the engine', 'echo');
          assertEqual(sawCase(upstream, `${E}-ws`).map((e) => e.kind), ['upgrade'], 'upstream handshakes');
        } finally {
          await context.close();
        }
      });

      await scenario(`${E}: cross-site page: form POST, no-cors POST and WebSocket are refused with 403; the app never sees them`, async () => {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          await page.goto(`${attackerOrigin}/`);
          const noCors = page.waitForResponse((r) => r.url().includes(`case=${E}-nocors`));
          await page.evaluate((url) => fetch(url, { method: 'POST', mode: 'no-cors', body: 'x' }).catch(() => null), `${site}/api/echo?case=${E}-nocors`);
          assertEqual((await noCors).status(), 403, 'no-cors POST status');
          const opened = await page.evaluate(
            (url) =>
              new Promise((resolve) => {
                const ws = new WebSocket(url);
                const timer = setTimeout(() => resolve('timeout'), 10_000);
                ws.onopen = () => {
                  clearTimeout(timer);
                  resolve('open');
                };
                ws.onerror = () => {
                  clearTimeout(timer);
                  resolve('refused');
                };
              }),
            `ws://localhost:${P}/ws?case=${E}-xws`,
          );
          assertEqual(opened, 'refused', 'cross-site WebSocket');
          await waitStderr(engine.guard, `crossguard: refused GET /ws: cross_site_websocket (403)`);
          const [navigation] = await Promise.all([
            page.waitForNavigation(),
            page.evaluate((action) => {
              const form = document.createElement('form');
              form.method = 'POST';
              form.action = action;
              const input = document.createElement('input');
              input.name = 'x';
              input.value = '1';
              form.append(input);
              document.body.append(form);
              form.submit();
            }, `${site}/api/echo?case=${E}-xform`),
          ]);
          assertEqual(navigation.status(), 403, 'cross-site form POST status');
          for (const marker of [`${E}-nocors`, `${E}-xws`, `${E}-xform`]) assertNeverSeen(upstream, marker);
        } finally {
          await context.close();
        }
      });

      await scenario(`${E}: DNS rebinding: a page at rebind.example (resolving to 127.0.0.1) gets 403; the app never sees it`, async () => {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          const loaded = await page.goto(`http://rebind.example:${P}/?case=${E}-rebind-browser`);
          assertEqual(loaded.status(), 403, 'rebinding page status');
          const raw = await request({ port: P, path: `/?case=${E}-rebind-raw`, host: `rebind.example:${P}` });
          assertEqual(raw.status, 403, 'raw rebinding status');
          assertEqual(raw.headers['x-crossguard-reason'], 'host_not_allowed', 'reason');
          assertNeverSeen(upstream, `${E}-rebind-browser`);
          assertNeverSeen(upstream, `${E}-rebind-raw`);
        } finally {
          await context.close();
        }
      });

      await scenario(`${E}: a client without Origin or Sec-Fetch-* (curl) passes`, async () => {
        const r = await request({ port: P, path: `/api/echo?case=${E}-curl`, method: 'POST', headers: { 'user-agent': 'curl/8.0', 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
        assertEqual(r.status, 200, 'status');
        assertEqual(JSON.parse(r.body).body, 'a=1', 'echo');
        assertEqual(sawCase(upstream, `${E}-curl`).length, 1, 'upstream saw it once');
      });

      await scenario(`${E}: raw WebSocket clients: same-origin echoes, cross-site Origin refused`, async () => {
        assertEqual(await wsEcho(`ws://localhost:${P}/ws?case=${E}-rawws`, site, 'raw'), 'raw', 'same-origin echo');
        assertEqual(await wsEcho(`ws://localhost:${P}/ws?case=${E}-rawxws`, 'https://evil.example', 'x'), { refused: 403 }, 'cross-site');
        assertNeverSeen(upstream, `${E}-rawxws`);
      });

      await scenario(`${E}: handshake with Sec-WebSocket-Version: 8 gets ${refusal(426)}${engine.deny ? '' : ' + Sec-WebSocket-Version: 13'}`, async () => {
        const r = await rawHandshake({ port: P, urlPath: `/ws?case=${E}-v8`, origin: site, version: '8' });
        assertEqual(r.status, refusal(426), 'status');
        assertEqual(r.headers['x-crossguard-reason'], 'unsupported_websocket_version', 'reason');
        if (!engine.deny) assertEqual(r.headers['sec-websocket-version'], '13', 'Sec-WebSocket-Version');
        assertNeverSeen(upstream, `${E}-v8`);
      });

      await scenario(`${E}: Jupyter Server behind the engine: a kernel runs print(6*7) -> 42 from a same-origin page`, async () => {
        // Jupyter's API pages carry `default-src 'none'`; the page stands in for its front end.
        const context = await browser.newContext({ bypassCSP: true });
        try {
          const page = await context.newPage();
          const loaded = await page.goto(`http://localhost:${engine.jupyter.port}/api/status`);
          assertEqual(loaded.status(), 200, 'status page');
          const out = await jupyterPrint(page);
          assertEqual(out, { text: '42\n' }, 'kernel output');
        } finally {
          await context.close();
        }
      });

      await scenario(`${E}: Jupyter Server behind the engine: a cross-site page cannot start a kernel`, async () => {
        const J = engine.jupyter.port;
        const before = JSON.parse((await request({ port: J, path: '/api/kernels' })).body).length;
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          await page.goto(`${attackerOrigin}/`);
          const refused = page.waitForResponse((r) => r.url().endsWith('/api/kernels'));
          await page.evaluate((url) => fetch(url, { method: 'POST', mode: 'no-cors', body: '{"name":"python3"}' }).catch(() => null), `http://localhost:${J}/api/kernels`);
          assertEqual((await refused).status(), 403, 'status');
        } finally {
          await context.close();
        }
        const after = JSON.parse((await request({ port: J, path: '/api/kernels' })).body).length;
        assertEqual(after, before, 'kernel count');
      });
    }

    await scenario('a question without X-Forwarded-Method: 500 forward_auth_misconfigured and a stderr line naming the field', async () => {
      const r = await request({
        port: guardCaddy.port,
        path: '/.crossguard/auth',
        headers: { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'localhost:8080', 'x-forwarded-uri': '/api' },
      });
      assertEqual(r.status, 500, 'status');
      assertEqual(r.body, 'crossguard: forward_auth_misconfigured\n', 'body');
      await waitStderr(guardCaddy, 'crossguard: forward_auth_misconfigured: X-Forwarded-Method is missing');
    });

    await scenario('an h2c question (HTTP/2, prior knowledge) is answered like an HTTP/1 one', async () => {
      const session = http2.connect(`http://127.0.0.1:${guardCaddy.port}`);
      try {
        const ask = (extra) =>
          new Promise((resolve, reject) => {
            const stream = session.request({
              ':method': 'GET',
              ':path': '/.crossguard/auth',
              'x-forwarded-method': 'POST',
              'x-forwarded-proto': 'http',
              'x-forwarded-host': 'localhost:8080',
              'x-forwarded-uri': '/api/prompt',
              ...extra,
            });
            let status;
            let reason;
            let body = '';
            stream.setTimeout(10_000, () => stream.close());
            stream.on('response', (headers) => {
              status = headers[':status'];
              reason = headers['x-crossguard-reason'];
            });
            stream.on('data', (chunk) => (body += chunk));
            stream.on('end', () => resolve({ status, reason, body }));
            stream.on('error', reject);
            stream.end();
          });
        assertEqual(await ask({ 'sec-fetch-site': 'cross-site' }), { status: 403, reason: 'cross_site_request', body: 'crossguard: cross_site_request\n' }, 'cross-site');
        assertEqual(await ask({ 'sec-fetch-site': 'same-origin' }), { status: 200, reason: undefined, body: '' }, 'same-origin');
      } finally {
        session.close();
      }
    });

    await scenario('nginx without the X-Forwarded-Method line: the client gets 500, the app never sees the request', async () => {
      const r = await request({ port: broken.port, path: '/api/echo?case=misconfigured', method: 'POST', body: 'x' });
      assertEqual(r.status, 500, 'status');
      assertNeverSeen(upstream, 'misconfigured');
      await waitStderr(guardNginx, 'crossguard: forward_auth_misconfigured: X-Forwarded-Method is missing');
    });
  } finally {
    await browser.close().catch(() => {});
    attacker.close();
  }
}

async function run() {
  let crashed = null;
  try {
    await withTimeout(main(), SUITE_TIMEOUT_MS, 'suite');
  } catch (error) {
    crashed = error;
    console.log(`not ok - suite\n#   ${String(error?.stack || error).split('\n').join('\n#   ')}`);
  }
  await stopAll();
  fs.rmSync(WORK, { recursive: true, force: true });
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed + (crashed ? 1 : 0);
  console.log(`forward-auth: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await stopAll();
    process.exit(130);
  });
}

run();
