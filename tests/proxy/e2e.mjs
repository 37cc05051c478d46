// End-to-end tests of `crossguard proxy` in front of real upstreams: Jupyter Server, the Vite dev
// server and a Node upstream (tests/proxy/upstream.mjs), with headless Chromium (Debian's),
// python-websockets, Node `ws`, and raw sockets for the hostile-client cases.
//
// Run by scripts/test-proxy.sh, which installs everything and builds the binary. Prints one
// `ok - NAME` / `not ok - NAME` line per scenario (and `# ...` measurements), then
// `proxy e2e: N passed, M failed`; exits non-zero on any failure. Everything listens on loopback;
// every process it starts leads its own process group and is stopped by PID at the end, on
// failure and on SIGINT/SIGTERM; every wait is bounded.
//
// Environment: CROSSGUARD_BIN (default target/release/crossguard), CHROMIUM (default
// /usr/bin/chromium), PYTHON (default python3), E2E_PIDFILE (live PIDs, for the caller's trap),
// E2E_VERBOSE=1 (echo every process's output), E2E_ONLY=jupyter|vite|node (one group).

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import {
  BIN, HERE, PYTHON, assert, assertEqual, fail, freePort, listDir, refusals, request, results, runSuite,
  scenario, startAttackerServer, startChromium, startProcess, startProxy, stopProcess, tempDir, vmHWM,
  waitFor, waitForLine, withTimeout, runPrintInKernel, CHROMIUM, checkViteHmr,
} from './harness.mjs';

const SUITE_TIMEOUT_MS = 360_000;
const MIB = 1024 * 1024;

async function jupyterScenarios(browser, attacker) {
  const rootDir = tempDir('crossguard-proxy-jupyter-root-');
  const runtimeDir = tempDir('crossguard-proxy-jupyter-runtime-');
  const port = await freePort();
  // No token, no password, its own XSRF and Origin checks off: only crossguard stands between a
  // page and the kernel.
  const jupyter = startProcess('jupyter', PYTHON, [
    '-m', 'jupyter_server', '--allow-root', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0',
    `--ServerApp.root_dir=${rootDir}`, "--IdentityProvider.token=", '--ServerApp.password=',
    '--ServerApp.disable_check_xsrf=True', '--ServerApp.allow_origin=*',
  ], { cwd: rootDir, env: { ...process.env, JUPYTER_RUNTIME_DIR: runtimeDir, JUPYTER_CONFIG_DIR: runtimeDir, JUPYTER_PLATFORM_DIRS: '1' } });
  await waitFor('Jupyter to answer /api/status', async () => {
    if (jupyter.exited) fail(`jupyter exited:\n${jupyter.stderr.join('\n')}`);
    try {
      return (await request(port, { path: '/api/status' })).status === 200;
    } catch {
      return false;
    }
  }, 60_000, 200);
  const proxy = await startProxy('proxy-jupyter', `http://127.0.0.1:${port}`);
  fs.mkdirSync(path.join(rootDir, 'control'));
  fs.mkdirSync(path.join(rootDir, 'proxy'));
  // A kernel the attacker is assumed to know the id of (the worst case).
  const known = JSON.parse((await request(port, { method: 'POST', path: '/api/kernels', body: '{}', headers: { 'Content-Type': 'application/json' } })).body).id;
  console.log(`# jupyter_server on 127.0.0.1:${port}, proxy on localhost:${proxy.port}, attacker on 127.0.0.1:${attacker}, kernel ${known}`);

  const context = await browser.newContext();
  context.setDefaultTimeout(30_000);
  const attackFrom = async (target, tag) => {
    const page = await context.newPage();
    try {
      await page.goto(`http://127.0.0.1:${attacker}/attack.html?target=${target}&tag=${tag}&kernel=${known}`);
      return await page.evaluate(() => window.attack);
    } finally {
      await page.close();
    }
  };

  await scenario('j1 control: without the proxy the cross-site page creates files through /api/contents and runs code over /channels', async () => {
    const result = await attackFrom(`localhost:${port}`, 'control');
    assertEqual(result.put, 201, 'CORS PUT /api/contents status');
    assert(result.ws === 'ran:ok', `kernel WebSocket: ${result.ws}`);
    await waitFor('control-ws.txt', () => fs.existsSync(path.join(rootDir, 'control-ws.txt')), 10_000);
    assert(fs.existsSync(path.join(rootDir, 'control-put.txt')), 'control-put.txt created');
    assert(listDir(path.join(rootDir, 'control')).length === 1, `no-cors POST created a file: ${listDir(path.join(rootDir, 'control'))}`);
    console.log(`#   control attack: ${JSON.stringify(result)}`);
  });

  await scenario('j2 through the proxy the same page creates nothing and its WebSocket never opens', async () => {
    const before = listDir(rootDir);
    const log = refusals(proxy).length;
    const result = await attackFrom(`localhost:${proxy.port}`, 'proxy');
    assertEqual(result.put, 'blocked', 'CORS PUT through the proxy');
    assertEqual(result.ws, 'error', 'kernel WebSocket through the proxy');
    assert(result.ownKernel !== true, 'the page could not start a kernel of its own');
    await sleep(1000); // anything the attack did would have landed by now
    assertEqual(listDir(rootDir), before, 'files in the Jupyter root');
    assertEqual(listDir(path.join(rootDir, 'proxy')), [], 'files created by the no-cors POST');
    assert(!fs.existsSync(path.join(rootDir, 'proxy-ws.txt')), 'the kernel ran no code');
    const lines = refusals(proxy).slice(log);
    for (const expected of [
      'crossguard: refused OPTIONS /api/contents/proxy-put.txt: cross_site_resource',
      'crossguard: refused POST /api/contents/proxy: cross_site_request',
      `crossguard: refused GET /api/kernels/${known}/channels: cross_site_websocket`,
    ]) {
      assert(lines.includes(expected), `proxy log lacks "${expected}": ${JSON.stringify(lines)}`);
    }
    console.log(`#   attack through the proxy: ${JSON.stringify(result)}`);
  });

  await scenario('j3 a DNS-rebinding Host (attacker.example -> 127.0.0.1) is refused', async () => {
    const page = await context.newPage();
    try {
      const response = await page.goto(`http://attacker.example:${proxy.port}/api/contents`);
      assertEqual(response.status(), 403, 'status');
      assertEqual(await response.text(), 'crossguard: host_not_allowed\n', 'body');
    } finally {
      await page.close();
    }
  });

  await scenario('j4 a link from the cross-site page to the proxied Jupyter still navigates (200)', async () => {
    const page = await context.newPage();
    try {
      await page.goto(`http://127.0.0.1:${attacker}/attack.html?target=localhost:${proxy.port}&tag=link&kernel=${known}`);
      await page.evaluate(() => window.attack);
      const [response] = await Promise.all([page.waitForNavigation(), page.click('#link')]);
      assertEqual(response.status(), 200, 'navigation status');
      assertEqual(page.url(), `http://localhost:${proxy.port}/api/status`, 'page URL');
      assert('started' in JSON.parse(await response.text()), 'Jupyter status document');
    } finally {
      await page.close();
    }
  });

  await scenario('j5 a same-origin page through the proxy starts a kernel and reads 42 from print(6*7) over its WebSocket', async () => {
    const page = await context.newPage();
    try {
      // Jupyter's own page (its API responses carry `default-src 'none'`, which forbids fetch).
      const home = await page.goto(`http://localhost:${proxy.port}/`);
      assertEqual(home.status(), 200, 'Jupyter home page status');
      const result = await page.evaluate(runPrintInKernel);
      assertEqual(result.stdout, '42\n', `kernel output (${JSON.stringify(result)})`);
      assert(result.url.startsWith(`ws://localhost:${proxy.port}/api/kernels/`), `socket URL ${result.url}`);
    } finally {
      await page.close();
    }
  });

  await context.close();
  await stopProcess(proxy);
  await stopProcess(jupyter);
}

async function viteScenarios(browser) {
  const app = tempDir('crossguard-proxy-vite-');
  for (const name of ['index.html', 'main.js', 'style.css', 'vite.config.mjs']) {
    fs.copyFileSync(path.join(HERE, 'vite-app', name), path.join(app, name));
  }
  const port = await freePort();
  const vite = startProcess('vite', process.execPath, [
    path.join(HERE, 'node_modules', 'vite', 'bin', 'vite.js'), app, '--config', path.join(app, 'vite.config.mjs'), '--port', String(port),
  ], { cwd: app });
  await waitFor('Vite to answer', async () => {
    if (vite.exited) fail(`vite exited:\n${[...vite.lines, ...vite.stderr].join('\n')}`);
    try {
      return (await request(port, { path: '/', headers: { Host: `localhost:${port}` } })).status === 200;
    } catch {
      return false;
    }
  }, 30_000, 100);
  const proxy = await startProxy('proxy-vite', `http://127.0.0.1:${port}`);
  console.log(`# vite on 127.0.0.1:${port}, proxy on localhost:${proxy.port}`);

  await scenario('v1 a Vite page loads through the proxy and its HMR socket (vite-hmr) connects through the proxy port and delivers a CSS update', async () => {
    await checkViteHmr(browser, proxy.port, app, port);
  });

  await stopProcess(proxy);
  await stopProcess(vite);
}

async function nodeUpstreamScenarios() {
  const upstream = startProcess('upstream', process.execPath, [path.join(HERE, 'upstream.mjs')]);
  const upPort = Number((await waitForLine(upstream, /^upstream listening on http:\/\/127\.0\.0\.1:(\d+)\/$/, 10_000, 'the upstream to listen'))[1]);
  const proxy = await startProxy('proxy-node', `http://127.0.0.1:${upPort}`);

  await scenario('w1 python-websockets negotiates permessage-deflate with the upstream through the proxy and round-trips 1 MB', async () => {
    const client = startProcess('python-websockets', PYTHON, [path.join(HERE, 'ws_client.py'), `ws://127.0.0.1:${proxy.port}/echo`]);
    await Promise.race([client.exit, sleep(60_000)]);
    const out = [...client.lines, ...client.stderr].join('\n');
    assertEqual(client.code, 0, `python client (${out})`);
    console.log(`#   ${client.lines.join(' ')}`);
  });

  await scenario('w2 Node ws negotiates permessage-deflate with the upstream through the proxy and round-trips 1 MB', async () => {
    const payload = Buffer.alloc(MIB, 'crossguard proxies deflate end to end. ');
    const result = await new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/echo`, { perMessageDeflate: true, maxPayload: 16 * MIB });
      ws.on('open', () => ws.send(payload, { binary: true, compress: true }));
      ws.on('message', (data) => {
        resolve({ extensions: ws.extensions, equal: Buffer.compare(Buffer.from(data), payload) === 0, length: data.length });
        ws.close();
      });
      ws.on('error', reject);
    });
    assert(result.extensions.startsWith('permessage-deflate'), `negotiated extensions: ${result.extensions}`);
    assert(result.equal, `echo of ${result.length} bytes equals the 1 MiB sent`);
    console.log(`#   node ws extensions "${result.extensions}", ${result.length} bytes round-tripped`);
  });

  await scenario('s1 a 200 MiB download and a 50 MiB upload stream through with the proxy\'s VmHWM under 64 MiB', async () => {
    const before = vmHWM(proxy.proc.pid);
    const started = Date.now();
    const downloaded = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: proxy.port, path: '/download?mib=200', agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (chunk) => { bytes += chunk.length; });
        res.on('end', () => resolve({ status: res.statusCode, bytes }));
        res.on('error', reject);
      }).on('error', reject);
    });
    const downMs = Date.now() - started;
    assertEqual(downloaded, { status: 200, bytes: 200 * MIB }, 'download');
    const upStarted = Date.now();
    const uploaded = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/upload', agent: false,
        headers: { 'Content-Type': 'application/octet-stream' } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString()) }));
      });
      req.on('error', reject);
      const piece = Buffer.alloc(256 * 1024, 'u');
      let left = 50 * MIB;
      const pump = () => {
        while (left > 0) {
          left -= piece.length;
          if (!req.write(piece)) { req.once('drain', pump); return; }
        }
        req.end();
      };
      pump();
    });
    const upMs = Date.now() - upStarted;
    assertEqual(uploaded, { status: 200, body: { bytes: 50 * MIB } }, 'upload');
    const peak = vmHWM(proxy.proc.pid);
    console.log(`#   download 200 MiB in ${downMs} ms, upload 50 MiB in ${upMs} ms; proxy VmHWM ${(before / MIB).toFixed(1)} MiB before, ${(peak / MIB).toFixed(1)} MiB after`);
    assert(peak < 64 * MIB, `VmHWM ${peak} bytes`);
  });

  await scenario('s2 server-sent events arrive as they are sent', async () => {
    const arrivals = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: proxy.port, path: '/sse?n=5&ms=400', agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
        const events = [];
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (text) => {
          buffer += text;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const sent = Number(event.match(/^data: (\d+)$/m)[1]);
            events.push({ sent, lag: Date.now() - sent });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], events }));
        res.on('error', reject);
      }).on('error', reject);
    });
    assertEqual([arrivals.status, arrivals.type, arrivals.events.length], [200, 'text/event-stream', 5], 'SSE response');
    const lags = arrivals.events.map((e) => e.lag);
    console.log(`#   SSE lags (ms from write to arrival): ${lags.join(', ')}`);
    assert(lags.every((lag) => lag < 200), `every event within 200 ms of being sent: ${lags}`);
    const span = arrivals.events[4].sent - arrivals.events[0].sent;
    assert(span >= 1500, `events were spread over time (${span} ms)`);
  });

  await scenario('u1 upstream down: 502 crossguard: upstream_unavailable', async () => {
    const down = await startProxy('proxy-down', `http://127.0.0.1:${await freePort()}`);
    const response = await request(down.port, { path: '/' });
    assertEqual([response.status, response.body], [502, 'crossguard: upstream_unavailable\n'], 'answer');
    await stopProcess(down);
  });

  await scenario('u2 SIGTERM: the in-flight request completes, then the proxy exits 0', async () => {
    const victim = await startProxy('proxy-sigterm', `http://127.0.0.1:${upPort}`);
    const inFlight = request(victim.port, { path: '/slow?ms=1500' });
    await sleep(300);
    process.kill(victim.proc.pid, 'SIGTERM');
    const response = await inFlight;
    assertEqual([response.status, response.body], [200, 'finished'], 'in-flight answer');
    await Promise.race([victim.exit, sleep(10_000)]);
    assertEqual([victim.exited, victim.code], [true, 0], 'exit status');
  });

  await hostileScenarios(upPort);

  await stopProcess(proxy);
  await stopProcess(upstream);
}

// Raw TCP to the proxy: writes `bytes`, collects what comes back until the proxy closes (or
// `ms` pass). Returns { text, closedAfterMs }.
function rawExchange(port, bytes, ms = 5000) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks = [];
    const timer = setTimeout(() => { socket.destroy(); finish(null); }, ms);
    let done = false;
    const finish = (closedAfterMs) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs });
    };
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => finish(Date.now() - started));
    socket.on('error', () => {});
  });
}

async function hostileScenarios(upPort) {
  const proxy = await startProxy('proxy-hostile', `http://127.0.0.1:${upPort}`, ['--header-timeout', '1', '--max-connections', '8']);
  const seen = async () => JSON.parse((await request(upPort, { path: '/__seen' })).body);

  await scenario('h1 each ambiguous framing gets 400 and the upstream never sees it', async () => {
    const cases = [
      ['Content-Length with Transfer-Encoding', 'POST /smuggle-1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-1 HTTP/1.1\r\nHost: localhost\r\n\r\n'],
      ['two different Content-Lengths', 'POST /smuggle-2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 45\r\n\r\nabcGET /smuggled-2 HTTP/1.1\r\nHost: localhost\r\n\r\n'],
      ['an obsolete line fold', 'GET /smuggle-3 HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n'],
    ];
    for (const [name, bytes] of cases) {
      const { text } = await rawExchange(proxy.port, bytes);
      assert(text.startsWith('HTTP/1.1 400 Bad Request\r\n'), `${name}: ${JSON.stringify(text)}`);
      assertEqual((text.match(/HTTP\/1\.1 /g) || []).length, 1, `${name}: one answer, then the connection is closed`);
    }
    const paths = (await seen()).filter((line) => line.includes('smuggl'));
    assertEqual(paths, [], 'what reached the upstream');
  });

  await scenario('h2 a slow head is cut at --header-timeout 1', async () => {
    const started = Date.now();
    const socket = net.connect(proxy.port, '127.0.0.1');
    const closed = new Promise((resolve) => socket.on('close', () => resolve(Date.now() - started)));
    socket.on('error', () => {});
    socket.write('GET /slow-head HTTP/1.1\r\nHost: loc');
    const trickle = setInterval(() => socket.write('a'), 200);
    const after = await Promise.race([closed, sleep(5000).then(() => null)]);
    clearInterval(trickle);
    socket.destroy();
    assert(after !== null && after >= 900 && after < 2500, `closed after ${after} ms`);
    assert(!(await seen()).some((line) => line.includes('/slow-head')), 'the upstream never saw it');
    console.log(`#   slow head closed after ${after} ms`);
  });

  await scenario('h3 --max-connections 8 holds under a burst of 100 idle connections; the open ones are served', async () => {
    const active = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (agent) => new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: proxy.port, path: '/download?mib=0', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      }).on('error', reject);
    });
    assertEqual(await get(active), 200, 'first request on the kept-alive connection');
    const idle = [];
    for (let i = 0; i < 100; i += 1) {
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.on('error', () => {});
      idle.push(socket);
    }
    await sleep(300);
    const late = get(false).then((status) => ({ status, at: Date.now() }));
    const waited = await Promise.race([late.then(() => 'served'), sleep(700).then(() => 'waiting')]);
    assertEqual(waited, 'waiting', 'a newcomer past the bound');
    assertEqual(await get(active), 200, 'the open connection keeps being served');
    const released = Date.now();
    for (const socket of idle) socket.destroy();
    active.destroy();
    const { status, at } = await withTimeout(late, 10_000, 'the newcomer');
    assertEqual(status, 200, 'the newcomer, once connections closed');
    console.log(`#   newcomer served ${at - released} ms after the idle connections closed`);
  });

  await stopProcess(proxy);
}

const ONLY = process.env.E2E_ONLY || '';

async function main() {
  assert(fs.existsSync(BIN), `${BIN} is missing: cargo build --release -p crossguard-cli`);
  const attackerServer = await startAttackerServer();
  const attacker = attackerServer.address().port;
  const chromiumProcess = await startChromium();
  const { browser } = chromiumProcess;
  const playwrightVersion = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'playwright-core', 'package.json'))).version;
  console.log(`# ${browser.version()}, playwright-core ${playwrightVersion}, ${BIN}`);
  try {
    if (!ONLY || ONLY === 'jupyter') await jupyterScenarios(browser, attacker);
    if (!ONLY || ONLY === 'vite') await viteScenarios(browser);
    if (!ONLY || ONLY === 'node') await nodeUpstreamScenarios();
  } finally {
    await browser.close().catch(() => {});
    attackerServer.closeAllConnections();
    attackerServer.close();
  }
}

await runSuite('proxy e2e', main, SUITE_TIMEOUT_MS);
