// The RTCWeb Breaker with a real browser: headless Chromium running SIP.js
// (and JsSIP) with rtcweb-breaker=yes registers through the gateway to
// Kamailio and calls a SIPp phone that only speaks RTP/AVP PCMU and echoes RTP.
// Media crosses a real media-relay node: the browser receives its echo. And
// a SIP phone calls the registered breaker browser, which answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startHarness } from './lib/harness.mjs';
import { BrowserUA } from './lib/page-client.mjs';
import { startGateway, freePort, SOURCE_DIR } from './lib/gateway.mjs';

let h;
let gw;
before(async () => {
  gw = await startGateway({ mediaRelay: true });
  h = await startHarness({ extraArgs: ['--ignore-certificate-errors'] });
});
after(async () => {
  await h?.close();
  const code = await gw?.stop();
  assert.equal(code, 0, `signaling exit status (log: ${gw?.signalingLog})`);
});

async function startEchoPhone() {
  const port = await freePort();
  const mediaPort = (await freePort()) & ~1;
  const sipp = spawn('sipp', ['-sf', path.join(SOURCE_DIR, 'tests/integration/sipp/uas_echo.xml'),
    '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mediaPort),
    '-rtp_echo', '-m', '1', '-nostdin', '-timeout', '60s', '-timeout_error'],
  { stdio: 'ignore', detached: true });
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise((r) => sipp.once('exit', (code) => r(code)));
  return { uri: `sip:uas@127.0.0.1:${port}`, exited, kill: () => { try { process.kill(-sipp.pid, 'SIGKILL'); } catch {} } };
}

function metric(text, name, labels) {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const configs = {
  sipjs: (gwInfo, user) => ({ lib: 'sipjs', wsUri: gwInfo.wsUri, uri: `sip:${user}@${gwInfo.domain}`, password: 'secret',
    sipjsConfig: { contactParams: { 'rtcweb-breaker': 'yes' } } }),
  jssip: (gwInfo, user) => ({ lib: 'jssip', wsUri: gwInfo.wsUri, uri: `sip:${user}@${gwInfo.domain}`, password: 'secret',
    debug: process.env.E2E_DEBUG === '1',
    jssipConfig: { contact_uri: `sip:${user}x@${user}.invalid;transport=ws;rtcweb-breaker=yes` } }),
};

for (const lib of ['sipjs', 'jssip']) {
  test(`${lib}: a breaker call to an RTP/AVP PCMU phone carries audio both ways`, { timeout: 120000 }, async () => {
    const phone = await startEchoPhone();
    const page = await h.newPage();
    try {
      const ua = await BrowserUA.create(page, configs[lib](gw, `brk-${lib}`));
      await ua.register();
      const call = await ua.call(phone.uri);
      await call.waitState('established', { timeout: 30000 });
      let packets = 0;
      for (let i = 0; i < 60 && packets <= 100; i++) {
        await new Promise((r) => setTimeout(r, 250));
        packets = await call.inboundPackets();
      }
      assert.ok(packets > 100, `the browser received ${packets} audio packets back from the phone`);
      const relay = await gw.relayMetrics();
      assert.ok(metric(relay, 'webrtc2sip_media_packets_total', 'leg="legacy",direction="in"') > 50,
        'the phone sent RTP to the node');
      assert.ok(metric(relay, 'webrtc2sip_media_packets_total', 'leg="webrtc",direction="in"') > 50,
        'the browser sent SRTP to the node');
      await call.hangup();
      assert.equal(await phone.exited, 0, 'SIPp finished its scenario (INVITE, ACK, BYE)');
    } finally {
      phone.kill();
      await page.close();
    }
  });
}

// A SIP phone calls the breaker browser: the node's WebRTC offer reaches
// Chromium over its WebSocket flow, the browser answers, and the phone
// (SIPp with -rtp_echo) sends the browser's audio back to it.
async function startCallingPhone(user) {
  const port = await freePort();
  const mediaPort = (await freePort()) & ~1;
  const sipp = spawn('sipp', ['-sf', path.join(SOURCE_DIR, 'tests/integration/sipp/uac_call_echo.xml'),
    '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mediaPort),
    '-rtp_echo', '-s', user, '-m', '1', '-nostdin', '-timeout', '90s', '-timeout_error', gw.domain],
  { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => sipp.once('exit', (code) => r(code)));
  return { exited, kill: () => { try { process.kill(-sipp.pid, 'SIGKILL'); } catch {} } };
}

for (const lib of ['sipjs', 'jssip']) {
  test(`${lib}: a SIP phone calls the breaker browser, audio both ways`, { timeout: 120000 }, async () => {
    const page = await h.newPage();
    let phone;
    try {
      const user = `callee-${lib}`;
      const ua = await BrowserUA.create(page, configs[lib](gw, user));
      await ua.register();
      const before = await gw.relayMetrics();
      phone = await startCallingPhone(user);
      const call = await ua.waitIncoming({ timeoutMs: 30000 });
      await call.answer();
      await call.waitState('established', { timeout: 30000 });
      let packets = 0;
      for (let i = 0; i < 60 && packets <= 100; i++) {
        await new Promise((r) => setTimeout(r, 250));
        packets = await call.inboundPackets();
      }
      assert.ok(packets > 100, `the browser received ${packets} audio packets from the phone`);
      const relay = await gw.relayMetrics();
      const delta = (leg) => metric(relay, 'webrtc2sip_media_packets_total', `leg="${leg}",direction="in"`) -
        metric(before, 'webrtc2sip_media_packets_total', `leg="${leg}",direction="in"`);
      assert.ok(delta('webrtc') > 50, 'the browser sent SRTP to the node');
      assert.ok(delta('legacy') > 50, 'the phone sent RTP to the node');
      const signaling = await gw.metrics();
      assert.ok(metric(signaling, 'webrtc2sip_b2bua_media_flowing_seconds_count', 'direction="incoming"') >= 1,
        'signaling timed the incoming call until media flowed');
      await call.hangup();
      assert.equal(await phone.exited, 0, 'SIPp finished its scenario (INVITE, ACK, BYE from the browser)');
    } finally {
      phone?.kill();
      await page.close();
    }
  });
}
