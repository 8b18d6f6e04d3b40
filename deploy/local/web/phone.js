// The demo phone: JsSIP over the gateway's WebSocket. With the breaker on,
// the Contact carries rtcweb-breaker=yes and the gateway's B2BUA bridges the
// browser's DTLS-SRTP media to the SIP side's RTP.
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  $('ws').value = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
  $('domain').value = params.get('domain') || '127.0.0.1';
  const log = (text) => { $('log').textContent += `${new Date().toISOString().slice(11, 19)} ${text}\n`; $('log').scrollTop = 1e9; };
  let ua = null;
  let session = null;

  function attach(s) {
    session = s;
    $('hangup').disabled = false;
    s.on('progress', () => log('ringing'));
    s.on('confirmed', () => log('call established'));
    s.on('ended', (e) => { log(`call ended (${e.cause})`); done(); });
    s.on('failed', (e) => { log(`call failed (${e.cause})`); done(); });
    s.on('peerconnection', (e) => {
      e.peerconnection.addEventListener('track', (ev) => { $('remote').srcObject = ev.streams[0]; });
    });
    if (s.connection) {
      s.connection.addEventListener('track', (ev) => { $('remote').srcObject = ev.streams[0]; });
    }
  }
  function done() { session = null; $('hangup').disabled = true; $('answer').disabled = true; }

  $('register').onclick = () => {
    if (ua) ua.stop();
    const user = $('user').value.trim();
    const domain = $('domain').value.trim();
    const cfg = {
      sockets: [new JsSIP.WebSocketInterface($('ws').value.trim())],
      uri: `sip:${user}@${domain}`,
      password: $('password').value,
      session_timers: false,
    };
    if ($('breaker').checked) {
      cfg.contact_uri = `sip:${user}-${Math.random().toString(36).slice(2, 8)}@demo.invalid;transport=ws;rtcweb-breaker=yes`;
    }
    ua = new JsSIP.UA(cfg);
    ua.on('registered', () => { log(`registered as ${user}@${domain}`); $('call').disabled = false; });
    ua.on('registrationFailed', (e) => log(`registration failed (${e.cause})`));
    ua.on('disconnected', () => log('gateway connection lost'));
    ua.on('newRTCSession', (e) => {
      if (e.originator !== 'remote') return;
      log(`incoming call from ${e.request.from.uri.toString()}`);
      attach(e.session);
      $('answer').disabled = false;
    });
    ua.start();
  };
  $('call').onclick = () => {
    let target = $('target').value.trim();
    if (!target.includes('@')) target = `sip:${target}@${$('domain').value.trim()}`;
    log(`calling ${target}`);
    attach(ua.call(target, { mediaConstraints: { audio: true, video: false },
                             pcConfig: { iceServers: [] } }));
  };
  $('answer').onclick = () => {
    if (!session) return;
    session.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
    $('answer').disabled = true;
  };
  $('hangup').onclick = () => { if (session) session.terminate(); };
})();
