// A hand-written SIP registrar + UAS behind a WebSocket server (RFC 7118,
// subprotocol "sip") on 127.0.0.1:<ephemeral>. For exercising browser SIP
// libraries without the gateway; it records every frame in both directions.
//
// Behaviour:
// - REGISTER: 401 digest challenge (qop=auth, MD5) unless authorized, then 200
//   echoing each Contact with ;expires=N (Contact removed on expires=0).
// - INVITE: optional 407 challenge, then 100, 180 (To tag, Contact,
//   Record-Route), 200 with an SDP answer built from the offer. Request-URI
//   users starting with "noanswer" ring forever (CANCEL -> 200 + 487).
// - ACK, BYE (200), CANCEL, MESSAGE (200), OPTIONS (200), INFO (200); other
//   methods 501.
// - Server-originated INVITE / MESSAGE / BYE toward a registered Contact;
//   final responses to its INVITEs are ACKed.
// Record-Route: two entries, an "edge" (this WS server) and a "core" proxy,
// so that route-set order is visible in the client's in-dialog requests.
import { EventEmitter } from 'node:events';
import { WebSocketServer } from 'ws';
import {
  SipMessage, buildMessage, buildResponse, newBranch, randomToken, headerParam,
  uriOf, userOf, splitHeaderValues, checkDigest, parseAuthParams,
} from './sip-message.mjs';
import { webrtcAnswerFor } from './sdp.mjs';

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO';

export async function startFakeSipServer(options = {}) {
  const o = {
    host: '127.0.0.1',
    realm: '127.0.0.1',
    users: { alice: 'secret' },
    challengeRegister: true,
    challengeInvite: true,
    challengeMessage: false,
    registerExpires: 600,
    ringMs: 150,
    answerMs: 300,
    recordRoute: true,
    shouldAnswer: (req) => !/^noanswer/.test(userOf(req.ruri) || ''),
    ...options,
  };

  const wss = new WebSocketServer({
    host: o.host,
    port: 0,
    handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
  });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const { port } = wss.address();
  const hostport = `${o.host}:${port}`;
  const edgeRR = `<sip:${hostport};transport=ws;lr;r=edge>`;
  const coreRR = `<sip:${o.host}:5060;lr;r=core>`;

  const server = new EventEmitter();
  Object.assign(server, {
    port,
    wsUri: `ws://${hostport}`,
    hostport,
    /** Every frame: { seq, dir: 'in'|'out', time, connId, data (Buffer for 'in', string for 'out'), binary, msg, phase, info } */
    log: [],
    /** Free-form label copied into each log entry (the test's current step). */
    phase: '',
    bindings: new Map(), // user -> { contact, uri, conn }
    connections: new Map(),
    /** Every WebSocket connection ever accepted: { id, protocol, offered } */
    connectionHistory: [],
    dialogs: new Map(), // Call-ID -> dialog
    errors: [],
  });

  const nonces = new Set();
  const inviteServerTxns = new Map(); // branch -> { req, toTag, final, timers }
  const clientTxns = new Map(); // branch -> { req, responses, resolveFinal, conn }
  let nextConn = 1;

  function record(dir, conn, data, binary, msg, info = {}) {
    const entry = { seq: server.log.length, dir, time: Date.now(), connId: conn.id, data, binary, msg, phase: server.phase, info };
    server.log.push(entry);
    server.emit('entry', entry);
    return entry;
  }

  function send(conn, text, info) {
    let msg = null;
    try { msg = new SipMessage(text); } catch { /* keep raw */ }
    record('out', conn, text, false, msg, info);
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(text);
  }

  function challenge(req, conn, status) {
    const nonce = randomToken(16);
    nonces.add(nonce);
    const name = status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const reason = status === 401 ? 'Unauthorized' : 'Proxy Authentication Required';
    const toTag = randomToken(5);
    if (req.method === 'INVITE') inviteServerTxns.set(req.branch, { req, toTag, final: status, timers: [] });
    send(conn, buildResponse(req, status, reason, {
      toTag,
      headers: [[name, `Digest realm="${o.realm}", nonce="${nonce}", algorithm=MD5, qop="auth"`]],
    }));
  }

  /** Returns 'ok' | 'missing' | 'bad'. */
  function authorize(req, headerName) {
    const value = req.get(headerName);
    if (!value) return 'missing';
    const p = parseAuthParams(value);
    if (!nonces.has(p.nonce) || p.realm !== o.realm) return 'missing';
    const pw = o.users[p.username];
    if (pw === undefined) return 'bad';
    return checkDigest(value, req.method, pw) ? 'ok' : 'bad';
  }

  function handleRegister(req, conn) {
    if (o.challengeRegister) {
      const a = authorize(req, 'authorization');
      if (a === 'missing') return challenge(req, conn, 401);
      if (a === 'bad') return send(conn, buildResponse(req, 403, 'Forbidden', { toTag: randomToken(5) }));
    }
    const user = userOf(uriOf(req.get('to')));
    const expiresHdr = req.get('expires');
    const contacts = req.getAll('contact').flatMap(splitHeaderValues);
    const headers = [];
    for (const c of contacts) {
      if (c === '*') {
        server.bindings.delete(user);
        continue;
      }
      const want = Number(headerParam(c, 'expires') ?? expiresHdr ?? o.registerExpires);
      if (want === 0) {
        server.bindings.delete(user);
        continue;
      }
      const expires = Math.min(want, o.registerExpires);
      server.bindings.set(user, { contact: c, uri: uriOf(c), conn });
      const withoutExpires = c.replace(/;\s*expires=[^;,\s]*/i, '');
      headers.push(['Contact', `${withoutExpires};expires=${expires}`]);
    }
    headers.push(['Date', new Date().toUTCString()]);
    send(conn, buildResponse(req, 200, 'OK', { toTag: randomToken(5), headers }));
    server.emit(server.bindings.has(user) ? 'registered' : 'unregistered', user);
  }

  function handleInvite(req, conn) {
    if (headerParam(req.get('to'), 'tag') !== undefined) {
      // re-INVITE inside a dialog: accept with a fresh answer.
      const d = server.dialogs.get(req.callId);
      if (!d) return send(conn, buildResponse(req, 481, 'Call/Transaction Does Not Exist'));
      if (req.get('contact')) d.remoteTarget = uriOf(req.get('contact'));
      return send(conn, buildResponse(req, 200, 'OK', {
        headers: [['Contact', d.localContact], ['Allow', ALLOW], ...(req.body ? [['Content-Type', 'application/sdp']] : [])],
        body: req.body ? webrtcAnswerFor(req.body, { address: o.host }) : '',
      }));
    }
    if (inviteServerTxns.has(req.branch)) return; // retransmission
    if (o.challengeInvite) {
      const a = authorize(req, 'proxy-authorization');
      if (a === 'missing') return challenge(req, conn, 407);
      if (a === 'bad') {
        inviteServerTxns.set(req.branch, { req, toTag: randomToken(5), final: 403, timers: [] });
        return send(conn, buildResponse(req, 403, 'Forbidden', { toTag: inviteServerTxns.get(req.branch).toTag }));
      }
    }
    const txn = { req, toTag: randomToken(5), final: null, timers: [] };
    inviteServerTxns.set(req.branch, txn);
    const calleeUser = userOf(req.ruri) || 'callee';
    const localContact = `<sip:${calleeUser}@${o.host}:5060>`;
    const rr = o.recordRoute ? [['Record-Route', `${coreRR}, ${edgeRR}`]] : [];
    send(conn, buildResponse(req, 100, 'Trying'));
    txn.timers.push(setTimeout(() => {
      if (txn.final) return;
      send(conn, buildResponse(req, 180, 'Ringing', { toTag: txn.toTag, headers: [...rr, ['Contact', localContact]] }));
      if (!o.shouldAnswer(req)) return;
      txn.timers.push(setTimeout(() => {
        if (txn.final) return;
        txn.final = 200;
        const body = req.body ? webrtcAnswerFor(req.body, { address: o.host }) : '';
        server.dialogs.set(req.callId, {
          callId: req.callId,
          conn,
          localUri: req.get('to'),
          localTag: txn.toTag,
          remoteUri: req.get('from'),
          remoteTag: headerParam(req.get('from'), 'tag'),
          remoteTarget: uriOf(req.get('contact')),
          localContact,
          localCseq: 1,
          routeSet: [],
        });
        send(conn, buildResponse(req, 200, 'OK', {
          toTag: txn.toTag,
          headers: [...rr, ['Contact', localContact], ['Allow', ALLOW], ['Supported', 'replaces, outbound'],
            ...(body ? [['Content-Type', 'application/sdp']] : [])],
          body,
        }));
      }, o.answerMs));
    }, o.ringMs));
  }

  function handleCancel(req, conn) {
    const txn = inviteServerTxns.get(req.branch);
    if (!txn) return send(conn, buildResponse(req, 481, 'Call/Transaction Does Not Exist', { toTag: randomToken(5) }));
    send(conn, buildResponse(req, 200, 'OK', { toTag: txn.toTag }));
    if (!txn.final) {
      txn.final = 487;
      txn.timers.forEach(clearTimeout);
      send(conn, buildResponse(txn.req, 487, 'Request Terminated', { toTag: txn.toTag }));
    }
  }

  function handleAck(req) {
    const txn = inviteServerTxns.get(req.branch);
    if (txn && txn.final && txn.final >= 300) return { ackFor: txn.final };
    if (server.dialogs.has(req.callId)) return { ackFor: 200 };
    return { ackFor: 'unknown' };
  }

  function handleIncoming(conn, data, isBinary) {
    const text = data.toString('utf8');
    let msg = null;
    try {
      msg = new SipMessage(text);
    } catch (err) {
      record('in', conn, data, isBinary, null, { parseError: String(err) });
      if (text.trim() !== '') server.errors.push(`unparsable frame: ${err}`);
      return;
    }
    const info = {};
    if (msg.isRequest && msg.method === 'ACK') Object.assign(info, handleAck(msg));
    const entry = record('in', conn, data, isBinary, msg, info);
    try {
      if (msg.isResponse) return handleResponse(msg, conn, entry);
      switch (msg.method) {
        case 'REGISTER': return handleRegister(msg, conn);
        case 'INVITE': return handleInvite(msg, conn);
        case 'CANCEL': return handleCancel(msg, conn);
        case 'ACK': return undefined;
        case 'BYE': {
          const known = server.dialogs.delete(msg.callId);
          return send(conn, known ? buildResponse(msg, 200, 'OK') : buildResponse(msg, 481, 'Call/Transaction Does Not Exist'));
        }
        case 'MESSAGE': {
          if (o.challengeMessage) {
            const a = authorize(msg, 'proxy-authorization');
            if (a === 'missing') return challenge(msg, conn, 407);
          }
          return send(conn, buildResponse(msg, 200, 'OK', { toTag: randomToken(5) }));
        }
        case 'OPTIONS':
          return send(conn, buildResponse(msg, 200, 'OK', { toTag: randomToken(5), headers: [['Allow', ALLOW]] }));
        case 'INFO':
          return send(conn, buildResponse(msg, 200, 'OK'));
        default:
          return send(conn, buildResponse(msg, 501, 'Not Implemented', { toTag: randomToken(5) }));
      }
    } catch (err) {
      server.errors.push(String(err.stack || err));
      return undefined;
    }
  }

  // ---- server-originated requests ----

  function handleResponse(res, conn) {
    const txn = clientTxns.get(res.branch);
    if (!txn) return;
    txn.responses.push(res);
    if (res.status < 200) return;
    if (txn.final) return; // retransmitted final
    txn.final = res;
    if (txn.req.method === 'INVITE') {
      const toTag = headerParam(res.get('to'), 'tag');
      if (res.status < 300) {
        const d = {
          callId: txn.req.callId,
          conn,
          localUri: txn.req.get('from'),
          localTag: headerParam(txn.req.get('from'), 'tag'),
          remoteUri: res.get('to'),
          remoteTag: toTag,
          remoteTarget: uriOf(res.get('contact') || `<${txn.req.ruri}>`),
          localContact: txn.req.get('contact'),
          localCseq: txn.req.cseq.seq,
          routeSet: [],
        };
        server.dialogs.set(d.callId, d);
        send(conn, buildMessage(`ACK ${d.remoteTarget} SIP/2.0`, [
          ['Via', `SIP/2.0/WS ${hostport};branch=${newBranch()};rport`],
          ['Max-Forwards', '70'],
          ['From', d.localUri],
          ['To', d.remoteUri],
          ['Call-ID', d.callId],
          ['CSeq', `${d.localCseq} ACK`],
        ]));
      } else {
        // ACK for a non-2xx final: same branch and Request-URI as the INVITE.
        send(conn, buildMessage(`ACK ${txn.req.ruri} SIP/2.0`, [
          ['Via', txn.req.get('via')],
          ['Max-Forwards', '70'],
          ['From', txn.req.get('from')],
          ['To', res.get('to')],
          ['Call-ID', txn.req.callId],
          ['CSeq', `${txn.req.cseq.seq} ACK`],
        ]));
      }
    }
    txn.resolveFinal(res);
  }

  function sendRequest(conn, method, ruri, headers, body = '') {
    const branch = newBranch();
    const text = buildMessage(`${method} ${ruri} SIP/2.0`, [
      ['Via', `SIP/2.0/WS ${hostport};branch=${branch};rport`],
      ['Max-Forwards', '70'],
      ...headers,
    ], body);
    const req = new SipMessage(text);
    let resolveFinal;
    const final = new Promise((r) => { resolveFinal = r; });
    clientTxns.set(branch, { req, responses: [], resolveFinal, final: null, conn });
    send(conn, text);
    return { req, final, responses: clientTxns.get(branch).responses };
  }

  function binding(user) {
    const b = server.bindings.get(user);
    if (!b) throw new Error(`no registration for ${user}`);
    return b;
  }

  /**
   * INVITE toward a registered user. Returns { callId, req, final: Promise<SipMessage>, responses }.
   * options: sdp (body, default none), from ('"Bob" <sip:bob@host>'), extraHeaders.
   */
  server.sendInvite = (user, { sdp = '', from, extraHeaders = [] } = {}) => {
    const b = binding(user);
    const callId = randomToken(12);
    const rr = o.recordRoute ? [['Record-Route', edgeRR], ['Record-Route', coreRR]] : [];
    return {
      callId,
      ...sendRequest(b.conn, 'INVITE', b.uri, [
        ...rr,
        ['From', `${from || `"Bob" <sip:bob@${o.host}>`};tag=${randomToken(5)}`],
        ['To', `<sip:${user}@${o.realm}>`],
        ['Call-ID', callId],
        ['CSeq', '1 INVITE'],
        ['Contact', `<sip:bob@${hostport};transport=ws>`],
        ['Allow', ALLOW],
        ['Supported', 'replaces'],
        ...extraHeaders,
        ...(sdp ? [['Content-Type', 'application/sdp']] : []),
      ], sdp),
    };
  };

  /** Out-of-dialog MESSAGE toward a registered user. */
  server.sendMessage = (user, body, contentType = 'text/plain', { from } = {}) => {
    const b = binding(user);
    return sendRequest(b.conn, 'MESSAGE', b.uri, [
      ['From', `${from || `"Bob" <sip:bob@${o.host}>`};tag=${randomToken(5)}`],
      ['To', `<sip:${user}@${o.realm}>`],
      ['Call-ID', randomToken(12)],
      ['CSeq', '1 MESSAGE'],
      ['Content-Type', contentType],
    ], body);
  };

  /** BYE inside a dialog this server is part of (by Call-ID). */
  server.sendBye = (callId) => {
    const d = server.dialogs.get(callId);
    if (!d) throw new Error(`no dialog ${callId}`);
    d.localCseq += 1;
    server.dialogs.delete(callId);
    return sendRequest(d.conn, 'BYE', d.remoteTarget, [
      ['From', `${d.localUri.replace(/;tag=[^;]*/, '')};tag=${d.localTag}`],
      ['To', `${d.remoteUri.replace(/;tag=[^;]*/, '')};tag=${d.remoteTag}`],
      ['Call-ID', d.callId],
      ['CSeq', `${d.localCseq} BYE`],
    ]);
  };

  // ---- waiting ----

  /** Index to pass as `since` to waitFor, taken before triggering an action. */
  server.mark = () => server.log.length;

  /**
   * Resolves with the first log entry (seq >= since) matching pred(entry);
   * by default only frames received from clients ('in') with a parsed msg.
   */
  server.waitFor = (pred, { since = 0, timeoutMs = 10000, dir = 'in' } = {}) => {
    const ok = (e) => e.seq >= since && e.dir === dir && e.msg && pred(e.msg, e);
    const found = server.log.find(ok);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        server.off('entry', l);
        reject(new Error(`timeout waiting for SIP message (${pred.toString().slice(0, 120)})`));
      }, timeoutMs);
      const l = (e) => {
        if (ok(e)) {
          clearTimeout(timer);
          server.off('entry', l);
          resolve(e);
        }
      };
      server.on('entry', l);
    });
  };

  wss.on('connection', (ws, request) => {
    const conn = { id: nextConn++, ws, protocol: ws.protocol, offered: request.headers['sec-websocket-protocol'] };
    server.connections.set(conn.id, conn);
    server.connectionHistory.push({ id: conn.id, protocol: conn.protocol, offered: conn.offered });
    server.emit('connection', conn);
    ws.on('message', (data, isBinary) => handleIncoming(conn, data, isBinary));
    ws.on('close', () => {
      for (const [user, b] of server.bindings) if (b.conn === conn) server.bindings.delete(user);
      server.connections.delete(conn.id);
    });
  });

  server.close = () => new Promise((resolve) => {
    for (const t of inviteServerTxns.values()) t.timers.forEach(clearTimeout);
    for (const c of wss.clients) c.terminate();
    wss.close(() => resolve());
  });

  return server;
}
