// Drives Debian's headless Chromium (through playwright-core over CDP; no browser download)
// against the Python guards' test servers, for python/tests/test_browser.py.
//
//   node browser.mjs TARGETS_JSON
//
// TARGETS_JSON is a list of {name, port, same, post, ws, marker}: `same` says how the
// same-origin check runs ("page": the app's page at / fills window.result; "jupyter": Jupyter's
// own page runs 42 in a kernel over its WebSocket), `post` and `ws` are the paths a cross-site
// page attacks, `marker` goes into every attack so the test can look for it in the app's log.
// Prints one JSON object: per target, what the same-origin page saw, what the cross-site page
// saw, and the answer to a DNS-rebinding navigation. Every process it starts is killed on exit.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const targets = JSON.parse(process.argv[2]);
const children = [];
const cleanup = () => { for (const child of children) { try { process.kill(-child.pid, 'SIGKILL'); } catch {} } };
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const ATTACK = String.raw`<!doctype html><meta charset="utf-8"><title>another site</title>
<script>
window.attack = async (base, post, ws, marker) => {
  const result = {};
  // A classic CSRF: an auto-submitted text/plain form into a hidden frame.
  result.form = await new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.name = 'sink';
    document.body.append(frame);
    const timer = setTimeout(() => resolve('timeout'), 10000);
    frame.addEventListener('load', () => { clearTimeout(timer); resolve('loaded'); }, { once: true });
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = base + post + '?form=' + marker;
    form.enctype = 'text/plain';
    form.target = 'sink';
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = 'form-' + marker;
    input.value = 'x';
    form.append(input);
    document.body.append(form);
    form.submit();
  });
  // A no-cors fetch: the page cannot read the answer, but the request is sent.
  try {
    const response = await fetch(base + post + '?fetch=' + marker, { method: 'POST', mode: 'no-cors', body: 'fetch-' + marker });
    result.fetch = response.type;
  } catch (error) {
    result.fetch = 'error';
  }
  if (ws) {
    result.ws = await new Promise((resolve) => {
      const socket = new WebSocket(base.replace('http', 'ws') + ws + '?ws=' + marker);
      const timer = setTimeout(() => resolve('timeout'), 10000);
      socket.onopen = () => { clearTimeout(timer); resolve('open'); socket.close(); };
      socket.onerror = () => { clearTimeout(timer); resolve('error'); };
    });
  }
  return result;
};
</script>`;

// Jupyter's own page: start a kernel, run 42 over its WebSocket.
async function runFortyTwo() {
  const response = await fetch('/api/kernels', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const kernel = await response.json();
  const session = crypto.randomUUID();
  const msgId = crypto.randomUUID();
  const result = await new Promise((resolve) => {
    const socket = new WebSocket(`ws://${location.host}/api/kernels/${kernel.id}/channels?session_id=${session}`);
    const timer = setTimeout(() => resolve('timeout'), 60000);
    socket.onopen = () => socket.send(JSON.stringify({
      header: { msg_id: msgId, username: 'page', session, msg_type: 'execute_request', version: '5.3' },
      parent_header: {}, metadata: {}, channel: 'shell',
      content: { code: '42', silent: false, store_history: false, user_expressions: {}, allow_stdin: false },
    }));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.parent_header.msg_id === msgId && message.msg_type === 'execute_result') {
        clearTimeout(timer);
        resolve(message.content.data['text/plain']);
        socket.close();
      }
    };
    socket.onerror = () => { clearTimeout(timer); resolve('error'); };
  });
  return { post: response.status, ws: result };
}

async function startChromium() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crossguard-python-chromium-'));
  const child = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${userDataDir}`, '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
    // attacker.example is the DNS-rebinding name; every other name fails to resolve.
    '--host-resolver-rules=MAP attacker.example 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    'about:blank',
  ], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  const endpoint = await new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${text}`)), 30000);
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const match = text.match(/DevTools listening on (ws:\/\/\S+)/);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.on('exit', (code) => reject(new Error(`Chromium exited with ${code}:\n${text}`)));
  });
  return chromium.connectOverCDP(endpoint, { timeout: 30000 });
}

async function main() {
  const attacker = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(ATTACK);
  });
  await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  const attackerBase = `http://127.0.0.1:${attacker.address().port}`;
  const browser = await startChromium();
  const context = await browser.newContext();
  context.setDefaultTimeout(30000);
  const results = {};
  for (const target of targets) {
    const base = `http://localhost:${target.port}`;
    const result = {};
    const page = await context.newPage();
    try {
      await page.goto(`${base}/`);
      result.same = target.same === 'jupyter' ? await page.evaluate(runFortyTwo) : await page.evaluate(() => window.result);
      await page.goto(`${attackerBase}/attack.html`);
      result.cross = await page.evaluate(
        ([b, p, w, m]) => window.attack(b, p, w, m), [base, target.post, target.ws, target.marker]);
      const rebinding = await page.goto(`http://attacker.example:${target.port}/`);
      result.rebinding = { status: rebinding.status(), body: await rebinding.text() };
    } finally {
      await page.close();
    }
    results[target.name] = result;
  }
  await context.close();
  await browser.close();
  attacker.close();
  console.log(JSON.stringify(results));
}

main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
