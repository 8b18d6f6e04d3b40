// Two headless Chromium pages running JsSIP register through the gateway's
// SIP proxy (one over ws://, one over wss://) to Kamailio and call each other
// with no breaker: media flows browser to browser, signaling through the
// gateway. Run by ctest (label e2e) after `npm ci`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from './lib/harness.mjs';
import { BrowserUA } from './lib/page-client.mjs';
import { startGateway } from './lib/gateway.mjs';

let h;
let gw;
before(async () => {
  gw = await startGateway();
  // The wss listener has a self-signed certificate.
  h = await startHarness({ extraArgs: ['--ignore-certificate-errors'] });
});
after(async () => {
  await h?.close();
  const code = await gw?.stop();
  assert.equal(code, 0, `signaling exit status (log: ${gw?.signalingLog})`);
});

for (const lib of ['jssip', 'sipjs']) {
  test(`${lib}: ws:// caller and wss:// callee talk through the proxy`, { timeout: 90000 }, async () => {
    const callerPage = await h.newPage();
    const calleePage = await h.newPage();
    const alice = `alice-${lib}`;
    const bob = `bob-${lib}`;
    try {
      const caller = await BrowserUA.create(callerPage, {
        lib, wsUri: gw.wsUri, uri: `sip:${alice}@${gw.domain}`, password: 'secret',
      });
      const callee = await BrowserUA.create(calleePage, {
        lib, wsUri: gw.wssUri, uri: `sip:${bob}@${gw.domain}`, password: 'secret',
      });
      await caller.register();
      await callee.register();

      const call = await caller.call(`sip:${bob}@${gw.domain}`);
      const incoming = await callee.waitIncoming({ timeout: 20000 });
      await incoming.answer();
      await call.waitState('established', { timeout: 20000 });
      await incoming.waitState('established', { timeout: 20000 });

      let packets = 0;
      for (let i = 0; i < 40 && packets <= 100; i++) {
        await new Promise((r) => setTimeout(r, 250));
        packets = await incoming.inboundPackets();
      }
      assert.ok(packets > 100, `callee received ${packets} inbound audio packets`);

      await call.hangup();
      await incoming.waitState('ended', { timeout: 20000 });
      const metrics = await gw.metrics();
      assert.match(metrics, /webrtc2sip_ws_connections_accepted_total\{transport="wss"\} [1-9]/);
      assert.match(metrics, /webrtc2sip_sip_transactions_total\{direction="ws_to_net",method="INVITE",status_class="2xx"\} [1-9]/);
      assert.match(metrics, /webrtc2sip_sip_transactions_total\{direction="net_to_ws",method="BYE",status_class="2xx"\} [1-9]/);
    } finally {
      await callerPage.close();
      await calleePage.close();
    }
  });
}
