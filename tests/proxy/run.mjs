// End-to-end tests of `crossguard run`: real apps (the demo, Jupyter Server, the Vite dev server)
// started by `crossguard run` in a network namespace of their own, as root and as an
// unprivileged user (`setpriv` to nobody); Jupyter on a Unix socket behind `crossguard proxy
// --upstream unix:`; the app's way out (pip) with and without `--no-egress`; the lifecycle
// (signals, exit statuses, the start timeout, no namespaces). Headless Chromium (Debian's) driven
// by playwright-core plays the user and the attacking page.
//
// Run by scripts/test-run.sh, which installs everything and builds the binaries. Prints one
// `ok - NAME` / `not ok - NAME` line per scenario, then `run e2e: N passed, M failed`; exits
// non-zero on any failure. Everything listens on loopback; every process it starts leads its own
// process group and is stopped by PID at the end, on failure and on SIGINT/SIGTERM; every wait
// is bounded.
//
// Environment: as harness.mjs, plus DEMO_BIN (default target/release/examples/demo),
// SYSTEM_PYTHON (a Python every user can run, with pip; default /usr/bin/python3), NOBODY_PYTHON
// (one with jupyter_server and ipykernel that nobody can run; without it Jupyter runs as root only)
// and E2E_ONLY=demo|jupyter|vite|unix|egress|lifecycle (one group).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ATTACK_PAGE, BIN, HERE, PYTHON, ROOT, assert, assertEqual, checkViteHmr, fail, freePort, listDir, refusals,
  request, runPrintInKernel, runSuite, scenario, startChromium, startProcess, startProxy, stopProcess, tempDir,
  waitFor, waitForLine,
} from './harness.mjs';

const SUITE_TIMEOUT_MS = 600_000;
const DEMO_BIN = process.env.DEMO_BIN || path.join(ROOT, 'target', 'release', 'examples', 'demo');
const SYSTEM_PYTHON = process.env.SYSTEM_PYTHON || '/usr/bin/python3';
// A Python with jupyter_server and ipykernel that nobody can run (root's may live under /root).
const NOBODY_PYTHON = process.env.NOBODY_PYTHON || '';
const NOBODY = 65534;
const USERS = ['root', 'nobody'];

// ---------------------------------------------------------------------------------------------
// What an unprivileged user runs must be readable by them, wherever the checkout is: the binaries
// and the Vite app are copied to a directory of their own, owned by nobody.

let staged;

function stage() {
  const dir = tempDir('crossguard-run-stage-');
  fs.chmodSync(dir, 0o755);
  fs.copyFileSync(BIN, path.join(dir, 'crossguard'));
  fs.copyFileSync(DEMO_BIN, path.join(dir, 'demo'));
  fs.chmodSync(path.join(dir, 'crossguard'), 0o755);
  fs.chmodSync(path.join(dir, 'demo'), 0o755);
  staged = { dir, bin: path.join(dir, 'crossguard'), demo: path.join(dir, 'demo') };
}

// A directory the user owns.
function ownedDir(user, prefix) {
  const dir = tempDir(prefix);
  fs.chmodSync(dir, 0o755);
  if (user === 'nobody') fs.chownSync(dir, NOBODY, NOBODY);
  return dir;
}

function asUser(user, argv) {
  return user === 'nobody' ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv] : argv;
}

// `crossguard run` as `user`; resolves once its banner says it listens (unless `banner` is false).
async function startRun(name, user, { port, listen, extra = [], command, env = {}, cwd, banner = true }) {
  const listenArgs = listen ? ['--listen', listen] : [];
  const argv = asUser(user, [staged.bin, 'run', '--port', String(port), ...listenArgs, ...extra, '--', ...command]);
  const home = ownedDir(user, 'crossguard-run-home-');
  const child = startProcess(name, argv[0], argv.slice(1), { cwd: cwd || home, env: { ...process.env, HOME: home, ...env } });
  if (banner) {
    const match = await waitForLine(child, /^crossguard proxy: listening on http:\/\/127\.0\.0\.1:(\d+), forwarding to /, 90_000, `${name} to listen`);
    child.port = Number(match[1]);
  }
  return child;
}

// The id of a process (other than crossguard and setpriv, whose command lines hold the app's) one
// of whose arguments is `marker`, or contains it when `exact` is false.
function findProcess(marker, exact = false) {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline[0] === staged.bin || cmdline[0] === 'setpriv') continue;
      if (cmdline.some((arg) => (exact ? arg === marker : arg.includes(marker)))) return Number(entry);
    } catch {
      // gone
    }
  }
  return null;
}

// LISTEN sockets on `port` in the network namespace whose /proc/PID/net view is read.
function listeners(port, pid = 'self') {
  const inodes = [];
  for (const file of ['tcp', 'tcp6']) {
    let text;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = parseInt(fields[1].split(':')[1], 16);
      if (fields[3] === '0A' && localPort === port) inodes.push(fields[9]);
    }
  }
  return inodes;
}

function socketInodes(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = fs.readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

// The app runs in a network namespace of its own, listens there, and holds no socket listening
// in ours: the only listener on the port here is crossguard's.
function checkIsolated(appPid, runPid, port) {
  assert(appPid, 'the app process was found');
  const ours = fs.readlinkSync('/proc/self/ns/net');
  assert(fs.readlinkSync(`/proc/${appPid}/ns/net`) !== ours, `the app's network namespace differs from ours (${ours})`);
  assert(listeners(port, appPid).length > 0, `the app listens on ${port} in its namespace`);
  const appSockets = socketInodes(appPid);
  const here = listeners(port);
  assert(here.every((inode) => !appSockets.has(inode)), `no socket of the app listens on ${port} here`);
  if (runPid) {
    const runSockets = socketInodes(runPid);
    assert(here.length > 0 && here.every((inode) => runSockets.has(inode)), `crossguard holds the listener on ${port} here`);
  }
}

function connectRefused(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(5000, () => { socket.destroy(); resolve('timeout'); });
    socket.on('connect', () => { socket.destroy(); resolve('connected'); });
    socket.on('error', (error) => resolve(error.code));
  });
}

// ---------------------------------------------------------------------------------------------
// The attacking page for the demo and Vite: a text/plain form POST, a no-cors fetch POST and a
// WebSocket, each aimed at `target`.

const DEMO_ATTACK_PAGE = String.raw`<!doctype html>
<meta charset="utf-8"><title>attacker</title>
<body>
<script>
const target = new URLSearchParams(location.search).get('target');
window.attack = (async () => {
  const out = {};
  out.form = await new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.name = 'sink';
    document.body.append(frame);
    const form = document.createElement('form');
    form.method = 'POST'; form.enctype = 'text/plain'; form.target = 'sink';
    form.action = 'http://' + target + '/api/prompt';
    const input = document.createElement('input');
    input.name = '{"prompt":{"text":"form","x":"'; input.value = '"}}';
    form.append(input); document.body.append(form);
    frame.onload = () => resolve('submitted');
    setTimeout(() => resolve('timeout'), 10000);
    form.submit();
  });
  try {
    await fetch('http://' + target + '/api/prompt', { method: 'POST', mode: 'no-cors',
      headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ prompt: { text: 'no-cors' } }) });
    out.fetch = 'sent';
  } catch (e) { out.fetch = 'blocked'; }
  out.ws = await new Promise((resolve) => {
    const ws = new WebSocket('ws://' + target + '/ws');
    const timer = setTimeout(() => resolve('timeout'), 10000);
    ws.onerror = () => { clearTimeout(timer); resolve('error'); };
    ws.onopen = () => { clearTimeout(timer); resolve('open'); ws.close(); };
  });
  return out;
})();
</script>`;

function startAttacker() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const page = req.url.startsWith('/demo.html') ? DEMO_ATTACK_PAGE : req.url.startsWith('/attack.html') ? ATTACK_PAGE : null;
      if (!page) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(page);
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function attack(context, attacker, pageName, query) {
  const page = await context.newPage();
  try {
    await page.goto(`http://127.0.0.1:${attacker}/${pageName}?${query}`);
    return await page.evaluate(() => window.attack);
  } finally {
    await page.close();
  }
}

async function rebound(context, port, urlPath) {
  const page = await context.newPage();
  try {
    const response = await page.goto(`http://attacker.example:${port}${urlPath}`);
    return [response.status(), await response.text()];
  } finally {
    await page.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The demo (examples/demo.rs, a ComfyUI-like app), as root and as nobody.

async function demoScenarios(browser, attacker, user) {
  const port = await freePort();
  const run = await startRun(`run-demo-${user}`, user, { port, command: [staged.demo, '--listen', `127.0.0.1:${port}`] });
  const history = async () => JSON.parse((await request(port, { path: '/api/history' })).body);
  const context = await browser.newContext();
  context.setDefaultTimeout(30_000);
  try {
    await scenario(`demo ${user}: at its usual URL (http://localhost:${'PORT'}) a same-origin page posts a prompt and echoes over its WebSocket`, async () => {
      const before = (await history()).length;
      const page = await context.newPage();
      try {
        assertEqual((await page.goto(`http://localhost:${port}/`)).status(), 200, 'page status');
        const result = await page.evaluate(async () => {
          const r = await fetch('/api/prompt', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ prompt: { text: 'same-origin' } }) });
          const echoed = await new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws`);
            const timer = setTimeout(() => resolve('timeout'), 10000);
            ws.onopen = () => ws.send('ping through run');
            ws.onmessage = (event) => { clearTimeout(timer); resolve(String(event.data)); ws.close(); };
            ws.onerror = () => { clearTimeout(timer); resolve('error'); };
          });
          return { status: r.status, echoed };
        });
        assertEqual(result, { status: 200, echoed: 'ping through run' }, 'POST status and echo');
      } finally {
        await page.close();
      }
      assertEqual((await history()).length, before + 1, 'history length');
    });

    await scenario(`demo ${user}: a cross-site page's form POST, no-cors fetch and WebSocket are refused by crossguard; the app sees none of them`, async () => {
      const before = (await history()).length;
      const log = refusals(run).length;
      const result = await attack(context, attacker, 'demo.html', `target=localhost:${port}`);
      assertEqual(result.ws, 'error', 'WebSocket');
      await sleep(500);
      assertEqual((await history()).length, before, 'history length');
      const lines = refusals(run).slice(log);
      for (const expected of ['crossguard: refused POST /api/prompt: cross_site_request', 'crossguard: refused GET /ws: cross_site_websocket']) {
        assert(lines.includes(expected), `crossguard's log lacks "${expected}": ${JSON.stringify(lines)}`);
      }
      assertEqual(lines.filter((l) => l.includes('/api/prompt')).length, 2, `form and fetch refusals: ${JSON.stringify(lines)}`);
      // The demo logs every request its own guard refuses: none reached it.
      assertEqual(run.lines.filter((line) => line.startsWith('rejected: ')), [], "the app's own refusals");
    });

    await scenario(`demo ${user}: a DNS-rebinding Host is refused (403 host_not_allowed)`, async () => {
      assertEqual(await rebound(context, port, '/api/history'), [403, 'crossguard: host_not_allowed\n'], 'status and body');
    });

    await scenario(`demo ${user}: the app runs in its own network namespace, and only crossguard listens on ${'PORT'} here`, async () => {
      checkIsolated(findProcess(staged.demo), run.proc.pid, port);
    });
  } finally {
    await context.close();
    await stopProcess(run);
  }
}

// ---------------------------------------------------------------------------------------------
// Jupyter Server (root: its packages are root's), at its usual URL and with --listen elsewhere.

function jupyterArgs(rootDir, port, extra = []) {
  return [
    '-m', 'jupyter_server', '--allow-root', '--no-browser', '--port-retries=0',
    `--ServerApp.root_dir=${rootDir}`, '--IdentityProvider.token=', '--ServerApp.password=',
    '--ServerApp.disable_check_xsrf=True', '--ServerApp.allow_origin=*', ...(port ? ['--ip=127.0.0.1', `--port=${port}`] : []), ...extra,
  ];
}

function jupyterEnv(runtimeDir) {
  return { JUPYTER_RUNTIME_DIR: runtimeDir, JUPYTER_CONFIG_DIR: runtimeDir, JUPYTER_DATA_DIR: runtimeDir, JUPYTER_PLATFORM_DIRS: '1' };
}

async function kernel42(context, origin) {
  const page = await context.newPage();
  try {
    assertEqual((await page.goto(`${origin}/`)).status(), 200, 'Jupyter home page status');
    const result = await page.evaluate(runPrintInKernel);
    assertEqual(result.stdout, '42\n', `kernel output (${JSON.stringify(result)})`);
  } finally {
    await page.close();
  }
}

async function jupyterScenarios(browser, attacker, user) {
  const python = user === 'nobody' ? NOBODY_PYTHON : PYTHON;
  const context = await browser.newContext();
  context.setDefaultTimeout(60_000);
  try {
    if (user === 'root') {
      // The control: the same Jupyter, not isolated, on a port the page aims at.
      const controlDir = tempDir('crossguard-run-jupyter-control-');
      const controlPort = await freePort();
      const control = startProcess('jupyter-control', PYTHON, jupyterArgs(controlDir, controlPort), { cwd: controlDir, env: { ...process.env, ...jupyterEnv(tempDir('crossguard-run-jupyter-rt-')) } });
      await waitFor('Jupyter (control) to answer', async () => {
        if (control.exited) fail(`jupyter exited:\n${control.stderr.join('\n')}`);
        try {
          return (await request(controlPort, { path: '/api/status' })).status === 200;
        } catch {
          return false;
        }
      }, 60_000, 200);
      const knownControl = JSON.parse((await request(controlPort, { method: 'POST', path: '/api/kernels', body: '{}', headers: { 'Content-Type': 'application/json' } })).body).id;
      await scenario('jupyter control: not isolated, the cross-site page creates files and runs code over /channels', async () => {
        const result = await attack(context, attacker, 'attack.html', `target=localhost:${controlPort}&tag=control&kernel=${knownControl}`);
        assertEqual(result.put, 201, 'CORS PUT /api/contents status');
        assertEqual(result.ws, 'ran:ok', 'kernel WebSocket');
        assert(fs.existsSync(path.join(controlDir, 'control-put.txt')), 'control-put.txt created');
      });
      await stopProcess(control);
    }

    const rootDir = ownedDir(user, 'crossguard-run-jupyter-root-');
    const port = await freePort();
    const run = await startRun(`run-jupyter-${user}`, user, { port, command: [python, ...jupyterArgs(rootDir, port)], env: jupyterEnv(ownedDir(user, 'crossguard-run-jupyter-rt-')), cwd: rootDir });

    const awayDir = ownedDir(user, 'crossguard-run-jupyter-away-');
    const appPort = await freePort();
    const listenPort = await freePort();
    const away = await startRun(`run-jupyter-away-${user}`, user, { port: appPort, listen: `127.0.0.1:${listenPort}`, command: [python, ...jupyterArgs(awayDir, appPort)], env: jupyterEnv(ownedDir(user, 'crossguard-run-jupyter-rt-')), cwd: awayDir });

    await scenario(`jupyter ${user}: at its usual URL a same-origin page starts a kernel and reads 42 over its WebSocket`, async () => {
      await kernel42(context, `http://localhost:${port}`);
    });

    await scenario(`jupyter ${user}: the cross-site page at the usual URL creates nothing, runs nothing; a DNS-rebinding Host gets 403`, async () => {
      const before = listDir(rootDir);
      const result = await attack(context, attacker, 'attack.html', `target=localhost:${port}&tag=run&kernel=none`);
      assertEqual([result.put, result.ws], ['blocked', 'error'], 'CORS PUT and kernel WebSocket');
      await sleep(500);
      assertEqual(listDir(rootDir), before, 'files in the Jupyter root');
      assertEqual(await rebound(context, port, '/api/contents'), [403, 'crossguard: host_not_allowed\n'], 'rebinding');
      checkIsolated(findProcess(rootDir), run.proc.pid, port);
    });

    await scenario(`jupyter ${user} --listen elsewhere: the control attack aimed at the app's own port gets no connection`, async () => {
      const before = listDir(awayDir);
      const result = await attack(context, attacker, 'attack.html', `target=localhost:${appPort}&tag=away&kernel=none`);
      assertEqual([result.put, result.post, result.ws], ['blocked', 'blocked', 'error'], 'PUT, no-cors POST and WebSocket');
      assertEqual(await connectRefused(appPort), 'ECONNREFUSED', `a connection to 127.0.0.1:${appPort}`);
      assertEqual(listeners(appPort), [], `listeners on ${appPort} here`);
      assertEqual(listDir(awayDir), before, 'files in the Jupyter root');
      await kernel42(context, `http://localhost:${listenPort}`);
      checkIsolated(findProcess(awayDir), null, appPort);
    });
    await stopProcess(run);
    await stopProcess(away);
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Vite with HMR, as root and as nobody.

async function viteScenarios(browser, attacker, user) {
  const app = ownedDir(user, 'crossguard-run-vite-');
  for (const name of ['index.html', 'main.js', 'style.css', 'vite.config.mjs']) {
    fs.copyFileSync(path.join(HERE, 'vite-app', name), path.join(app, name));
  }
  // Vite and its dependencies, readable (and its cache writable) by the user.
  fs.cpSync(path.join(HERE, 'node_modules'), path.join(app, 'node_modules'), { recursive: true });
  if (user === 'nobody') spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, app]);
  const port = await freePort();
  const run = await startRun(`run-vite-${user}`, user, {
    port,
    command: [process.execPath, path.join(app, 'node_modules', 'vite', 'bin', 'vite.js'), app, '--config', path.join(app, 'vite.config.mjs'), '--port', String(port)],
    cwd: app,
  });
  const context = await browser.newContext();
  context.setDefaultTimeout(30_000);
  try {
    await scenario(`vite ${user}: the page loads at its usual URL and HMR (vite-hmr) delivers a CSS update over the guarded socket`, async () => {
      await checkViteHmr(browser, port, app, null);
    });
    await scenario(`vite ${user}: a cross-site page's HMR socket and POST are refused; a DNS-rebinding Host gets 403`, async () => {
      const log = refusals(run).length;
      const result = await attack(context, attacker, 'demo.html', `target=localhost:${port}`);
      assertEqual(result.ws, 'error', 'WebSocket');
      const lines = refusals(run).slice(log);
      for (const expected of ['crossguard: refused POST /api/prompt: cross_site_request', 'crossguard: refused GET /ws: cross_site_websocket']) {
        assert(lines.includes(expected), `crossguard's log lacks "${expected}": ${JSON.stringify(lines)}`);
      }
      assertEqual(await rebound(context, port, '/'), [403, 'crossguard: host_not_allowed\n'], 'rebinding');
      checkIsolated(findProcess(path.join(app, 'node_modules', 'vite', 'bin', 'vite.js')), run.proc.pid, port);
    });
  } finally {
    await context.close();
    await stopProcess(run);
  }
}

// ---------------------------------------------------------------------------------------------
// Jupyter on a Unix socket behind `crossguard proxy --upstream unix:`.

async function unixScenarios(browser) {
  const rootDir = tempDir('crossguard-run-jupyter-sock-root-');
  const sockDir = tempDir('crossguard-run-jupyter-sock-');
  const sock = path.join(sockDir, 'jupyter.sock');
  const jupyter = startProcess('jupyter-unix', PYTHON, jupyterArgs(rootDir, null, [`--ServerApp.sock=${sock}`]), { cwd: rootDir, env: { ...process.env, ...jupyterEnv(tempDir('crossguard-run-jupyter-rt-')) } });
  await waitFor("Jupyter's socket", () => {
    if (jupyter.exited) fail(`jupyter exited:\n${jupyter.stderr.join('\n')}`);
    return fs.existsSync(sock);
  }, 60_000, 100);
  const proxy = await startProxy('proxy-unix', `unix:${sock}`);
  const context = await browser.newContext();
  context.setDefaultTimeout(60_000);
  try {
    await scenario('unix: Jupyter on --ServerApp.sock behind proxy --upstream unix: runs a kernel (42) over its WebSocket', async () => {
      assertEqual(proxy.lines.find((l) => l.startsWith('crossguard proxy: listening')), `crossguard proxy: listening on http://127.0.0.1:${proxy.port}, forwarding to unix:${sock}`, 'banner');
      await kernel42(context, `http://localhost:${proxy.port}`);
    });
    await scenario("unix: the socket file is not reachable by other users (mode 0600, or in a 0700 directory)", async () => {
      const mode = fs.statSync(sock).mode & 0o777;
      const dirMode = fs.statSync(sockDir).mode & 0o777;
      assert(mode === 0o600 || dirMode === 0o700, `socket mode ${mode.toString(8)}, directory mode ${dirMode.toString(8)}`);
      console.log(`#   socket mode ${mode.toString(8)}, directory ${dirMode.toString(8)}`);
    });
    await scenario('unix: a cross-site WebSocket and a DNS-rebinding Host are refused through the unix: upstream', async () => {
      const handshake = await request(proxy.port, {
        path: '/api/kernels',
        headers: { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site', Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      assertEqual([handshake.status, handshake.body], [403, 'crossguard: cross_site_websocket\n'], 'handshake');
      assertEqual(await rebound(context, proxy.port, '/api/status'), [403, 'crossguard: host_not_allowed\n'], 'rebinding');
    });
  } finally {
    await context.close();
    await stopProcess(proxy);
    await stopProcess(jupyter);
  }
}

// ---------------------------------------------------------------------------------------------
// Egress: pip reaches PyPI from inside, unless --no-egress.

function runToEnd(user, args, { input, timeout = 120_000, env = {} } = {}) {
  const argv = asUser(user, [staged.bin, 'run', ...args]);
  const result = spawnSync(argv[0], argv.slice(1), { input, timeout, encoding: 'utf8', env: { ...process.env, ...env }, killSignal: 'SIGKILL' });
  return { status: result.status, stdout: result.stdout || '', stderr: result.stderr || '', error: result.error };
}

async function egressScenarios(user) {
  for (const egress of [[], ['--no-egress']]) {
    const blocked = egress.length > 0;
    await scenario(`egress ${user}: pip download --no-deps six==1.16.0 inside run ${blocked ? 'fails with --no-egress' : 'succeeds'}`, async () => {
      const dir = ownedDir(user, 'crossguard-run-pip-');
      const port = await freePort();
      const result = runToEnd(user, ['--port', String(port), ...egress, '--', SYSTEM_PYTHON, '-m', 'pip', 'download', '--no-deps', '--no-cache-dir', '--isolated',
        '--timeout', '15', '--retries', '0', '--dest', dir, 'six==1.16.0'], { env: { HOME: dir, PIP_FIND_LINKS: '', PIP_NO_INDEX: '' }, timeout: 150_000 });
      const files = listDir(dir);
      if (blocked) {
        assert(result.status !== 0 && result.status !== null, `status ${result.status} (stderr: ${result.stderr.slice(-500)})`);
        assertEqual(files, [], 'downloaded files');
      } else {
        assertEqual(result.status, 0, `status (stderr: ${result.stderr.slice(-800)})`);
        assertEqual(files, ['six-1.16.0-py2.py3-none-any.whl'], 'downloaded files');
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The lifecycle.

async function lifecycleScenarios(user) {
  await scenario(`lifecycle ${user}: SIGTERM to crossguard reaches the app; crossguard exits with its status (143) and leaves no process behind`, async () => {
    const port = await freePort();
    // A child the app leaves running, told apart by its argument.
    const marker = `300.${port}`;
    const run = await startRun(`run-term-${user}`, user, {
      port, command: ['sh', '-c', `sleep ${marker} & exec ${SYSTEM_PYTHON} -m http.server ${port} --bind 127.0.0.1`],
    });
    assertEqual((await request(port, { path: '/' })).status, 200, 'GET / through run');
    assert(findProcess(marker, true), 'the app started a child');
    process.kill(run.proc.pid, 'SIGTERM');
    await Promise.race([run.exit, sleep(15_000)]);
    assert(run.exited, 'crossguard exited');
    assertEqual(run.code, 143, 'exit status');
    await waitFor('no process left', () => !findProcess(marker, true) && !findProcess(String(port), true), 5000);
    assertEqual(await connectRefused(port), 'ECONNREFUSED', 'nothing listens any more');
  });

  await scenario(`lifecycle ${user}: SIGINT sent with kill reaches the app (Python's KeyboardInterrupt; exit 0)`, async () => {
    const port = await freePort();
    const run = await startRun(`run-int-${user}`, user, { port, command: [SYSTEM_PYTHON, '-m', 'http.server', String(port), '--bind', '127.0.0.1'] });
    process.kill(run.proc.pid, 'SIGINT');
    await Promise.race([run.exit, sleep(15_000)]);
    assertEqual([run.exited, run.code], [true, 0], 'exited, status');
    assert(run.lines.some((l) => l.includes('Keyboard interrupt received')), `the app saw SIGINT: ${JSON.stringify(run.lines)}`);
  });

  await scenario(`lifecycle ${user}: stdin, stdout and stderr pass through; an app that exits 3 makes crossguard exit 3`, async () => {
    const port = await freePort();
    const result = runToEnd(user, ['--port', String(port), '--', 'sh', '-c', 'read line; echo "got $line"; echo "to stderr" >&2; exit 3'], { input: 'hello\n', timeout: 30_000 });
    assertEqual(result.status, 3, `status (stderr: ${result.stderr})`);
    assertEqual(result.stdout, 'got hello\n', 'stdout');
    assert(result.stderr.startsWith('to stderr\n'), `stderr: ${JSON.stringify(result.stderr)}`);
  });

  await scenario(`lifecycle ${user}: an app that never listens meets --start-timeout: exit 1 with a message, nothing left`, async () => {
    const port = await freePort();
    const marker = `301.${port}`;
    const result = runToEnd(user, ['--port', String(port), '--start-timeout', '1', '--', 'sleep', marker], { timeout: 30_000 });
    assertEqual(result.status, 1, 'status');
    assert(result.stderr.includes(`crossguard: the app did not accept connections on 127.0.0.1:${port} within 1s (--start-timeout); stopping it`), `stderr: ${result.stderr}`);
    assert(!result.stdout.includes('listening on'), 'no banner');
    await waitFor('no process left', () => !findProcess(marker, true), 5000);
  });

  await scenario(`lifecycle ${user}: where namespaces cannot be made, exit 2 with the cause and the alternatives; the app never starts`, async () => {
    const dir = ownedDir(user, 'crossguard-run-nons-');
    const marker = path.join(dir, 'started');
    const port = await freePort();
    // root: in a user namespace of its own where network namespaces are capped at 0;
    // nobody: in a user namespace that maps none of its ids (it may create no other).
    const inner = `exec ${staged.bin} run --port ${port} -- touch ${marker}`;
    const argv = user === 'root'
      ? ['unshare', '--user', '--map-root-user', 'sh', '-c', `echo 0 > /proc/sys/user/max_net_namespaces && ${inner}`]
      : asUser(user, ['unshare', '--user', 'sh', '-c', inner]);
    const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
    assertEqual(result.status, 2, `status (stderr: ${result.stderr})`);
    assert(result.stderr.startsWith('crossguard: cannot isolate the app: making '), `stderr: ${result.stderr}`);
    assert(result.stderr.includes('The app was not started. Alternatives: '), `stderr: ${result.stderr}`);
    if (user === 'root') assert(result.stderr.includes('(user.max_net_namespaces=0)'), `the cause: ${result.stderr}`);
    assert(!fs.existsSync(marker), 'the app did not run');
  });
}

// ---------------------------------------------------------------------------------------------

const ONLY = process.env.E2E_ONLY || '';

async function main() {
  for (const file of [BIN, DEMO_BIN]) assert(fs.existsSync(file), `${file} is missing (scripts/test-run.sh builds it)`);
  assert(os.platform() === 'linux', 'crossguard run is Linux only');
  stage();
  const attackerServer = await startAttacker();
  const attacker = attackerServer.address().port;
  const chromiumProcess = await startChromium();
  const { browser } = chromiumProcess;
  console.log(`# ${browser.version()}, ${BIN}, users: ${USERS.join(', ')}`);
  try {
    if (!ONLY || ONLY === 'lifecycle') for (const user of USERS) await lifecycleScenarios(user);
    if (!ONLY || ONLY === 'demo') for (const user of USERS) await demoScenarios(browser, attacker, user);
    if (!ONLY || ONLY === 'vite') for (const user of USERS) await viteScenarios(browser, attacker, user);
    if (!ONLY || ONLY === 'jupyter') {
      for (const user of USERS) {
        if (user === 'nobody' && !NOBODY_PYTHON) console.log('# jupyter as nobody skipped: NOBODY_PYTHON is not set');
        else await jupyterScenarios(browser, attacker, user);
      }
    }
    if (!ONLY || ONLY === 'unix') await unixScenarios(browser);
    if (!ONLY || ONLY === 'egress') for (const user of USERS) await egressScenarios(user);
  } finally {
    await browser.close().catch(() => {});
    attackerServer.closeAllConnections();
    attackerServer.close();
  }
}

await runSuite('run e2e', main, SUITE_TIMEOUT_MS);
