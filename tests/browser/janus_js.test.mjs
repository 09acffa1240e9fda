// Unmodified janus.js (Debian's libjs-janus-gateway) in headless Chromium
// (playwright-core, Debian's /usr/bin/chromium) against a server on free
// loopback ports: connect, create a session, attach the echo plugin, send a
// message, receive its event, detach and destroy.
//
// The server is started through tests/integration/chorus_server.py (serve
// mode), so it gets the same checks as the integration tests: SIGTERM at the
// end, exit code 0, no sanitizer report. CHORUS_TARGET=janus runs the same
// test against Debian's Janus (then this script serves the page itself, as
// Janus has no static file server).
//
// janus.js reads the webrtc-adapter global `adapter` (only its browserDetails)
// at Janus.init: the page loads Debian's libjs-webrtc-adapter when installed;
// without it, a two-field shim stands in (see SHIM below).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const ARTIFACTS = process.env.CHORUS_ARTIFACTS || path.join(ROOT, 'tests', 'artifacts');
const TARGET = (process.env.CHORUS_TARGET || 'chorus').toLowerCase();
const PYTHON = process.env.CHORUS_PYTHON || '/usr/bin/python3';
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const JANUS_JS_CANDIDATES = [
  process.env.JANUS_JS,
  '/usr/share/javascript/janus-gateway/janus.js',
  '/usr/share/janus/demos/janus.js',
].filter(Boolean);
const ADAPTER_JS = process.env.ADAPTER_JS || '/usr/share/javascript/webrtc-adapter/adapter.js';
const WAIT_MS = 60000; // bound for any single wait, not a speed threshold

const CHROMIUM_ARGS = [
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

// Stand-in for webrtc-adapter when Debian's package is missing: janus.js only
// reads adapter.browserDetails.{browser,version}; this page runs in Chromium.
const SHIM = `window.adapter = { browserDetails: { browser: 'chrome',
  version: parseInt((navigator.userAgent.match(/Chrom(e|ium)\\/(\\d+)/) || [0, 0, 0])[2], 10) } };`;

const TEST_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>janus.js test</title>
<style>body{font:16px sans-serif;margin:2em} pre{background:#eee;padding:1em;white-space:pre-wrap}</style>
<script src="adapter.js"></script>
<script src="janus.js"></script>
</head><body>
<h1>janus.js &rarr; <span id="server"></span></h1>
<p id="status">starting</p>
<pre id="log"></pre>
<script>
const params = new URLSearchParams(location.search);
const log = (s) => { document.getElementById('log').textContent += s + '\\n'; };
const status = (s) => { document.getElementById('status').textContent = s; };
document.getElementById('server').textContent = params.get('server');
window.testResult = new Promise((resolve, reject) => {
  const fail = (what) => (err) => { status('FAILED: ' + what); log(what + ': ' + JSON.stringify(err));
                                    reject(new Error(what + ': ' + JSON.stringify(err))); };
  Janus.init({ debug: ['warn', 'error'], callback: () => {
    log('Janus.init done; WebRTC supported: ' + Janus.isWebrtcSupported());
    const janus = new Janus({
      server: params.get('server'),
      error: fail('session error'),
      success: () => {
        log('session ' + janus.getSessionId());
        janus.attach({
          plugin: params.get('plugin'),
          opaqueId: 'janus-js-test',
          error: fail('attach'),
          success: (handle) => {
            log('attached handle ' + handle.getId() + ' to ' + handle.getPlugin());
            const body = JSON.parse(params.get('body'));
            handle.send({ message: body, error: fail('send'),
                          success: () => log('message sent: ' + JSON.stringify(body)) });
          },
          onmessage: (msg, jsep) => {
            log('event: ' + JSON.stringify(msg));
            const sessionId = janus.getSessionId();
            // destroy() detaches the handle, then destroys the session.
            janus.destroy({
              success: () => { log('destroyed'); status('OK');
                               resolve({ msg, sessionId, destroyed: true }); },
              error: fail('destroy'),
            });
          },
        });
      },
    });
  } });
});
</script></body></html>
`;

function findJanusJs() {
  for (const p of JANUS_JS_CANDIDATES) if (fs.existsSync(p)) return p;
  throw new Error('janus.js not found (apt-get install libjs-janus-gateway), tried: ' +
                  JANUS_JS_CANDIDATES.join(', '));
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// Starts the server through the Python harness; resolves with its description.
function startServer(settings, name) {
  const args = [path.join(ROOT, 'tests', 'integration', 'chorus_server.py'), '--name', name];
  for (const [k, v] of Object.entries(settings)) args.push('--set', `${k}=${v}`);
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  lines.on('line', (l) => (waiters.length ? waiters.shift()(l) : queue.push(l)));
  child.on('exit', () => { while (waiters.length) waiters.shift()(null); });
  const nextLine = () => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    const t = setTimeout(() => reject(new Error('server helper said nothing')), WAIT_MS);
    waiters.push((l) => { clearTimeout(t); resolve(l); });
  });
  return nextLine().then((first) => {
    const info = first ? JSON.parse(first) : { ok: false, error: 'helper exited' };
    if (info.ok === false) throw new Error('server did not start: ' + info.error);
    info.stop = async () => {
      child.stdin.end();
      const last = await nextLine();
      const res = last ? JSON.parse(last) : { ok: false, error: 'helper exited silently' };
      assert.ok(res.ok, 'server stop: ' + res.error);
    };
    return info;
  });
}

// For CHORUS_TARGET=janus only: Janus has no static file server.
function serveFolder(dir) {
  const types = { '.html': 'text/html', '.js': 'application/javascript' };
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url, 'http://x').pathname) || 'index.html';
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'content-type': types[path.extname(name)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const cleanups = [];
after(async () => { for (const f of cleanups.reverse()) await f(); });

test('unmodified janus.js talks to the echo plugin', { timeout: 180000 }, async () => {
  const janusJs = findJanusJs();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-browser-'));
  cleanups.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));
  const htmlDir = path.join(tmp, 'html');
  fs.mkdirSync(htmlDir);
  fs.copyFileSync(janusJs, path.join(htmlDir, 'janus.js'));
  assert.equal(sha256(fs.readFileSync(path.join(htmlDir, 'janus.js'))),
               sha256(fs.readFileSync(janusJs)), 'janus.js must be served unmodified');
  if (fs.existsSync(ADAPTER_JS)) fs.copyFileSync(ADAPTER_JS, path.join(htmlDir, 'adapter.js'));
  else fs.writeFileSync(path.join(htmlDir, 'adapter.js'), SHIM);
  fs.writeFileSync(path.join(htmlDir, 'test.html'), TEST_PAGE);

  const srv = await startServer(TARGET === 'janus' ? {} : { 'transport.html_folder': htmlDir },
                                'browser-janus-js');
  let stopped = false;
  cleanups.push(async () => { if (!stopped) await srv.stop().catch(() => {}); });
  let base = srv.http_url;
  if (TARGET === 'janus') {
    const web = await serveFolder(htmlDir);
    cleanups.push(() => new Promise((r) => web.close(r)));
    base = `http://127.0.0.1:${web.address().port}`;
  }

  const userDataDir = fs.mkdtempSync(path.join(tmp, 'profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: WAIT_MS,
  });
  cleanups.push(() => context.close().catch(() => {}));
  const page = context.pages()[0] || await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

  const body = { audio: true, hello: 'world' };
  const url = `${base}/test.html?` + new URLSearchParams({
    server: `ws://127.0.0.1:${srv.ws_port}`, plugin: srv.echo_plugin, body: JSON.stringify(body),
  });
  const resp = await page.goto(url, { timeout: WAIT_MS });
  assert.equal(resp.status(), 200, 'test page served');
  // The janus.js the browser got is byte-for-byte Debian's.
  const served = await page.evaluate(async () => (await fetch('janus.js')).text());
  assert.equal(sha256(Buffer.from(served)), sha256(fs.readFileSync(janusJs)));

  let result;
  try {
    result = await page.evaluate(() => Promise.race([
      window.testResult,
      new Promise((_, rej) => setTimeout(() => rej(new Error('no result in 60 s')), 60000)),
    ]));
  } finally {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `browser-janus-js.${TARGET}.png`) });
    fs.writeFileSync(path.join(ARTIFACTS, `browser-janus-js.${TARGET}.console.log`),
                     consoleLines.join('\n') + '\n');
  }

  assert.ok(Number.isInteger(result.sessionId) && result.sessionId > 0, JSON.stringify(result));
  const msg = result.msg;
  if (TARGET === 'janus') {
    assert.equal(msg.echotest, 'event', JSON.stringify(msg));
    assert.equal(msg.result, 'ok', JSON.stringify(msg));
  } else {
    assert.equal(msg.echo, 'event', JSON.stringify(msg));
    assert.equal(msg.result, 'ok', JSON.stringify(msg));
    assert.equal(msg.body?.hello, 'world', JSON.stringify(msg));
  }
  assert.equal(result.destroyed, true);
  assert.equal(await page.locator('#status').textContent(), 'OK');

  await context.close();
  stopped = true;
  await srv.stop();
});
