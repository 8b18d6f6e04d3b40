#!/usr/bin/env node
// Captures the SIP messages JsSIP and SIP.js really send (in headless
// Chromium, over WebSocket) against a hand-written registrar/UAS, and writes
// them as unit-test fixtures:
//   tests/unit/signaling/testdata/<lib>/<nn>-<METHOD|status-METHOD>-<step>.sip
//   tests/unit/signaling/testdata/<lib>/server/...   (what the fake server sent)
//   tests/unit/signaling/testdata/<lib>/sequence.txt (interleaved order)
// Bytes are written exactly as received on the socket (CRLF kept).
//
// Usage (from tests/e2e, after `npm ci`):  node capture-fixtures.mjs [jssip] [sipjs]
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHarness } from './lib/harness.mjs';
import { BrowserUA } from './lib/page-client.mjs';
import { startFakeSipServer } from './lib/fake-sip-server.mjs';
import { webrtcAudioOffer, plainRtpAudioOffer } from './lib/sdp.mjs';
import { libraryVersions } from './lib/bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const testdata = path.resolve(here, '..', 'unit', 'signaling', 'testdata');
const DIRS = { jssip: 'jssip', sipjs: 'sipjs' };
const HOST = '127.0.0.1';
const USER = 'alice';
const PASSWORD = 'secret';

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms); }),
  ]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The scripted exchange. server.phase names the step; it ends up in file names. */
async function scenario(lib, page, server, notes) {
  server.phase = 'initial';
  const ua = await BrowserUA.create(page, {
    lib,
    wsUri: server.wsUri,
    uri: `sip:${USER}@${HOST}`,
    password: PASSWORD,
    displayName: 'Alice',
  });
  await ua.register();

  // Outgoing call: 407 challenge, then 100/180/200, ACK.
  server.phase = 'outgoing-call';
  let mark = server.mark();
  const call = await ua.call(`sip:echo@${HOST}`);
  await call.waitState('established');
  await server.waitFor((m, e) => m.method === 'ACK' && e.info.ackFor === 200, { since: mark });
  notes.push(`outgoing call stats after answer: ${JSON.stringify(await call.stats())}`);

  // Out-of-dialog MESSAGE while the call is up.
  server.phase = 'out-of-dialog';
  const res = await ua.sendMessage(`sip:bob@${HOST}`, `Hello from ${lib}`);
  if (res.status !== 200) throw new Error(`MESSAGE got ${res.status}`);

  // Hang up the outgoing call: BYE.
  server.phase = 'outgoing-call';
  mark = server.mark();
  await call.hangup();
  await server.waitFor((m) => m.method === 'BYE', { since: mark });
  await call.waitState('ended');

  // Outgoing call cancelled while ringing: CANCEL, ACK for 487.
  server.phase = 'outgoing-cancel';
  mark = server.mark();
  const call2 = await ua.call(`sip:noanswer@${HOST}`);
  await call2.waitState('progress');
  await call2.hangup();
  await server.waitFor((m, e) => m.method === 'ACK' && e.info.ackFor === 487, { since: mark });
  await call2.waitState('ended');

  // Incoming call (WebRTC-style offer), answered; the browser hangs up.
  server.phase = 'incoming-call';
  const inv = server.sendInvite(USER, { sdp: webrtcAudioOffer() });
  const s1 = await ua.waitIncoming();
  await s1.answer();
  const final1 = await withTimeout(inv.final, 10000, 'final response to incoming INVITE');
  if (final1.status !== 200) throw new Error(`incoming INVITE got ${final1.status}`);
  await s1.waitState('established');
  await sleep(200);
  mark = server.mark();
  await s1.hangup();
  await server.waitFor((m) => m.method === 'BYE', { since: mark });
  await s1.waitState('ended');

  // Incoming MESSAGE.
  server.phase = 'incoming';
  const msg = server.sendMessage(USER, `Hello ${lib}, this is Bob`);
  const finalMsg = await withTimeout(msg.final, 10000, 'response to MESSAGE');
  notes.push(`incoming MESSAGE answered ${finalMsg.status}`);

  // Incoming call with a plain RTP/AVP PCMU offer (what a SIP trunk sends).
  server.phase = 'incoming-plain-rtp';
  const inv2 = server.sendInvite(USER, { sdp: plainRtpAudioOffer() });
  const incoming2 = ua.waitIncoming({ timeoutMs: 4000 }).then((s) => ({ s }), (err) => ({ err }));
  const first = await Promise.race([inv2.final.then((r) => ({ final: r })), incoming2]);
  let surfaced = false;
  if (first.s) {
    surfaced = true;
    await first.s.answer();
  }
  const final2 = await withTimeout(inv2.final, 10000, 'final response to plain-RTP INVITE');
  if (!first.s) surfaced = !!(await incoming2).s;
  notes.push(`plain RTP/AVP offer: final ${final2.status} ${final2.reason}; reached the application: ${surfaced}`);
  await sleep(200);

  // Incoming call answered; the far end hangs up (BYE from the server).
  server.phase = 'incoming-remote-bye';
  const inv3 = server.sendInvite(USER, { sdp: webrtcAudioOffer() });
  const s3 = await ua.waitIncoming();
  await s3.answer();
  const final3 = await withTimeout(inv3.final, 10000, 'final response to incoming INVITE 3');
  if (final3.status !== 200) throw new Error(`incoming INVITE 3 got ${final3.status}`);
  await s3.waitState('established');
  const bye = server.sendBye(inv3.callId);
  const byeRes = await withTimeout(bye.final, 10000, 'response to BYE');
  notes.push(`BYE from far end answered ${byeRes.status}`);
  await s3.waitState('ended');

  // Un-REGISTER.
  server.phase = 'unregister';
  await ua.unregister();
  await sleep(300);
  server.phase = 'stop';
  await ua.stop();
  await sleep(300);
}

function describe(entry) {
  const m = entry.msg;
  if (m.isResponse) return `${m.status}-${m.cseq ? m.cseq.method : 'UNKNOWN'}-${entry.phase}`;
  let name = `${m.method}-${entry.phase}`;
  if (m.has('authorization') || m.has('proxy-authorization')) name += '-with-auth';
  if (m.method === 'ACK' && entry.info.ackFor) name += `-for-${entry.info.ackFor}`;
  return name;
}

/** Sanity checks on what the library sent. Returns a list of problems. */
function check(lib, entries) {
  const problems = [];
  for (const e of entries) {
    const m = e.msg;
    const where = `${lib} ${describe(e)}`;
    if (!e.data.includes('\r\n\r\n')) problems.push(`${where}: no CRLF CRLF`);
    const via = m.get('via') || '';
    if (!/^SIP\/2\.0\/WSS? /i.test(via)) problems.push(`${where}: Via transport not WS: ${via}`);
    if (m.isRequest && !/^SIP\/2\.0\/WSS? [^;]+\.invalid[;:\s]/i.test(via + ' ')) problems.push(`${where}: Via host not .invalid: ${via}`);
    const contact = m.get('contact');
    if (contact && contact !== '*' && !/\.invalid/.test(contact)) problems.push(`${where}: Contact not .invalid: ${contact}`);
    if (contact && contact !== '*' && !/transport=ws/i.test(contact)) problems.push(`${where}: Contact without transport=ws: ${contact}`);
    const sdp = /application\/sdp/i.test(m.get('content-type') || '') ? m.body : '';
    if (sdp && (m.method === 'INVITE' || m.status === 200)) {
      for (const re of [/a=ice-ufrag:/, /a=ice-pwd:/, /a=fingerprint:sha-256 /, /UDP\/TLS\/RTP\/SAVPF/, /a=setup:/, /a=candidate:/]) {
        if (!re.test(sdp)) problems.push(`${where}: SDP lacks ${re}`);
      }
      if (/a=candidate:(?!.* 127\.0\.0\.1 )/.test(sdp)) problems.push(`${where}: candidate not rewritten to 127.0.0.1`);
    }
    const cl = m.get('content-length');
    if (cl !== undefined && Number(cl) !== Buffer.byteLength(m.body)) problems.push(`${where}: Content-Length ${cl} != body ${Buffer.byteLength(m.body)}`);
  }
  return problems;
}

async function writeFixtures(lib, server, meta) {
  const dir = path.join(testdata, DIRS[lib]);
  const sdir = path.join(dir, 'server');
  for (const d of [dir, sdir]) {
    await fs.mkdir(d, { recursive: true });
    for (const f of await fs.readdir(d)) if (f.endsWith('.sip') || f === 'sequence.txt') await fs.rm(path.join(d, f));
  }
  const used = new Set();
  const counters = { in: 0, out: 0 };
  const seq = [
    `# ${meta.title}`,
    `# ${meta.versions}`,
    `# browser: ${meta.browser}`,
    `# captured by tests/e2e/capture-fixtures.mjs; ">" = sent by ${lib} (this folder), "<" = sent by the fake server (server/)`,
  ];
  const clientEntries = [];
  for (const e of server.log) {
    if (!e.msg) {
      seq.push(`${e.dir === 'in' ? '>' : '<'} (non-SIP frame ${JSON.stringify(e.data.toString())})`);
      continue;
    }
    const n = String(++counters[e.dir]).padStart(2, '0');
    let base = `${n}-${describe(e)}`;
    const key = `${e.dir}/${describe(e)}`;
    if (used.has(key)) base += '-again';
    used.add(key);
    const file = e.dir === 'in' ? path.join(dir, `${base}.sip`) : path.join(sdir, `${base}.sip`);
    await fs.writeFile(file, e.data); // Buffer (received) or string (sent) as-is
    seq.push(`${e.dir === 'in' ? '>' : '<'} ${e.dir === 'in' ? '' : 'server/'}${base}.sip    ${e.msg.startLine}`);
    if (e.dir === 'in') clientEntries.push(e);
  }
  await fs.writeFile(path.join(dir, 'sequence.txt'), seq.join('\n') + '\n');
  return { dir, clientEntries, count: counters };
}

async function main() {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ['jssip', 'sipjs'];
  for (const w of wanted) if (!DIRS[w]) throw new Error(`unknown library ${w} (jssip|sipjs)`);
  const versions = libraryVersions();
  const h = await startHarness();
  let failed = false;
  try {
    for (const lib of wanted) {
      const server = await startFakeSipServer({ users: { [USER]: PASSWORD }, realm: HOST });
      const page = await h.newPage();
      const browser = await page.evaluate(() => navigator.userAgent);
      const libVersion = lib === 'jssip' ? `jssip ${versions.jssip}` : `sip.js ${versions['sip.js']}`;
      const notes = [];
      try {
        await withTimeout(scenario(lib, page, server, notes), 90000, `${lib} scenario`);
      } catch (err) {
        failed = true;
        console.error(`${lib}: scenario failed: ${err.stack || err}`);
      }
      const events = await page.evaluate(() => window.harness.events.map((e) => `${e.type} ${JSON.stringify(e)}`));
      await page.close();
      await server.close();
      const { dir, clientEntries, count } = await writeFixtures(lib, server, {
        title: `${libVersion} in headless Chromium, SIP over WebSocket`,
        versions: Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', '),
        browser,
      });
      const problems = [...check(lib, clientEntries), ...server.errors];
      console.log(`${libVersion}: ${count.in} messages sent by the library, ${count.out} by the fake server -> ${path.relative(process.cwd(), dir)}`);
      for (const n of notes) console.log(`  note: ${n}`);
      for (const c of server.connectionHistory) console.log(`  ws connection ${c.id}: subprotocol offered "${c.offered}", chosen "${c.protocol}"`);
      for (const p of problems) console.log(`  PROBLEM: ${p}`);
      if (process.env.E2E_VERBOSE === '1') for (const e of events) console.log(`  event: ${e}`);
      if (problems.length) failed = true;
    }
  } finally {
    await h.close();
  }
  if (failed) {
    console.error('capture FAILED');
    process.exit(1);
  }
  console.log('capture ok');
}

main().catch((err) => {
  console.error(err.stack || err);
  process.exit(1);
});
