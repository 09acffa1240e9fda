// Shared helpers for the browser tests that drive html/echo.html, html/js/chorus.js and
// janus.js in headless Chromium (playwright-core, Debian's /usr/bin/chromium).
//
//   startServer({name, settings, htmlDir})  a server on free loopback ports:
//       Chorus: `chorus --ws-port N --admin-port N --http-port N --set k=v ...`
//       (CHORUS_BIN, else CHORUS_BUILD/chorus, else <source>/chorus);
//       CHORUS_TARGET=janus: Debian's Janus (echotest + websockets, full trickle) and a
//       small static HTTP server for htmlDir, to check the tests themselves.
//     → {kind, wsUrl, adminUrl, httpUrl, echoPlugin, stop() → exit code (SIGTERM)}
//   launchBrowser(name, {args, dropArgs, viewport})  fresh profile, fake devices; console lines are collected.
//   writeToneWav(file, hz, {seconds, amplitude, rate})  a mono 16-bit PCM WAV of a sine tone
//       (for --use-file-for-fake-audio-capture, which loops it).
//   startTurn()            coturn on loopback with a static user.
//   waitFor(fn, what, ms)  polls an async predicate.
//   adminRequest(page, adminUrl, msg)  admin API request sent from the page.
//
// Every process started here is stopped by the test that started it; `cleanup` runs the
// registered undo steps in reverse order (use it in after()).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const HTML = path.join(ROOT, 'html');
export const ARTIFACTS = process.env.CHORUS_ARTIFACTS || path.join(ROOT, 'tests', 'artifacts');
export const TARGET = (process.env.CHORUS_TARGET || 'chorus').toLowerCase();
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const JANUS_JS = process.env.JANUS_JS || '/usr/share/javascript/janus-gateway/janus.js';
export const ADAPTER_JS = process.env.ADAPTER_JS || '/usr/share/javascript/webrtc-adapter/adapter.js';
export const WAIT_MS = 30000; // bound for one wait, not a speed threshold

export const CHROMIUM_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'ERROR: ThreadSanitizer',
  'WARNING: ThreadSanitizer', 'runtime error:'];

fs.mkdirSync(ARTIFACTS, { recursive: true });

// ---- undo steps
const undo = [];
export function onCleanup(fn) { undo.push(fn); }
export async function cleanup() {
  while (undo.length) {
    const fn = undo.pop();
    try { await fn(); } catch (e) { console.error('cleanup:', e.message); }
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Polls `fn` (async, returns a truthy value when done) until it holds; returns its value.
 * On timeout, throws with `what` and the last value seen (JSON). */
export async function waitFor(fn, what, ms = WAIT_MS, every = 250) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last && (typeof last !== 'object' || last.ok !== false)) return last;
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    }
    await sleep(every);
  }
}

/* Rejects when `promise` has not settled within ms. */
export function within(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what}: not done within ${ms} ms`)), ms);
  })]).finally(() => clearTimeout(t));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export function chorusBinary() {
  if (process.env.CHORUS_BIN) return path.resolve(process.env.CHORUS_BIN);
  const build = path.resolve(process.env.CHORUS_BUILD || ROOT);
  // The server is BUILD/chorus (src/chorus/ is the plugin ABI's header folder).
  return path.join(build, 'chorus');
}

// A child process with its output in ARTIFACTS/<name>.{stdout,stderr}.log.
function spawnLogged(cmd, args, name, opts = {}) {
  const out = path.join(ARTIFACTS, `${name}.stdout.log`);
  const err = path.join(ARTIFACTS, `${name}.stderr.log`);
  const child = spawn(cmd, args, {
    cwd: opts.cwd, env: Object.assign({}, process.env, opts.env || {}),
    stdio: ['ignore', fs.openSync(out, 'w'), fs.openSync(err, 'w')],
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.on('error', () => {});
  return { child, exited, out, err,
           log: () => (fs.existsSync(err) ? fs.readFileSync(err, 'utf8') : '') +
                      (fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '') };
}

/* Sends SIGTERM and waits (bounded) for the exit; returns {code, signal}; SIGKILL on hang. */
async function terminate(proc, ms = 10000) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill('SIGTERM');
  let timer; // cleared at once: a pending timer would keep node alive for ms after the tests
  const res = await Promise.race([proc.exited,
                                  new Promise((r) => { timer = setTimeout(() => r(null), ms); })]);
  clearTimeout(timer);
  if (res) return res;
  proc.child.kill('SIGKILL');
  const killed = await proc.exited;
  return Object.assign({ hung: true }, killed);
}

// Static files for CHORUS_TARGET=janus (Janus serves no HTML).
function serveFolder(dir) {
  const types = { '.html': 'text/html', '.js': 'application/javascript', '.css': 'text/css',
                  '.png': 'image/png', '.json': 'application/json' };
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(dir, rel);
    if (!file.startsWith(path.resolve(dir) + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404); res.end(); return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function janusConfig(dir, wsPort, adminPort) {
  const lib = '/usr/lib/x86_64-linux-gnu/janus';
  for (const sub of ['plugins', 'transports', 'conf', 'empty']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.symlinkSync(path.join(lib, 'plugins', 'libjanus_echotest.so'), path.join(dir, 'plugins', 'libjanus_echotest.so'));
  fs.symlinkSync(path.join(lib, 'transports', 'libjanus_websockets.so'), path.join(dir, 'transports', 'libjanus_websockets.so'));
  fs.writeFileSync(path.join(dir, 'conf', 'janus.jcfg'), `general: {
\tconfigs_folder = "${dir}/conf"
\tplugins_folder = "${dir}/plugins"
\ttransports_folder = "${dir}/transports"
\tevents_folder = "${dir}/empty"
\tloggers_folder = "${dir}/empty"
\tdebug_level = 4
\treclaim_session_timeout = 20
}
media: {}
nat: {
\tfull_trickle = true
\tnice_debug = false
}
plugins: {}
transports: {}
loggers: {}
events: {}
`);
  fs.writeFileSync(path.join(dir, 'conf', 'janus.transport.websockets.jcfg'),
    `general: {\n\tjson = "compact"\n\tws = true\n\tws_port = ${wsPort}\n\tws_ip = "127.0.0.1"\n\twss = false\n}\n` +
    `admin: {\n\tadmin_ws = true\n\tadmin_ws_port = ${adminPort}\n\tadmin_ws_ip = "127.0.0.1"\n\tadmin_wss = false\n}\n`);
  fs.writeFileSync(path.join(dir, 'conf', 'janus.plugin.echotest.jcfg'), 'general: {\n}\n');
  return ['-F', path.join(dir, 'conf'), '-C', path.join(dir, 'conf', 'janus.jcfg'), '-o', '-X', 'vmnet'];
}

/* Starts the server under test on free ports. `settings`: Chorus --set pairs (ignored for
 * Janus); `htmlDir`: the folder served over HTTP (default: the source tree's html/). */
export async function startServer({ name, settings = {}, htmlDir = HTML } = {}) {
  const [wsPort, adminPort, httpPort] = await freePorts(3);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-browser-srv-'));
  onCleanup(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let cmd;
  let args;
  if (TARGET === 'janus') {
    cmd = process.env.JANUS_BIN || '/usr/bin/janus';
    args = janusConfig(tmp, wsPort, adminPort);
  } else {
    cmd = chorusBinary();
    let isFile = false;
    try { isFile = fs.statSync(cmd).isFile(); } catch (e) { /* missing */ }
    if (!isFile) throw new Error(`chorus binary not found: ${cmd} (build it, or set CHORUS_BIN)`);
    args = ['--ws-port', String(wsPort), '--admin-port', String(adminPort), '--http-port', String(httpPort),
            '--set', `transport.html_folder=${htmlDir}`];
    for (const [k, v] of Object.entries(settings)) args.push('--set', `${k}=${v}`);
  }
  const logName = `${name}.${TARGET}`;
  const proc = spawnLogged(cmd, args, logName, {
    cwd: tmp, env: { ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0' },
  });
  let stopped = null;
  const srv = {
    kind: TARGET,
    command: [cmd, ...args].join(' '),
    wsPort, adminPort,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    adminUrl: `ws://127.0.0.1:${adminPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    echoPlugin: TARGET === 'janus' ? 'janus.plugin.echotest' : 'chorus.plugin.echo',
    logPath: proc.err,
    log: proc.log,
    pid: proc.child.pid,
    /* SIGTERM; resolves {code, signal, hung, sanitizer} once the process is gone. */
    stop: async () => {
      if (!stopped) {
        stopped = terminate(proc).then((r) => {
          const text = proc.log();
          const sanitizer = text.split('\n').find((l) => SANITIZER_MARKERS.some((m) => l.includes(m))) || null;
          return Object.assign({ sanitizer }, r);
        });
      }
      return stopped;
    },
  };
  onCleanup(() => srv.stop());
  const end = Date.now() + WAIT_MS;
  for (const port of [wsPort, adminPort].concat(TARGET === 'janus' ? [] : [httpPort])) {
    while (!(await portOpen(port))) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`${TARGET} exited before listening on ${port}: ${srv.command}\n${proc.log().slice(-3000)}`);
      }
      if (Date.now() > end) throw new Error(`${TARGET} did not listen on ${port}\n${proc.log().slice(-3000)}`);
      await sleep(50);
    }
  }
  if (TARGET === 'janus') {
    const web = await serveFolder(htmlDir);
    onCleanup(() => new Promise((r) => { web.closeAllConnections?.(); web.close(r); }));
    srv.httpUrl = `http://127.0.0.1:${web.address().port}`;
  }
  return srv;
}

/* Asserts-style check of a stop result: exit code 0 after SIGTERM, no sanitizer report. */
export function stopProblems(res) {
  const problems = [];
  if (res.hung) problems.push('did not exit within 10 s of SIGTERM');
  if (res.code !== 0) problems.push(`exit code ${res.code} (signal ${res.signal}) after SIGTERM`);
  if (res.sanitizer) problems.push(`sanitizer: ${res.sanitizer}`);
  return problems;
}

/* Chromium with a fresh profile and fake devices; one page; console lines collected.
 * opts.args: extra Chromium switches (e.g. --use-file-for-fake-audio-capture=FILE);
 * opts.dropArgs: switches of CHROMIUM_ARGS to leave out; opts.viewport (default 1280x1000). */
export async function launchBrowser(name, opts = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-browser-profile-'));
  onCleanup(() => fs.rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, timeout: WAIT_MS,
    args: CHROMIUM_ARGS.filter((a) => !(opts.dropArgs || []).includes(a)).concat(opts.args || []),
    viewport: opts.viewport || { width: 1280, height: 1000 },
  });
  let closed = false;
  const close = async () => { if (!closed) { closed = true; await context.close().catch(() => {}); } };
  onCleanup(close);
  const page = context.pages()[0] || await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const saveConsole = () => fs.writeFileSync(path.join(ARTIFACTS, `${name}.${TARGET}.console.log`),
                                             consoleLines.join('\n') + '\n');
  onCleanup(saveConsole);
  return { context, page, consoleLines, close, saveConsole };
}

/* One admin API request, sent over a WebSocket opened from the page
 * (subprotocol janus-admin-protocol); resolves with the reply. */
export function adminRequest(page, adminUrl, msg) {
  return page.evaluate(([url, m]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'janus-admin-protocol');
    const t = setTimeout(() => { ws.close(); reject(new Error('admin: no answer in 10 s')); }, 10000);
    const transaction = 'adm' + Math.random().toString(36).slice(2);
    ws.onerror = () => { clearTimeout(t); reject(new Error('admin WebSocket failed: ' + url)); };
    ws.onopen = () => ws.send(JSON.stringify(Object.assign({ transaction }, m)));
    ws.onmessage = (ev) => {
      const reply = JSON.parse(ev.data);
      if (reply.transaction !== transaction) return;
      clearTimeout(t);
      ws.close();
      resolve(reply);
    };
  }), [adminUrl, msg]);
}

/* coturn on 127.0.0.1 with a static long-term user; → {port, url, username, credential, stop}. */
export async function startTurn(name = 'turn') {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-turn-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [minPort, maxPort] = [50000 + (port % 5000) * 2, 50000 + (port % 5000) * 2 + 40];
  const args = ['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    '--user=chorus:secret', '--realm=chorus', '--lt-cred-mech', '--no-tls', '--no-dtls',
    '--allow-loopback-peers', '--no-cli', '--cli-password=unused', `--min-port=${minPort}`,
    `--max-port=${maxPort}`, `--userdb=${path.join(dir, 'turndb')}`, `--pidfile=${path.join(dir, 'pid')}`,
    '--log-file=stdout', '--simple-log', '--verbose', '--no-software-attribute'];
  const proc = spawnLogged('/usr/bin/turnserver', args, `${name}.coturn`, { cwd: dir });
  const stop = () => terminate(proc, 5000);
  onCleanup(stop);
  // coturn listens on UDP (and TCP) 127.0.0.1:port; the TCP listener tells us it is up.
  await waitFor(async () => {
    if (proc.child.exitCode !== null) throw new Error('turnserver exited: ' + proc.log().slice(-2000));
    return portOpen(port);
  }, 'turnserver to listen', 10000, 100);
  return { port, url: `turn:127.0.0.1:${port}`, username: 'chorus', credential: 'secret', stop, log: proc.log };
}

export function screenshot(page, file) {
  return page.screenshot({ path: path.join(ARTIFACTS, file), fullPage: true });
}

/* A mono 16-bit PCM WAV holding a sine tone; a whole number of cycles so the loop that
 * Chromium's fake capture makes of it has no click. Returns the path. */
export function writeToneWav(file, hz, { seconds = 3, amplitude = 0.5, rate = 48000 } = {}) {
  const n = Math.round(Math.round(hz * seconds) * rate / hz);
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    buf.writeInt16LE(Math.round(32767 * amplitude * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  }
  fs.writeFileSync(file, buf);
  return file;
}
