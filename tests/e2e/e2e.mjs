// Real-browser end-to-end tests of examples/demo.rs (crossguard's `local` preset) in Chromium.
//
// Run by scripts/test-e2e.sh, which installs Chromium and playwright-core and builds the demo.
// Prints one `ok - NAME` / `not ok - NAME` line per scenario and `e2e: N passed, M failed`;
// exits non-zero on any failure. Everything it starts (two demo servers, the attacker page's
// static server, Chromium) listens on loopback only and is stopped by PID (process group) at the
// end, on failure and on SIGINT/SIGTERM; every wait is bounded.
//
// Environment: DEMO_BIN (default target/release/examples/demo), CHROMIUM (default
// /usr/bin/chromium), E2E_PIDFILE (the live PIDs are written there for the caller's trap),
// E2E_OUT (screenshots; default tests/e2e/out), E2E_VERBOSE=1 (echo the servers' output).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const DEMO_BIN = process.env.DEMO_BIN || path.join(ROOT, 'target', 'release', 'examples', 'demo');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PIDFILE = process.env.E2E_PIDFILE || '';
const OUT = process.env.E2E_OUT || path.join(HERE, 'out');
const VERBOSE = process.env.E2E_VERBOSE === '1';
const SUITE_TIMEOUT_MS = 180_000;
const SCENARIO_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Small helpers.

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

async function waitFor(what, probe, timeoutMs = 5000, intervalMs = 25) {
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

// ---------------------------------------------------------------------------------------------
// Processes: each is spawned in its own process group and stopped by that PID.

const children = new Set();

function writePidfile() {
  if (!PIDFILE) return;
  const live = [...children].filter((c) => c.exited === false).map((c) => c.proc.pid);
  fs.writeFileSync(PIDFILE, live.map((pid) => `${pid}\n`).join(''));
}

function startProcess(name, command, args) {
  const proc = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = { name, proc, lines: [], stderr: [], exited: false, listeners: new Set() };
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
  const timer = sleep(5000).then(() => 'timeout');
  if ((await Promise.race([exited, timer])) === 'timeout') {
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

async function startDemo(name, extraArgs = []) {
  const child = startProcess(name, DEMO_BIN, ['--listen', '127.0.0.1:0', ...extraArgs]);
  const match = await waitForLine(child, /^demo listening; open http:\/\/127\.0\.0\.1:(\d+)\/$/, 10_000, `${name} to listen`);
  child.port = Number(match[1]);
  return child;
}

function rejections(demo) {
  return demo.lines.filter((line) => line.startsWith('rejected: '));
}

// Runs `action`, then checks that `demo` logged exactly `expected` rejection lines meanwhile.
async function expectRejections(demo, expected, action) {
  const before = rejections(demo).length;
  const result = await action();
  await waitFor(
    `${demo.name} to log ${JSON.stringify(expected)}`,
    () => rejections(demo).length - before >= expected.length,
    5000,
  );
  await sleep(150); // anything logged late would be an extra line
  assertEqual(rejections(demo).slice(before), expected, `${demo.name} rejection log`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Direct requests from Node: no Origin, no Sec-Fetch-* (like curl).

function request(port, { method = 'GET', path: urlPath = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, timeout: 5000 }, (res) => {
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

async function history(demo) {
  const response = await request(demo.port, { path: '/api/history' });
  assertEqual(response.status, 200, 'GET /api/history status');
  return JSON.parse(response.body);
}

// ---------------------------------------------------------------------------------------------
// Chromium, started by us (so we own its PID) and driven over CDP by playwright-core.

async function startChromium() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crossguard-e2e-chromium-'));
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
    // attacker.example is the DNS-rebinding name; every other name fails to resolve, so nothing
    // leaves the machine.
    '--host-resolver-rules=MAP attacker.example 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    '--window-size=1000,800',
    'about:blank',
  ];
  const child = startProcess('chromium', CHROMIUM, args);
  child.userDataDir = userDataDir;
  const match = await waitForLine(child, /DevTools listening on (ws:\/\/\S+)/, 30_000, 'Chromium to open its DevTools endpoint');
  child.browser = await chromium.connectOverCDP(match[1], { timeout: 30_000 });
  return child;
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

let passed = 0;
let failed = 0;

async function scenario(name, body) {
  try {
    await withTimeout(body(), SCENARIO_TIMEOUT_MS, name);
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}`);
    for (const line of String(error && error.stack ? error.stack : error).split('\n')) console.log(`#   ${line}`);
  }
}

// In the demo page: a new WebSocket, a 100 KB text and a 100 KB binary message echoed back.
async function bigEcho(size) {
  let x = 0x2545f491;
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x >>> 16;
  };
  const alphabet = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789{}":,.';
  const text = Array.from({ length: size }, () => alphabet[next() % alphabet.length]).join('');
  const binary = Uint8Array.from({ length: size }, () => next() & 0xff);
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.binaryType = 'arraybuffer';
    const got = [];
    const timer = setTimeout(() => { ws.close(); resolve({ timeout: true, got: got.length }); }, 15000);
    ws.onopen = () => { ws.send(text); ws.send(binary); };
    ws.onerror = () => { clearTimeout(timer); resolve({ error: true, got: got.length }); };
    ws.onmessage = (event) => {
      got.push(event.data);
      if (got.length < 2) return;
      clearTimeout(timer);
      const echoedText = got.find((d) => typeof d === 'string');
      const echoedBinary = got.find((d) => d instanceof ArrayBuffer);
      const bytes = echoedBinary ? new Uint8Array(echoedBinary) : new Uint8Array();
      const binaryIntact = bytes.length === binary.length && bytes.every((b, i) => b === binary[i]);
      resolve({
        extensions: ws.extensions,
        textLength: echoedText ? echoedText.length : -1,
        textIntact: echoedText === text,
        binaryLength: bytes.length,
        binaryIntact,
      });
      ws.close(1000);
    };
  });
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  assert(fs.existsSync(DEMO_BIN), `${DEMO_BIN} is missing: cargo build --release --all-features --example demo`);

  const attackerServer = startProcess('attacker', process.execPath, [path.join(HERE, 'attacker-server.mjs')]);
  const other = Number((await waitForLine(attackerServer, /^attacker listening on http:\/\/127\.0\.0\.1:(\d+)\/$/, 10_000, 'the attacker server to listen'))[1]);
  const demo = await startDemo('demo');
  const trusting = await startDemo('demo-allow-origin', ['--allow-origin', `http://127.0.0.1:${other}`]);
  const browserProcess = await startChromium();
  const { browser } = browserProcess;
  console.log(`# demo on localhost:${demo.port}, demo --allow-origin http://127.0.0.1:${other} on localhost:${trusting.port}, attacker on port ${other}`);
  console.log(`# ${browser.version()}, playwright-core ${JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'playwright-core', 'package.json'))).version}`);

  const context = await browser.newContext({ viewport: { width: 1000, height: 800 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);

  const demoUrl = `http://localhost:${demo.port}/`;
  const crossSite = `http://127.0.0.1:${other}`;
  const sameSite = `http://localhost:${other}`;

  // a. The tool's own page: same-origin fetch and WebSocket work, with permessage-deflate.
  let demoPage;
  await scenario('a1 same-origin page loads and its WebSocket opens with permessage-deflate', async () => {
    demoPage = await context.newPage();
    const response = await expectRejections(demo, [], () => demoPage.goto(demoUrl));
    assertEqual(response.status(), 200, 'GET / status');
    await waitFor('#ws-status to be "open"', async () => (await demoPage.textContent('#ws-status')) === 'open', 10_000);
    const extensions = await demoPage.textContent('#ws-extensions');
    assert(extensions.includes('permessage-deflate'), `ws.extensions is ${JSON.stringify(extensions)}`);
    await waitFor('the greeting to echo', async () => (await demoPage.textContent('#ws-echo')) === 'hello over a compressed socket', 10_000);
  });
  await scenario('a2 same-origin #queue click queues a prompt (history +1)', async () => {
    const before = await history(demo);
    await expectRejections(demo, [], async () => {
      await demoPage.click('#queue');
      await waitFor('#queue-result', async () => (await demoPage.textContent('#queue-result')) === `queued as #${before.length + 1}`, 10_000);
      await waitFor('#history to list it', async () => (await demoPage.textContent('#history')).includes('a lighthouse at dusk'), 10_000);
    });
    const after = await history(demo);
    assertEqual(after.length, before.length + 1, 'history length');
    assertEqual(after.at(-1).prompt, { prompt: { text: 'a lighthouse at dusk', steps: 20 } }, 'queued prompt');
    await demoPage.setViewportSize({ width: 1000, height: 200 }); // fullPage: just the content
    await demoPage.screenshot({ path: path.join(OUT, 'demo.png'), fullPage: true });
    await demoPage.setViewportSize({ width: 1000, height: 800 });
  });
  await scenario('a3 same-origin 100 KB text + binary WebSocket messages echo back intact', async () => {
    const result = await expectRejections(demo, [], () => demoPage.evaluate(bigEcho, 100 * 1024));
    assert(result.extensions && result.extensions.includes('permessage-deflate'), `extensions: ${JSON.stringify(result)}`);
    assertEqual(
      [result.textLength, result.textIntact, result.binaryLength, result.binaryIntact],
      [102400, true, 102400, true],
      'echo (text length, intact, binary length, intact)',
    );
  });

  // b. A page on another site (127.0.0.1) and on the same site (localhost, other port).
  const blocked = async (page, id, label, expectedLog, attempt, check) => {
    const before = await history(demo);
    const observed = await expectRejections(demo, [expectedLog], () => page.evaluate(attempt));
    check(observed);
    assertEqual((await history(demo)).length, before.length, 'history length');
    return observed;
  };
  for (const [tag, origin, reason] of [
    ['b1 cross-site', crossSite, 'cross_site_request'],
    ['b2 same-site', sameSite, 'same_site_request'],
  ]) {
    let page;
    const open = async () => {
      if (page) return page;
      page = await context.newPage();
      const response = await page.goto(`${origin}/?target=localhost:${demo.port}`);
      assertEqual(response.status(), 200, 'attacker page status');
      return page;
    };
    const show = (id, text, detail) => page && page.evaluate(([i, t, d]) => show(i, t, true, d), [id, text, detail]);
    const showFailure = (id, label) => page && page.evaluate(([i, t]) => show(i, t, false, 'see the e2e output'), [id, `${label}: NOT blocked as expected`]).catch(() => {});

    const attempts = [
      ['form-post', 'form POST (text/plain, JSON body)', `rejected: 403 ${reason}`, () => formPost('csrf via form'),
        (r) => assertEqual(r, { loaded: true }, 'the form\'s target frame'),
        'form POST: blocked (history unchanged)', `demo logged "rejected: 403 ${reason}"`],
      ['fetch-no-cors', 'fetch no-cors POST', `rejected: 403 ${reason}`, () => fetchPost('no-cors', 'csrf via fetch'),
        (r) => assertEqual(r, { type: 'opaque', status: 0 }, 'the opaque response'),
        'fetch no-cors POST: blocked (history unchanged)', `demo logged "rejected: 403 ${reason}"`],
      ['websocket', 'WebSocket', 'rejected: 403 cross_site_websocket', () => webSocket('hijack'),
        (r) => {
          assert(!r.events.includes('open') && !r.events.includes('timeout'), `socket events ${JSON.stringify(r.events)}`);
          assert(r.events.some((e) => e.startsWith('close')), `socket events ${JSON.stringify(r.events)}`);
        },
        'WebSocket: blocked (never opened)', 'demo logged "rejected: 403 cross_site_websocket"'],
    ];
    for (const [id, label, expectedLog, attempt, check, shown, detail] of attempts) {
      await scenario(`${tag} page ${origin}: ${label} to localhost:DEMO is refused`, async () => {
        try {
          const observed = await blocked(await open(), id, label, expectedLog, attempt, check);
          await show(id, shown, `${detail} · the page saw ${JSON.stringify(observed)}`);
        } catch (error) {
          await showFailure(id, label);
          throw error;
        }
      });
    }
    if (page) {
      await page.setViewportSize({ width: 1000, height: 200 }); // fullPage: just the content
      await page.screenshot({ path: path.join(OUT, tag.startsWith('b1') ? 'attacker-blocked.png' : 'attacker-same-site-blocked.png'), fullPage: true });
      await page.close();
    }
  }

  // c. DNS rebinding: a name that resolves to 127.0.0.1 but is not an allowed host.
  await scenario('c1 DNS rebinding: Host attacker.example:DEMO + matching Origin from Node -> 403 host_not_allowed', async () => {
    const before = await history(demo);
    const response = await expectRejections(demo, ['rejected: 403 host_not_allowed'], () => request(demo.port, {
      method: 'POST',
      path: '/api/prompt',
      headers: {
        Host: `attacker.example:${demo.port}`,
        Origin: `http://attacker.example:${demo.port}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ prompt: { text: 'rebound' } }),
    }));
    assertEqual([response.status, response.body], [403, 'crossguard: host_not_allowed\n'], 'status and body');
    assertEqual((await history(demo)).length, before.length, 'history length');
  });
  // d. The second demo trusts http://127.0.0.1:OTHER: its requests and socket now go through.
  {
    let page;
    const open = async () => {
      if (page) return page;
      page = await context.newPage();
      await page.goto(`${crossSite}/?target=localhost:${trusting.port}`);
      return page;
    };
    const through = async (attempt, check) => {
      const before = await history(trusting);
      const observed = await expectRejections(trusting, [], async () => (await open()).evaluate(attempt));
      check(observed);
      const after = await history(trusting);
      assertEqual(after.length, before.length + 1, 'history length');
      return after.at(-1).prompt;
    };
    await scenario('d1 --allow-origin http://127.0.0.1:OTHER: fetch no-cors POST from that origin is accepted (history +1)', async () => {
      const prompt = await through(() => fetchPost('no-cors', 'trusted no-cors'), (r) => assertEqual(r, { type: 'opaque', status: 0 }, 'the opaque response'));
      assertEqual(prompt, { prompt: { text: 'trusted no-cors' } }, 'stored prompt');
      await page.evaluate(() => show('fetch-no-cors', 'fetch no-cors POST: accepted (allowlisted origin)', false, 'history +1'));
    });
    await scenario('d2 --allow-origin http://127.0.0.1:OTHER: fetch cors POST (text/plain) is accepted (history +1)', async () => {
      // The request is processed; the page cannot read the answer (no CORS headers), as expected.
      const prompt = await through(() => fetchPost('cors', 'trusted cors'), (r) => assert(r.error && r.error.includes('TypeError'), `fetch result ${JSON.stringify(r)}`));
      assertEqual(prompt, { prompt: { text: 'trusted cors' } }, 'stored prompt');
    });
    await scenario('d3 --allow-origin http://127.0.0.1:OTHER: form POST from that origin is accepted (history +1)', async () => {
      const prompt = await through(() => formPost('trusted form'), (r) => assertEqual(r, { loaded: true }, 'the form\'s target frame'));
      assertEqual(prompt, { prompt: { text: 'trusted form', pad: '=' } }, 'stored prompt');
    });
    await scenario('d4 --allow-origin http://127.0.0.1:OTHER: WebSocket from that origin opens and echoes', async () => {
      const result = await expectRejections(trusting, [], async () => (await open()).evaluate(() => webSocket('trusted socket')));
      assertEqual([result.events[0], result.echo], ['open', 'trusted socket'], 'socket events and echo');
      assert(result.extensions.includes('permessage-deflate'), `extensions ${JSON.stringify(result.extensions)}`);
    });
    await scenario('d5 --allow-origin is exact: fetch no-cors POST from http://localhost:OTHER is still refused (same_site_request)', async () => {
      const other = await context.newPage();
      try {
        await other.goto(`${sameSite}/?target=localhost:${trusting.port}`);
        const before = await history(trusting);
        await expectRejections(trusting, ['rejected: 403 same_site_request'], () => other.evaluate(() => fetchPost('no-cors', 'not trusted')));
        assertEqual((await history(trusting)).length, before.length, 'history length');
      } finally {
        await other.close();
      }
    });
    if (page) await page.close();
  }

  // e. A plain link from the other site: top-level navigation is allowed.
  await scenario('e1 top-level link from http://127.0.0.1:OTHER to localhost:DEMO loads the demo page (200)', async () => {
    const page = await context.newPage();
    try {
      await page.goto(`${crossSite}/?target=localhost:${demo.port}`);
      const [response] = await expectRejections(demo, [], () => Promise.all([
        page.waitForResponse((r) => r.url() === demoUrl && r.request().isNavigationRequest()),
        page.click('#open-demo'),
      ]));
      assertEqual(response.status(), 200, 'status');
      await page.waitForURL(demoUrl);
      assert(await page.locator('h1', { hasText: 'Local AI tool' }).isVisible(), 'the demo heading is visible');
      await waitFor('#ws-status to be "open"', async () => (await page.textContent('#ws-status')) === 'open', 10_000);
    } finally {
      await page.close();
    }
  });

  // c2 runs last: besides the navigation, Chromium asks the rebound name for /favicon.ico, which
  // is refused too and may be logged a little later.
  await scenario('c2 DNS rebinding: Chromium navigating to http://attacker.example:DEMO/ -> 403 host_not_allowed', async () => {
    const page = await context.newPage();
    try {
      const before = rejections(demo).length;
      const response = await page.goto(`http://attacker.example:${demo.port}/`);
      assertEqual(response.status(), 403, 'status');
      assertEqual((await page.textContent('body')).trim(), 'crossguard: host_not_allowed', 'page text');
      // The navigation's line, then (within 2 s, if Chromium asks for it) the favicon's.
      await waitFor('the favicon request', () => rejections(demo).length - before >= 2, 2000).catch(() => {});
      await sleep(150);
      const logged = rejections(demo).slice(before);
      assert(logged.length === 1 || logged.length === 2, `demo rejection log: ${JSON.stringify(logged)}`);
      assertEqual([...new Set(logged)], ['rejected: 403 host_not_allowed'], 'demo rejection log');
    } finally {
      await page.close();
    }
  });

  await context.close();
  await browser.close();
}

// ---------------------------------------------------------------------------------------------

let exiting = false;
async function finish(code) {
  if (exiting) return;
  exiting = true;
  await stopAll();
  for (const child of children) if (child.userDataDir) fs.rmSync(child.userDataDir, { recursive: true, force: true });
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.log(`# ${signal}: stopping`);
    finish(130);
  });
}
setTimeout(() => {
  console.log(`not ok - suite finished within ${SUITE_TIMEOUT_MS / 1000} s`);
  console.log(`e2e: ${passed} passed, ${failed + 1} failed`);
  finish(1);
}, SUITE_TIMEOUT_MS).unref();

try {
  await main();
} catch (error) {
  failed += 1;
  console.log('not ok - setup (servers, Chromium)');
  for (const line of String(error && error.stack ? error.stack : error).split('\n')) console.log(`#   ${line}`);
  for (const child of children) {
    const output = [...child.lines, ...child.stderr].slice(-20);
    if (output.length) console.log(`# last output of ${child.name}:\n${output.map((l) => `#   ${l}`).join('\n')}`);
  }
}
if (passed + failed === 0) failed = 1;
console.log(`e2e: ${passed} passed, ${failed} failed`);
await finish(failed === 0 ? 0 : 1);
