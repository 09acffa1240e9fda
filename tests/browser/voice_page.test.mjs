// html/voice.html (on the voice helper of html/js/chorus-voice.js) in headless Chromium against
// chorus.plugin.voice. Three participants, each in its own Chromium whose fake microphone
// plays its own tone (300, 500, 700 Hz WAVs written at test time), join a channel from the
// page's DOM and:
//   - hear the two others: inbound audio packets and rising totalAudioEnergy per slot, and
//     each tone's frequency (±30 Hz) from a WebAudio analyser on the played slot track of
//     the right participant;
//   - see a speaker's speaking indicator light up, a mute (and the muted stream go silent),
//     a moderator's server mute, and a switch of channel in both channels' lists;
//   - keep the call through a dropped WebSocket (reconnect with claim, same session id,
//     packets keep rising);
// plus the page's messages for a refused microphone, a wrong PIN (444) and a full channel
// (445), listen-only joining and a kick. Screenshots: tests/artifacts/voice-desktop.png
// (1280x800) and voice-phone.png (390x844).
//
//   cd tests/browser && node --test voice_page.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  TARGET, startServer, stopProblems, launchBrowser, waitFor, within, cleanup, onCleanup,
  writeToneWav, sleep, ARTIFACTS,
} from './lib.mjs';

const SECRET = 'lobby-moderator-secret';
const PIN = '4242';
const FREQ_TOL = 30;       // Hz
const WAIT = 20000;        // bound for one wait

const skip = TARGET !== 'chorus' ? 'chorus.plugin.voice is Chorus-only' : false;

let tmp;
let srv;
const people = [
  { name: 'Alice', hz: 300 },
  { name: 'Bob', hz: 500 },
  { name: 'Carol', hz: 700 },
];
const byName = (n) => people.find((p) => p.name === n);

after(cleanup);

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-voice-page-'));
  onCleanup(() => fs.rmSync(tmp, { recursive: true, force: true }));
  fs.writeFileSync(path.join(tmp, 'chorus.plugin.voice.conf'), [
    '[general]', 'max_slots = 4', '',
    '[channel lobby]', 'description = Where everyone hangs out', `secret = ${SECRET}`, '',
    '[channel gaming]', 'description = Games night', '',
    '[channel vip]', 'description = PIN only', `pin = ${PIN}`, '',
    '[channel tiny]', 'description = Room for one', 'max_participants = 1', '',
  ].join('\n'));
  srv = await startServer({ name: 'browser-voice-page', settings: { 'general.configs_folder': tmp } });
});

const pageUrl = () => `${srv.httpUrl}/voice.html?` +
  new URLSearchParams({ server: srv.wsUrl, processing: '0', poll: '1000' });

async function openPerson(p, extraArgs = []) {
  const wav = writeToneWav(path.join(tmp, `${p.name}.wav`), p.hz, { seconds: 4 });
  const b = await launchBrowser(`browser-voice-${p.name.toLowerCase()}`, {
    args: [`--use-file-for-fake-audio-capture=${wav}`, ...extraArgs], viewport: { width: 1280, height: 800 },
  });
  Object.assign(p, b);
  const resp = await p.page.goto(pageUrl(), { timeout: WAIT });
  assert.equal(resp.status(), 200, 'voice.html is served');
  await waitFor(() => p.page.evaluate(() => document.querySelectorAll('.vchannel').length >= 4),
                `${p.name}: the channel list`, WAIT);
}

const state = (p) => p.page.evaluate(() => window.voiceTest.state());

// Clicks a channel in the sidebar (join when in none, else switch).
async function clickChannel(p, channel) {
  await p.page.locator(`.vchannel[data-channel="${channel}"] .vch-row`).click();
}

async function joinByDom(p, channel) {
  await p.page.fill('#display', p.name);
  await clickChannel(p, channel);
  const st = await waitFor(async () => {
    const s = await state(p);
    return s.channel === channel && s.pc === 'connected' ? s : { ok: false, s };
  }, `${p.name} to join ${channel}`, WAIT);
  p.id = st.id;
  return st;
}

// What a participant receives, by the sender's name: slot, packets, energy, frequency.
async function hearing(p) {
  const r = await p.page.evaluate(async () => {
    const s = await window.voiceTest.stats();
    const st = window.voiceTest.state();
    const spectra = window.voiceTest.spectra();
    const by = {};
    for (const q of st.participants) {
      if (q.id === st.id) continue;
      const x = s && s.byParticipant[q.id];
      const f = spectra[q.id];
      by[q.display] = {
        id: q.id, slot: x ? x.mid : null, packets: x ? x.packetsReceived : 0,
        energy: x ? x.totalAudioEnergy || 0 : 0, hz: f ? f.hz : null, db: f ? f.db : null,
      };
    }
    const slots = {};
    for (const [mid, x] of Object.entries((s && s.slots) || {})) {
      slots[mid] = { participant: x.participant, packets: x.packetsReceived || 0, energy: x.totalAudioEnergy || 0 };
    }
    return { by, slots, stats: s ? { rtt: s.rtt, loss: s.inboundLossPercent } : null };
  });
  return r;
}

// DOM of the tile showing participant `name` in p's page.
const tileOf = (p, name) => p.page.evaluate((n) => {
  const t = [...document.querySelectorAll('.vtile')].find((x) => x.dataset.display === n);
  if (!t) return null;
  const shown = (sel) => getComputedStyle(t.querySelector(sel)).display !== 'none';
  return {
    speaking: t.dataset.speaking === 'true', muted: t.dataset.muted === 'true',
    serverMuted: t.dataset.serverMuted === 'true', deafened: t.dataset.deafened === 'true',
    mutedIcon: shown('.i-muted'), serverIcon: shown('.i-server'), deafIcon: shown('.i-deaf'),
    ring: getComputedStyle(t).borderTopColor,
  };
}, name);

// Names listed under a channel in p's sidebar.
const sidebar = (p, channel) => p.page.evaluate((c) => {
  const li = document.querySelector(`.vchannel[data-channel="${c}"]`);
  if (!li) return null;
  return { count: li.dataset.count, names: [...li.querySelectorAll('.vmembers .vm-name')].map((x) => x.textContent).sort() };
}, channel);

const others = (p) => people.filter((q) => q !== p);

test('voice.html: three participants hear each other (packets, energy, tone per slot)', { skip, timeout: 60000 }, async () => {
  await Promise.all(people.map((p) => openPerson(p)));
  for (const p of people) await joinByDom(p, 'lobby');

  // Everyone lists the three, and carries the two others in slots.
  for (const p of people) {
    const s = await waitFor(async () => {
      const st = await state(p);
      const inSlots = Object.values(st.slots).filter((x) => x != null).length;
      return st.participants.length === 3 && inSlots === 2 ? st : { ok: false, st };
    }, `${p.name}: 3 participants, 2 slots filled`, WAIT);
    const ids = s.participants.map((x) => x.display).sort();
    assert.deepEqual(ids, ['Alice', 'Bob', 'Carol']);
    assert.equal(await p.page.locator('.vtile').count(), 3, `${p.name}: three tiles`);
  }

  // Each hears the two others: packets, rising energy, and the right tone on the right slot.
  for (const p of people) {
    const first = await waitFor(async () => {
      const h = await hearing(p);
      const good = others(p).every((q) => {
        const x = h.by[q.name];
        return x && x.packets > 50 && x.energy > 0 && x.hz != null && Math.abs(x.hz - q.hz) <= FREQ_TOL && x.db > -60;
      });
      return good ? h : { ok: false, h };
    }, `${p.name} hears ${others(p).map((q) => q.name + ' at ' + q.hz + ' Hz').join(' and ')}`, WAIT);
    await sleep(1000);
    const second = await hearing(p);
    for (const q of others(p)) {
      const a = first.by[q.name];
      const b = second.by[q.name];
      assert.ok(b.packets > a.packets, `${p.name} ← ${q.name}: packets rise ${a.packets} → ${b.packets}`);
      assert.ok(b.energy > a.energy, `${p.name} ← ${q.name}: energy rises ${a.energy} → ${b.energy}`);
      assert.ok(Math.abs(b.hz - q.hz) <= FREQ_TOL, `${p.name} ← ${q.name}: ${b.hz} Hz, expected ${q.hz}`);
      assert.equal(a.slot, b.slot, `${p.name} ← ${q.name}: the slot stays`);
    }
    p.heard = second;
  }
});

test('voice.html: speaking indicators, mute, server mute and switching channel show in the DOM', { skip, timeout: 60000 }, async () => {
  const [alice, bob, carol] = people;
  // Everyone plays a tone: everyone's speaking indicator is lit everywhere.
  for (const p of people) {
    for (const q of people) {
      await waitFor(async () => (await tileOf(p, q.name))?.speaking, `${q.name} lit as speaking in ${p.name}'s page`, WAIT);
    }
  }
  // Alice's microphone goes silent (a local gate: silence is sent): her indicator goes
  // out in the others' pages while Bob's stays lit; her tone back: it lights up again.
  await alice.page.evaluate(() => window.voiceTest.setMicEnabled(false));
  for (const p of [bob, carol]) {
    await waitFor(async () => (await tileOf(p, 'Alice'))?.speaking === false, `Alice unlit in ${p.name}'s page`, WAIT);
  }
  assert.equal((await tileOf(carol, 'Bob')).speaking, true, 'Bob still speaking');
  await alice.page.evaluate(() => window.voiceTest.setMicEnabled(true));
  for (const p of [bob, carol]) {
    // The ring fades in (a CSS transition): wait for its colour, not just the flag.
    const t = await waitFor(async () => {
      const x = await tileOf(p, 'Alice');
      return x?.speaking && x.ring !== 'rgba(0, 0, 0, 0)' ? x : null;
    }, `Alice lit again, with a coloured ring, in ${p.name}'s page`, WAIT);
    assert.notEqual(t.ring, 'rgba(0, 0, 0, 0)', 'a speaking tile has a coloured ring');
  }
  const sidebarSpeaking = await bob.page.evaluate((id) =>
    document.querySelector(`.vchannel.current .vmembers li[data-id="${id}"]`)?.dataset.speaking, alice.id);
  assert.equal(sidebarSpeaking, 'true', 'the sidebar lights Alice too');

  // Bob mutes with his button: the others see it, and his stream goes silent for them.
  await bob.page.click('#muteBtn');
  for (const p of [alice, carol]) {
    const t = await waitFor(async () => { const x = await tileOf(p, 'Bob'); return x?.muted ? x : null; },
                            `Bob shown muted in ${p.name}'s page`, WAIT);
    assert.ok(t.mutedIcon, 'the muted icon is visible');
    assert.equal(t.speaking, false, 'a muted participant is not speaking');
  }
  assert.equal(await bob.page.getAttribute('#muteBtn', 'aria-pressed'), 'true');
  // Bob's former slot at Alice: no more packets, no more energy; Carol's keeps rising.
  const bobSlot = alice.heard.by.Bob.slot;
  const carolSlot = alice.heard.by.Carol.slot;
  await sleep(1000);
  const m0 = await hearing(alice);
  await sleep(1500);
  const m1 = await hearing(alice);
  const e = (h, mid) => h.slots[mid] || { packets: 0, energy: 0 };
  assert.ok(e(m1, bobSlot).energy - e(m0, bobSlot).energy < 0.001,
            `Bob's stream is silent at Alice once muted: ${JSON.stringify([e(m0, bobSlot), e(m1, bobSlot)])}`);
  assert.equal(e(m1, bobSlot).packets, e(m0, bobSlot).packets, 'no packets on Bob\'s former slot');
  assert.ok(e(m1, carolSlot).energy > e(m0, carolSlot).energy + 0.01, 'Carol is still heard');
  assert.equal(m1.by.Bob.slot, null, 'Bob has no slot while muted');
  // Unmute: Bob is heard again (maybe on another slot), at his frequency.
  await bob.page.click('#muteBtn');
  await waitFor(async () => {
    const h = await hearing(alice);
    const b = h.by.Bob;
    return b.slot && b.hz != null && Math.abs(b.hz - bob.hz) <= FREQ_TOL && b.db > -60 ? h : { ok: false, b };
  }, 'Alice hears Bob again after his unmute', WAIT);
  assert.equal((await tileOf(carol, 'Bob')).muted, false);

  // Moderation: Carol enters the lobby's secret, server-mutes Bob, and undoes it.
  await carol.page.fill('#secret', SECRET);
  const modButton = carol.page.locator(`.vtile[data-display="Bob"] .mod-mute`);
  await modButton.click();
  for (const p of people) {
    await waitFor(async () => (await tileOf(p, 'Bob'))?.serverMuted, `Bob server-muted in ${p.name}'s page`, WAIT);
  }
  assert.ok((await tileOf(alice, 'Bob')).serverIcon, 'the moderator icon shows');
  assert.equal(await bob.page.isDisabled('#muteBtn'), true, 'Bob cannot unmute himself');
  await modButton.click();
  await waitFor(async () => (await tileOf(alice, 'Bob'))?.serverMuted === false, 'Bob server-unmuted', WAIT);
  await waitFor(async () => !(await bob.page.isDisabled('#muteBtn')), 'Bob may unmute again', WAIT);

  // Carol switches to "gaming": both channels' lists follow in every page.
  await clickChannel(carol, 'gaming');
  await waitFor(async () => (await state(carol)).channel === 'gaming', 'Carol in gaming', WAIT);
  for (const p of people) {
    await waitFor(async () => {
      const lobby = await sidebar(p, 'lobby');
      const gaming = await sidebar(p, 'gaming');
      return JSON.stringify(lobby.names) === '["Alice","Bob"]' && JSON.stringify(gaming.names) === '["Carol"]' &&
        lobby.count === '2' && gaming.count === '1' ? true : { ok: false, lobby, gaming };
    }, `${p.name}'s sidebar: lobby Alice+Bob, gaming Carol`, WAIT);
  }
  assert.equal(await carol.page.locator('.vtile').count(), 1, 'Carol alone in gaming');
  await waitFor(async () => (await alice.page.locator('.vtile').count()) === 2, 'Alice sees two tiles', WAIT);
  assert.equal(await carol.page.textContent('#channelTitle'), 'gaming');
  // ... and back (the same PeerConnection): Carol is heard in the lobby again.
  await clickChannel(carol, 'lobby');
  await waitFor(async () => {
    const h = await hearing(alice);
    const c = h.by.Carol;
    return c && c.slot && c.hz != null && Math.abs(c.hz - carol.hz) <= FREQ_TOL && c.db > -60 ? true : { ok: false, c };
  }, 'Alice hears Carol after her switch back', WAIT);
  for (const p of people) {
    await waitFor(async () => JSON.stringify((await sidebar(p, 'lobby')).names) === '["Alice","Bob","Carol"]',
                  `${p.name}'s sidebar: lobby has all three`, WAIT);
  }
});

test('voice.html: a dropped WebSocket is reclaimed and the call goes on', { skip, timeout: 60000 }, async () => {
  const [alice, bob] = people;
  const before = await state(alice);
  const h0 = await hearing(alice);
  const b0 = await hearing(bob);
  await alice.page.evaluate(() => window.voiceTest.dropSocket());
  await waitFor(async () => {
    const ev = await alice.page.evaluate(() => window.voiceTest.events.join('\n'));
    return /signalling lost/.test(ev) && /claimed/.test(ev);
  }, 'Alice: socket lost, then session claimed', WAIT);
  const after = await waitFor(async () => {
    const s = await state(alice);
    return s.session.state === 'connected' ? s : { ok: false, s };
  }, 'Alice reconnected', WAIT);
  assert.equal(after.session.id, before.session.id, 'the same session');
  assert.equal(after.channel, 'lobby');
  assert.equal(after.id, before.id, 'the same participant');
  // Audio keeps flowing both ways after the reconnect.
  await waitFor(async () => {
    const h = await hearing(alice);
    return ['Bob', 'Carol'].every((n) => h.by[n] && h.by[n].packets > h0.by[n].packets + 50 &&
                                         h.by[n].energy > h0.by[n].energy) ? h : { ok: false, h };
  }, 'Alice still receives Bob and Carol', WAIT);
  await waitFor(async () => {
    const h = await hearing(bob);
    return h.by.Alice.packets > b0.by.Alice.packets + 50 && Math.abs(h.by.Alice.hz - alice.hz) <= FREQ_TOL;
  }, 'Bob still hears Alice', WAIT);
  // Signalling works on the new socket: Alice deafens, the others see it, she undeafens.
  await alice.page.click('#deafenBtn');
  await waitFor(async () => (await tileOf(bob, 'Alice'))?.deafened, 'Alice shown deafened at Bob', WAIT);
  const t = await tileOf(bob, 'Alice');
  assert.ok(t.deafIcon && t.muted, 'deafened (and muted, as in Discord)');
  await alice.page.click('#deafenBtn');
  await waitFor(async () => { const x = await tileOf(bob, 'Alice'); return x && !x.deafened && !x.muted; },
                'Alice undeafened and unmuted at Bob', WAIT);
  const quality = await alice.page.textContent('#qualityText');
  assert.match(quality, /RTT \d+ ms · loss \d+\.\d %/, 'the quality line shows RTT and loss');
});

test('voice.html: screenshots at desktop and phone size', { skip, timeout: 60000 }, async () => {
  const [alice, bob, carol] = people;
  // For the picture: Carol muted, Alice and Bob speaking; no focus ring, no hover.
  await carol.page.click('#muteBtn');
  await waitFor(async () => (await tileOf(alice, 'Carol'))?.muted, 'Carol shown muted at Alice', WAIT);
  for (const p of [alice, bob]) {
    await waitFor(async () => (await tileOf(alice, p.name))?.speaking, `${p.name} lit in Alice's page`, WAIT);
  }
  await alice.page.fill('#secret', '');
  await alice.page.evaluate(() => document.activeElement && document.activeElement.blur());
  await alice.page.mouse.move(1270, 790);
  await alice.page.setViewportSize({ width: 1280, height: 800 });
  await sleep(1200); // a stats round for the quality line and tile bitrates
  await alice.page.screenshot({ path: path.join(ARTIFACTS, 'voice-desktop.png') });
  await alice.page.setViewportSize({ width: 390, height: 844 });
  await sleep(500);
  // What a phone shows (the user bar sticks to the bottom of the screen).
  await alice.page.screenshot({ path: path.join(ARTIFACTS, 'voice-phone.png') });
  const layout = await alice.page.evaluate(() => {
    const r = (s) => document.querySelector(s).getBoundingClientRect();
    return { overflow: document.documentElement.scrollWidth - window.innerWidth, tiles: r('#tiles').right,
             mute: r('#muteBtn').right, deafen: r('#deafenBtn').right, leave: r('#leaveBtn').right,
             user: r('#userPanel').bottom, firstTile: r('.vtile').top };
  });
  assert.ok(layout.overflow <= 0, `no horizontal scrolling at phone size: ${JSON.stringify(layout)}`);
  assert.ok(Math.max(layout.tiles, layout.mute, layout.deafen, layout.leave) <= 390, JSON.stringify(layout));
  assert.ok(layout.user <= 844 + 1 && layout.firstTile < 400, `the call is on screen: ${JSON.stringify(layout)}`);
  await alice.page.setViewportSize({ width: 1280, height: 800 });
  await carol.page.click('#muteBtn');
  await waitFor(async () => (await tileOf(alice, 'Carol'))?.muted === false, 'Carol unmuted', WAIT);
});

test('voice.html: refused microphone, wrong PIN, full channel, listen-only, kick', { skip, timeout: 60000 }, async () => {
  const [alice, bob] = people;
  // Dave's Chromium has no fake permission UI: getUserMedia is refused (NotAllowedError).
  const dave = { name: 'Dave', hz: 900 };
  const wav = writeToneWav(path.join(tmp, 'Dave.wav'), dave.hz);
  Object.assign(dave, await launchBrowser('browser-voice-dave', {
    viewport: { width: 1280, height: 800 }, dropArgs: ['--use-fake-ui-for-media-stream'],
    args: [`--use-file-for-fake-audio-capture=${wav}`],
  }));
  await dave.page.goto(pageUrl(), { timeout: WAIT });
  await waitFor(() => dave.page.evaluate(() => document.querySelectorAll('.vchannel').length >= 4), 'Dave: channels', WAIT);
  await dave.page.fill('#display', 'Dave');

  // The refused microphone: a clear message and a way to join listen-only.
  await clickChannel(dave, 'lobby');
  await waitFor(async () => (await dave.page.getAttribute('#notice', 'data-code')) === 'NotAllowedError',
                'the refused-microphone notice', WAIT);
  assert.match(await dave.page.textContent('#noticeText'), /Microphone access was refused/);
  assert.equal(await dave.page.isVisible('#listenOnly'), true);
  await dave.page.click('#listenOnly');
  await waitFor(async () => { const s = await state(dave); return s.channel === 'lobby' && s.pc === 'connected'; },
                'Dave joined listen-only', WAIT);
  assert.equal(await dave.page.isDisabled('#muteBtn'), true, 'nothing to mute when listening only');
  await waitFor(async () => {
    const h = await hearing(dave);
    return people.every((q) => h.by[q.name] && h.by[q.name].packets > 20 && Math.abs(h.by[q.name].hz - q.hz) <= FREQ_TOL)
      ? true : { ok: false, h };
  }, 'Dave hears the three', WAIT);

  // Wrong PIN: a dialog asks for it; a wrong one says so (444) and asks again; the right one
  // gets Dave in (a switch on the same connection).
  await clickChannel(dave, 'vip');
  await dave.page.waitForSelector('#pinDialog[open]', { timeout: WAIT });
  await dave.page.fill('#pinInput', '0000');
  await dave.page.click('#pinOk');
  await dave.page.waitForSelector('#pinDialog[open] #pinError:not([hidden])', { timeout: WAIT });
  assert.equal(await dave.page.getAttribute('#notice', 'data-code'), '444');
  assert.match(await dave.page.textContent('#noticeText'), /Wrong PIN for vip/);
  await dave.page.fill('#pinInput', PIN);
  await dave.page.click('#pinOk');
  await waitFor(async () => (await state(dave)).channel === 'vip', 'Dave in vip with the right PIN', WAIT);
  assert.equal(await dave.page.isVisible('#notice'), false, 'the notice is gone');

  // Full channel (445): someone (a listen-only client of the page's library) is in "tiny".
  await dave.page.evaluate(async (url) => {
    const v = await Chorus.voice(url);
    await v.join('tiny', { display: 'Occupant', listenOnly: true });
    window.occupant = v;
  }, srv.wsUrl);
  await waitFor(async () => (await sidebar(dave, 'tiny'))?.count === '1', 'tiny shows 1/1', WAIT);
  await clickChannel(dave, 'tiny');
  await waitFor(async () => (await dave.page.getAttribute('#notice', 'data-code')) === '445', 'the full-channel notice', WAIT);
  assert.match(await dave.page.textContent('#noticeText'), /tiny is full/);
  assert.equal((await state(dave)).channel, 'vip', 'still in vip');
  await dave.page.evaluate(() => window.occupant.close());

  await clickChannel(dave, 'lobby');
  await waitFor(async () => (await state(dave)).channel === 'lobby', 'Dave back in the lobby', WAIT);
  await waitFor(async () => (await tileOf(alice, 'Dave')) != null, 'Dave\'s tile at Alice', WAIT);

  // A moderator (Bob, with the lobby's secret) kicks Dave: Dave is told, the others' lists drop him.
  await bob.page.fill('#secret', SECRET);
  await bob.page.locator('.vtile[data-display="Dave"] .mod-kick').click();
  await waitFor(async () => (await dave.page.getAttribute('#notice', 'data-code')) === 'kicked', 'Dave told he was kicked', WAIT);
  assert.match(await dave.page.textContent('#noticeText'), /removed you from lobby/);
  for (const p of people) {
    await waitFor(async () => (await tileOf(p, 'Dave')) == null, `Dave's tile gone at ${p.name}`, WAIT);
  }
  assert.equal((await state(dave)).channel, null);
  await bob.page.fill('#secret', '');
  await dave.close();
});

test('voice.html: the server stops cleanly', { skip, timeout: 30000 }, async () => {
  for (const p of people) {
    if (p.page) await within(p.page.evaluate(() => window.voiceTest.leave()), 10000, `${p.name} leaves`);
    if (p.saveConsole) p.saveConsole();
    if (p.close) await p.close();
  }
  const res = await srv.stop();
  assert.deepEqual(stopProblems(res), [], `server stop (log ${srv.logPath}):\n${srv.log().slice(-3000)}`);
});
