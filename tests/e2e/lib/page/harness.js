// Page-side test API: window.harness. Loaded after /jssip.js (global JsSIP)
// and /sipjs.js (global SIP). Every function is callable through Playwright's
// page.evaluate and returns plain JSON (ids, states, numbers).
//
// One API over both libraries:
//   createUA({lib: 'jssip'|'sipjs', wsUri, uri, password, ...}) -> uaId
//   register(uaId) / unregister(uaId) / stopUA(uaId)
//   call(uaId, target) -> sessionId       waitIncoming(uaId) -> sessionId
//   answer(sessionId) / reject(sessionId, code) / hangup(sessionId)
//   waitSession(sessionId, state)          sessionInfo(sessionId)
//   sendMessage(uaId, target, body, contentType) -> {status}
//   getStats(sessionId) / getInboundPackets(sessionId)
//   recordRemoteAudio(sessionId, {settleMs, samples}) -> {sampleRate, samples}
//   rewriteSdpCandidates(sdp, address)
(function () {
  'use strict';

  const uas = new Map();
  const sessions = new Map();
  const events = [];
  const listeners = new Set();
  let nextId = 1;

  function emit(type, data) {
    const ev = Object.assign({ seq: events.length, type, time: Date.now() }, data);
    events.push(ev);
    for (const l of [...listeners]) l(ev);
    return ev;
  }

  function matches(ev, type, filter) {
    if (ev.type !== type) return false;
    for (const k of Object.keys(filter || {})) if (ev[k] !== filter[k]) return false;
    return true;
  }

  /** Resolves with the first event (seq >= since) of `type` matching filter. */
  function waitForEvent(type, filter = {}, { since = 0, timeoutMs = 15000 } = {}) {
    const found = events.find((ev) => ev.seq >= since && matches(ev, type, filter));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(l);
        reject(new Error(`timeout waiting for ${type} ${JSON.stringify(filter)}`));
      }, timeoutMs);
      const l = (ev) => {
        if (ev.seq >= since && matches(ev, type, filter)) {
          clearTimeout(timer);
          listeners.delete(l);
          resolve(ev);
        }
      };
      listeners.add(l);
    });
  }

  // ---- SDP candidate rewrite ----
  // Chromium (with --webrtc-ip-handling-policy=default_public_and_private_interfaces)
  // binds its ICE sockets to 0.0.0.0 and offers the interface address. Rewriting
  // the IPv4 UDP host candidates and c= to 127.0.0.1 makes the peer reach it on
  // loopback; the peer then sees the browser as a peer-reflexive 127.0.0.1
  // candidate. TCP, IPv6, srflx and relay candidates are dropped.
  function rewriteSdpCandidates(sdp, address = '127.0.0.1') {
    const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
    const seen = new Set();
    const out = [];
    for (const line of sdp.split(/\r?\n/)) {
      if (line.startsWith('a=candidate:')) {
        const f = line.slice('a=candidate:'.length).split(' ');
        // foundation component transport priority address port "typ" type ...
        if (f.length < 8 || f[2].toLowerCase() !== 'udp' || f[7] !== 'host') continue;
        if (f[4].includes(':')) continue; // IPv6
        f[4] = address;
        const key = `${f[1]} ${f[4]} ${f[5]}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push('a=candidate:' + f.join(' '));
        continue;
      }
      if (/^c=IN IP[46] /.test(line)) {
        out.push(`c=IN IP4 ${address}`);
        continue;
      }
      out.push(line);
    }
    return out.join(eol);
  }

  // ---- helpers ----
  function newId(prefix) {
    return `${prefix}${nextId++}`;
  }

  function getUA(uaId) {
    const ua = uas.get(uaId);
    if (!ua) throw new Error(`no UA ${uaId}`);
    return ua;
  }

  function getSession(sessionId) {
    const s = sessions.get(sessionId);
    if (!s) throw new Error(`no session ${sessionId}`);
    return s;
  }

  function setState(rec, state, extra) {
    if (rec.state === 'ended') return;
    rec.state = state;
    Object.assign(rec, extra || {});
    emit('session', Object.assign({ sessionId: rec.id, uaId: rec.uaId, direction: rec.direction, state }, extra || {}));
  }

  function addSession(ua, direction, raw) {
    const rec = { id: newId('s'), uaId: ua.id, lib: ua.lib, direction, raw, state: 'initial', pc: null };
    sessions.set(rec.id, rec);
    emit('session', { sessionId: rec.id, uaId: ua.id, direction, state: 'initial' });
    if (direction === 'incoming') {
      ua.incoming.push(rec.id);
      emit('incoming', { sessionId: rec.id, uaId: ua.id });
    }
    return rec;
  }

  function attachRemoteAudio(rec, pc) {
    // Play remote audio so the browser pulls RTP through the whole pipeline.
    const audio = document.createElement('audio');
    audio.autoplay = true;
    audio.dataset.session = rec.id;
    document.getElementById('media')?.appendChild(audio);
    pc.addEventListener('track', (e) => {
      audio.srcObject = e.streams[0] || new MediaStream([e.track]);
    });
    // SIP.js hands the pc over once established, after its track events.
    const tracks = pc.getReceivers().map((r) => r.track).filter((t) => t && t.kind === 'audio');
    if (tracks.length) audio.srcObject = new MediaStream(tracks);
    rec.pc = pc;
    rec.audio = audio;
  }

  // getUserMedia audio: true, or a constraints object (e.g. processing off).
  function audioConstraint(o) {
    if (o.audio === false) return false;
    return o.audio && typeof o.audio === 'object' ? o.audio : true;
  }

  // ---- JsSIP adapter ----
  function createJsSIP(ua, o) {
    if (o.debug) JsSIP.debug.enable('JsSIP:*');
    else JsSIP.debug.disable();
    const socket = new JsSIP.WebSocketInterface(o.wsUri);
    const cfg = {
      sockets: [socket],
      uri: o.uri,
      password: o.password,
      register: false,
      session_timers: false,
      register_expires: o.registerExpires || 600,
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    };
    if (o.authorizationUser) cfg.authorization_user = o.authorizationUser;
    if (o.displayName) cfg.display_name = o.displayName;
    if (o.userAgentString) cfg.user_agent = o.userAgentString;
    Object.assign(cfg, o.jssipConfig || {});
    const jua = new JsSIP.UA(cfg);
    ua.raw = jua;
    jua.on('connected', () => emit('transport', { uaId: ua.id, state: 'connected' }));
    jua.on('disconnected', () => emit('transport', { uaId: ua.id, state: 'disconnected' }));
    jua.on('registered', () => emit('registration', { uaId: ua.id, state: 'registered' }));
    jua.on('unregistered', () => emit('registration', { uaId: ua.id, state: 'unregistered' }));
    jua.on('registrationFailed', (e) => emit('registration', {
      uaId: ua.id, state: 'failed', cause: String(e.cause), status: e.response ? e.response.status_code : undefined,
    }));
    jua.on('newMessage', (e) => {
      if (e.originator !== 'remote') return;
      emit('message', { uaId: ua.id, from: e.request.from.uri.toString(), body: e.request.body || '' });
    });
    jua.on('newRTCSession', (e) => {
      const s = e.session;
      const rec = addSession(ua, e.originator === 'local' ? 'outgoing' : 'incoming', s);
      if (o.rewriteCandidates) {
        s.on('sdp', (ev) => {
          if (ev.originator === 'local') ev.sdp = rewriteSdpCandidates(ev.sdp, o.rewriteCandidates);
        });
      }
      if (s.connection) attachRemoteAudio(rec, s.connection);
      s.on('peerconnection', (ev) => attachRemoteAudio(rec, ev.peerconnection));
      s.on('progress', (ev) => setState(rec, 'progress', { status: ev.response ? ev.response.status_code : undefined }));
      s.on('confirmed', () => setState(rec, 'established'));
      s.on('ended', (ev) => setState(rec, 'ended', { cause: String(ev.cause), originator: ev.originator }));
      s.on('failed', (ev) => setState(rec, 'ended', {
        cause: String(ev.cause), originator: ev.originator, status: ev.message && ev.message.status_code,
      }));
    });
    jua.start();
  }

  const jssipOps = {
    register(ua) {
      ua.raw.register();
    },
    unregister(ua) {
      ua.raw.unregister();
    },
    stop(ua) {
      ua.raw.stop();
    },
    call(ua, target, o) {
      const s = ua.raw.call(target, {
        mediaConstraints: { audio: audioConstraint(o), video: !!o.video },
        pcConfig: { iceServers: ua.options.iceServers || [] },
        extraHeaders: o.extraHeaders || [],
      });
      // newRTCSession fired synchronously inside call().
      return [...sessions.values()].find((r) => r.raw === s);
    },
    answer(rec, o) {
      rec.raw.answer({
        mediaConstraints: { audio: audioConstraint(o), video: !!o.video },
        pcConfig: { iceServers: getUA(rec.uaId).options.iceServers || [] },
      });
    },
    reject(rec, code) {
      rec.raw.terminate({ status_code: code || 486 });
    },
    hangup(rec) {
      rec.raw.terminate();
    },
    sendMessage(ua, target, body, contentType) {
      return new Promise((resolve, reject) => {
        ua.raw.sendMessage(target, body, {
          contentType,
          eventHandlers: {
            succeeded: (e) => resolve({ status: e.response.status_code }),
            failed: (e) => reject(new Error(`MESSAGE failed: ${e.cause} ${e.response ? e.response.status_code : ''}`)),
          },
        });
      });
    },
    pcOf(rec) {
      return rec.raw.connection || rec.pc;
    },
  };

  // ---- SIP.js adapter ----
  async function createSIPjs(ua, o) {
    const base = SIP.Web.defaultSessionDescriptionHandlerFactory();
    const sdhFactory = (session, options) => {
      const sdh = base(session, options);
      if (o.rewriteCandidates) {
        const orig = sdh.getDescription.bind(sdh);
        sdh.getDescription = (opts, mods) => orig(opts, mods).then((d) => Object.assign({}, d, {
          body: rewriteSdpCandidates(d.body, o.rewriteCandidates),
        }));
      }
      return sdh;
    };
    const uri = SIP.UserAgent.makeURI(o.uri);
    if (!uri) throw new Error(`bad SIP URI ${o.uri}`);
    const cfg = {
      uri,
      transportOptions: { server: o.wsUri },
      authorizationUsername: o.authorizationUser || uri.user,
      authorizationPassword: o.password,
      sessionDescriptionHandlerFactory: sdhFactory,
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: { iceServers: o.iceServers || [] },
        iceGatheringTimeout: o.iceGatheringTimeout || 3000,
      },
      logLevel: o.debug ? 'debug' : 'warn',
      delegate: {
        onConnect: () => emit('transport', { uaId: ua.id, state: 'connected' }),
        onDisconnect: () => emit('transport', { uaId: ua.id, state: 'disconnected' }),
        onInvite: (invitation) => {
          const rec = addSession(ua, 'incoming', invitation);
          watchSIPjsSession(rec);
        },
        onMessage: (message) => {
          emit('message', { uaId: ua.id, from: message.request.from.uri.toString(), body: message.request.body || '' });
          message.accept();
        },
      },
    };
    if (o.displayName) cfg.displayName = o.displayName;
    if (o.userAgentString) cfg.userAgentString = o.userAgentString;
    Object.assign(cfg, o.sipjsConfig || {});
    const sua = new SIP.UserAgent(cfg);
    ua.raw = sua;
    ua.registerer = new SIP.Registerer(sua, { expires: o.registerExpires || 600 });
    ua.registerer.stateChange.addListener((state) => {
      const map = { Registered: 'registered', Unregistered: 'unregistered', Terminated: 'terminated' };
      if (map[state]) emit('registration', { uaId: ua.id, state: map[state] });
    });
    await sua.start();
  }

  function watchSIPjsSession(rec) {
    const s = rec.raw;
    s.stateChange.addListener((state) => {
      if (state === SIP.SessionState.Established) {
        const sdh = s.sessionDescriptionHandler;
        if (sdh && sdh.peerConnection && !rec.pc) attachRemoteAudio(rec, sdh.peerConnection);
        setState(rec, 'established');
      } else if (state === SIP.SessionState.Terminated) {
        setState(rec, 'ended', { cause: rec.cause || 'terminated' });
      }
    });
  }

  const sipjsOps = {
    register(ua) {
      ua.registerer.register({
        requestDelegate: {
          onReject: (r) => emit('registration', { uaId: ua.id, state: 'failed', status: r.message.statusCode, cause: r.message.reasonPhrase }),
        },
      }).catch((e) => emit('registration', { uaId: ua.id, state: 'failed', cause: String(e) }));
    },
    unregister(ua) {
      ua.registerer.unregister().catch((e) => emit('registration', { uaId: ua.id, state: 'failed', cause: String(e) }));
    },
    stop(ua) {
      return ua.raw.stop();
    },
    call(ua, target, o) {
      const t = SIP.UserAgent.makeURI(target);
      if (!t) throw new Error(`bad target ${target}`);
      const inviter = new SIP.Inviter(ua.raw, t, {
        sessionDescriptionHandlerOptions: { constraints: { audio: audioConstraint(o), video: !!o.video } },
        extraHeaders: o.extraHeaders || [],
      });
      const rec = addSession(ua, 'outgoing', inviter);
      watchSIPjsSession(rec);
      inviter.invite({
        requestDelegate: {
          onProgress: (r) => setState(rec, 'progress', { status: r.message.statusCode }),
          onReject: (r) => {
            rec.cause = `rejected ${r.message.statusCode}`;
            rec.status = r.message.statusCode;
          },
        },
      }).catch((e) => {
        rec.cause = String(e);
        setState(rec, 'ended', { cause: String(e) });
      });
      return rec;
    },
    answer(rec, o) {
      rec.raw.accept({
        sessionDescriptionHandlerOptions: { constraints: { audio: audioConstraint(o), video: !!o.video } },
      }).catch((e) => {
        rec.cause = `accept failed: ${e}`;
        emit('error', { sessionId: rec.id, message: String(e) });
      });
    },
    reject(rec, code) {
      rec.raw.reject({ statusCode: code || 486 });
    },
    hangup(rec) {
      const s = rec.raw;
      const st = s.state;
      if (st === SIP.SessionState.Established) return s.bye();
      if (st === SIP.SessionState.Initial || st === SIP.SessionState.Establishing) {
        return rec.direction === 'outgoing' ? s.cancel() : s.reject();
      }
      return undefined;
    },
    sendMessage(ua, target, body, contentType) {
      const t = SIP.UserAgent.makeURI(target);
      if (!t) throw new Error(`bad target ${target}`);
      return new Promise((resolve, reject) => {
        new SIP.Messager(ua.raw, t, body, contentType).message({
          requestDelegate: {
            onAccept: (r) => resolve({ status: r.message.statusCode }),
            onReject: (r) => reject(new Error(`MESSAGE rejected: ${r.message.statusCode}`)),
          },
        }).catch(reject);
      });
    },
    pcOf(rec) {
      const sdh = rec.raw.sessionDescriptionHandler;
      return (sdh && sdh.peerConnection) || rec.pc;
    },
  };

  function ops(lib) {
    return lib === 'jssip' ? jssipOps : sipjsOps;
  }

  // ---- public API ----
  const harness = {
    ready: true,
    events,
    libraries: {
      jssip: typeof JsSIP !== 'undefined' ? JsSIP.version : null,
      sipjs: typeof SIP !== 'undefined' ? SIP.version : null,
    },
    rewriteSdpCandidates,
    waitForEvent,

    /**
     * options: lib ('jssip'|'sipjs'), wsUri, uri, password, authorizationUser,
     * displayName, registerExpires, iceServers (default []), rewriteCandidates
     * ('127.0.0.1' by default; false to send the SDP untouched), debug,
     * userAgentString, jssipConfig / sipjsConfig (merged into the library config).
     * Resolves once the WebSocket is connected.
     */
    async createUA(options) {
      const o = Object.assign({ rewriteCandidates: '127.0.0.1', iceServers: [] }, options);
      if (o.lib !== 'jssip' && o.lib !== 'sipjs') throw new Error(`unknown lib ${o.lib}`);
      const ua = { id: newId('ua'), lib: o.lib, options: o, incoming: [], raw: null };
      uas.set(ua.id, ua);
      const since = events.length;
      if (o.lib === 'jssip') createJsSIP(ua, o);
      else await createSIPjs(ua, o);
      await waitForEvent('transport', { uaId: ua.id, state: 'connected' }, { since, timeoutMs: o.connectTimeoutMs || 10000 });
      return ua.id;
    },

    async register(uaId, { timeoutMs = 10000 } = {}) {
      const ua = getUA(uaId);
      const since = events.length;
      ops(ua.lib).register(ua);
      const ev = await Promise.race([
        waitForEvent('registration', { uaId, state: 'registered' }, { since, timeoutMs }),
        waitForEvent('registration', { uaId, state: 'failed' }, { since, timeoutMs }),
      ]);
      if (ev.state !== 'registered') throw new Error(`registration failed: ${ev.status || ''} ${ev.cause || ''}`);
      return true;
    },

    async unregister(uaId, { timeoutMs = 10000 } = {}) {
      const ua = getUA(uaId);
      const since = events.length;
      ops(ua.lib).unregister(ua);
      await waitForEvent('registration', { uaId, state: 'unregistered' }, { since, timeoutMs });
      return true;
    },

    async stopUA(uaId) {
      const ua = getUA(uaId);
      await ops(ua.lib).stop(ua);
      uas.delete(uaId);
      return true;
    },

    /** Starts a call; returns the session id at once (see waitSession). */
    call(uaId, target, o = {}) {
      const ua = getUA(uaId);
      return ops(ua.lib).call(ua, target, o).id;
    },

    /** Next incoming session of this UA not yet handed out. */
    async waitIncoming(uaId, { timeoutMs = 15000 } = {}) {
      const ua = getUA(uaId);
      if (!ua.incoming.length) await waitForEvent('incoming', { uaId }, { since: events.length, timeoutMs });
      return ua.incoming.shift();
    },

    answer(sessionId, o = {}) {
      const rec = getSession(sessionId);
      ops(rec.lib).answer(rec, o);
      return true;
    },

    reject(sessionId, statusCode) {
      const rec = getSession(sessionId);
      ops(rec.lib).reject(rec, statusCode);
      return true;
    },

    async hangup(sessionId) {
      const rec = getSession(sessionId);
      await ops(rec.lib).hangup(rec);
      return true;
    },

    /** state: 'progress' | 'established' | 'ended'. Resolves with sessionInfo. */
    async waitSession(sessionId, state, { timeoutMs = 15000 } = {}) {
      const rec = getSession(sessionId);
      if (rec.state !== state) {
        if (rec.state === 'ended') throw new Error(`session ${sessionId} ended (${rec.cause}) before ${state}`);
        const ev = await Promise.race([
          waitForEvent('session', { sessionId, state }, { timeoutMs }),
          waitForEvent('session', { sessionId, state: 'ended' }, { timeoutMs }),
        ]);
        if (ev.state !== state) throw new Error(`session ${sessionId} ended (${ev.cause}) before ${state}`);
      }
      return harness.sessionInfo(sessionId);
    },

    sessionInfo(sessionId) {
      const r = getSession(sessionId);
      return { id: r.id, uaId: r.uaId, lib: r.lib, direction: r.direction, state: r.state, cause: r.cause, status: r.status };
    },

    sendMessage(uaId, target, body, contentType = 'text/plain') {
      const ua = getUA(uaId);
      return ops(ua.lib).sendMessage(ua, target, body, contentType);
    },

    /** Audio RTP counters of the session's RTCPeerConnection (null without one). */
    async getStats(sessionId) {
      const rec = getSession(sessionId);
      const pc = ops(rec.lib).pcOf(rec);
      if (!pc) return null;
      const report = await pc.getStats();
      const out = { packetsReceived: 0, bytesReceived: 0, packetsSent: 0, bytesSent: 0, iceState: pc.iceConnectionState, connectionState: pc.connectionState };
      report.forEach((s) => {
        if ((s.kind || s.mediaType) !== 'audio') return;
        if (s.type === 'inbound-rtp') {
          out.packetsReceived += s.packetsReceived || 0;
          out.bytesReceived += s.bytesReceived || 0;
        } else if (s.type === 'outbound-rtp') {
          out.packetsSent += s.packetsSent || 0;
          out.bytesSent += s.bytesSent || 0;
        }
      });
      return out;
    },

    async getInboundPackets(sessionId) {
      const st = await harness.getStats(sessionId);
      return st ? st.packetsReceived : 0;
    },

    /**
     * The call's remote audio as the page hears it: WebAudio (an AnalyserNode
     * on the played stream) after settleMs, the last `samples` samples (a
     * power of two, at most 32768) as numbers in [-1, 1].
     */
    async recordRemoteAudio(sessionId, { settleMs = 1500, samples = 32768 } = {}) {
      const rec = getSession(sessionId);
      const pc = ops(rec.lib).pcOf(rec);
      if (!pc) throw new Error(`session ${sessionId} has no peer connection`);
      const tracks = pc.getReceivers().map((r) => r.track).filter((t) => t && t.kind === 'audio');
      if (!tracks.length) throw new Error(`session ${sessionId} has no remote audio track`);
      // Chromium feeds a remote WebRTC stream to WebAudio only while a media element plays it.
      if (rec.audio && !rec.audio.srcObject) rec.audio.srcObject = new MediaStream(tracks);
      const ctx = new AudioContext();
      try {
        await ctx.resume();
        const analyser = ctx.createAnalyser();
        analyser.fftSize = samples;
        ctx.createMediaStreamSource(new MediaStream(tracks)).connect(analyser);
        await new Promise((r) => setTimeout(r, settleMs + (1000 * samples) / ctx.sampleRate));
        const data = new Float32Array(samples);
        analyser.getFloatTimeDomainData(data);
        return { sampleRate: ctx.sampleRate, samples: Array.from(data, (v) => Math.round(v * 32768) / 32768) };
      } finally {
        await ctx.close();
      }
    },

    /** The SDP the library actually put on the wire is in the SIP capture; these are the pc's views. */
    localDescription(sessionId) {
      const pc = ops(getSession(sessionId).lib).pcOf(getSession(sessionId));
      return pc && pc.localDescription ? pc.localDescription.sdp : null;
    },
  };

  window.harness = harness;
})();
