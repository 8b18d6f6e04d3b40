// Self-test of the browser harness (node --test): loopback media through the
// SDP candidate rewrite, and each SIP library against the fake SIP server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from './lib/harness.mjs';
import { BrowserUA } from './lib/page-client.mjs';
import { startFakeSipServer } from './lib/fake-sip-server.mjs';
import { webrtcAudioOffer } from './lib/sdp.mjs';

let h;
before(async () => { h = await startHarness(); });
after(async () => { await h?.close(); });

test('two peer connections exchange RTP on 127.0.0.1 with rewritten candidates', { timeout: 60000 }, async () => {
  const page = await h.newPage();
  try {
    const r = await page.evaluate(async () => {
      const rw = window.harness.rewriteSdpCandidates;
      const gathered = (pc) => new Promise((res) => {
        if (pc.iceGatheringState === 'complete') res();
        else pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && res());
      });
      const a = new RTCPeerConnection({ iceServers: [] });
      const b = new RTCPeerConnection({ iceServers: [] });
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      mic.getTracks().forEach((t) => a.addTrack(t, mic));
      await a.setLocalDescription(await a.createOffer());
      await gathered(a);
      const offer = rw(a.localDescription.sdp);
      await b.setRemoteDescription({ type: 'offer', sdp: offer });
      await b.setLocalDescription(await b.createAnswer());
      await gathered(b);
      await a.setRemoteDescription({ type: 'answer', sdp: rw(b.localDescription.sdp) });
      let rx = 0;
      for (let i = 0; i < 50 && rx < 20; i++) {
        await new Promise((r2) => setTimeout(r2, 200));
        rx = 0;
        (await b.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') rx += s.packetsReceived; });
      }
      a.close();
      b.close();
      return { rx, candidates: offer.split('\r\n').filter((l) => l.startsWith('a=candidate:')) };
    });
    assert.ok(r.candidates.length > 0, 'offer has candidates');
    for (const c of r.candidates) assert.match(c, / 127\.0\.0\.1 \d+ typ host/);
    assert.ok(r.rx >= 20, `received ${r.rx} RTP packets`);
  } finally {
    await page.close();
  }
});

for (const lib of ['jssip', 'sipjs']) {
  test(`${lib}: register, call, MESSAGE, hang up, answer an incoming call`, { timeout: 60000 }, async () => {
    const server = await startFakeSipServer({ users: { alice: 'secret' } });
    const page = await h.newPage();
    try {
      const ua = await BrowserUA.create(page, {
        lib, wsUri: server.wsUri, uri: 'sip:alice@127.0.0.1', password: 'secret',
      });
      await ua.register();
      assert.ok(server.bindings.has('alice'));

      let mark = server.mark();
      const call = await ua.call('sip:echo@127.0.0.1');
      await call.waitState('established');
      await server.waitFor((m) => m.method === 'ACK', { since: mark });
      assert.deepEqual(await ua.sendMessage('sip:bob@127.0.0.1', 'hi'), { status: 200 });
      mark = server.mark();
      await call.hangup();
      const bye = await server.waitFor((m) => m.method === 'BYE', { since: mark });
      assert.equal(bye.msg.getAll('route').length, 2);
      assert.equal((await call.waitState('ended')).state, 'ended');

      const inv = server.sendInvite('alice', { sdp: webrtcAudioOffer() });
      const incoming = await ua.waitIncoming();
      await incoming.answer();
      const final = await inv.final;
      assert.equal(final.status, 200);
      assert.match(final.body, /a=setup:active/);
      await incoming.waitState('established');
      assert.equal(typeof (await incoming.inboundPackets()), 'number');
      mark = server.mark();
      await incoming.hangup();
      await server.waitFor((m) => m.method === 'BYE', { since: mark });

      await ua.unregister();
      assert.ok(!server.bindings.has('alice'));
      await ua.stop();
      assert.deepEqual(server.errors, []);
    } finally {
      await page.close();
      await server.close();
    }
  });
}
