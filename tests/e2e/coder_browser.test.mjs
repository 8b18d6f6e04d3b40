// The Media Coder with a real browser. Headless Chromium (SIP.js,
// rtcweb-breaker=yes), whose fake microphone is a WAV file holding a 1000 Hz
// tone, calls a legacy phone that speaks only GSM. Chromium has no GSM: the
// call carries audio only if the media-relay transcodes opus <-> gsm.
// Audio content is checked, not just packets, and each direction on its own:
// - browser -> phone: the phone's RTP peer (here, in Node) gets GSM, decodes it
//   with sox and must find the browser's 1000 Hz tone at its level;
// - phone -> browser: the peer sends a 600 Hz tone in GSM, the page hears it
//   through WebAudio and must find 600 Hz (not its own 1000 Hz echoed).
// A call to a PCMU phone, a codec both sides share, must start no transcoder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { startHarness } from './lib/harness.mjs';
import { BrowserUA } from './lib/page-client.mjs';
import { startGateway, freePort, SOURCE_DIR } from './lib/gateway.mjs';

const BROWSER_TONE = { hz: 1000, dbfs: -12 };
const PHONE_TONE = { hz: 600, dbfs: -12 };
const FREQUENCY_TOLERANCE = 0.05;
// Opus, GSM and two resamplings on the way: a level off by more than this is a gain bug.
const LEVEL_TOLERANCE_DB = 6;
// Share of the signal's power within ±5% of the dominant frequency: a tone, not noise.
const MIN_TONE_SHARE = 0.5;
// Echo cancellation, noise suppression and gain control would reshape a steady
// test tone (and cancel its echo): the microphone is sent as the file has it.
const RAW_MIC = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

// ---------------------------------------------------------------- tones

/** `seconds` of a sine whose peak is `dbfs`, 16-bit mono. */
function sine({ hz, dbfs }, rate, seconds) {
  const pcm = new Int16Array(Math.round(rate * seconds));
  const amplitude = 32767 * 10 ** (dbfs / 20);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return pcm;
}

function writeWav(file, pcm, rate) {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.byteLength, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28); // bytes per second
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36);
  header.writeUInt32LE(pcm.byteLength, 40);
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]));
}

/** In-place iterative radix-2 FFT; re.length is a power of two. */
function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

/**
 * The dominant tone of `samples` (numbers in [-1, 1]; the last power of two of
 * them is used): { hz, levelDbfs (a full-scale sine is 0), share (of the power
 * within ±5% of hz) }.
 */
function analyzeTone(samples, rate) {
  const n = 2 ** Math.floor(Math.log2(samples.length));
  const x = samples.slice(samples.length - n);
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const rms = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) re[i] = (x[i] - mean) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
  fft(re, im);
  const binHz = rate / n;
  const power = (k) => re[k] * re[k] + im[k] * im[k];
  const lo = Math.ceil(50 / binHz);
  let peak = lo;
  let total = 0;
  for (let k = lo; k < n / 2; k++) {
    total += power(k);
    if (power(k) > power(peak)) peak = k;
  }
  // Parabolic interpolation of the peak on log power.
  const [a, b, c] = [peak - 1, peak, peak + 1].map((k) => Math.log(power(k) + 1e-30));
  const hz = (peak + (0.5 * (a - c)) / (a - 2 * b + c || 1)) * binHz;
  let near = 0;
  for (let k = Math.ceil((hz * (1 - FREQUENCY_TOLERANCE)) / binHz); k <= (hz * (1 + FREQUENCY_TOLERANCE)) / binHz; k++) {
    near += power(k);
  }
  return {
    hz: Math.round(hz * 10) / 10,
    levelDbfs: Math.round(20 * Math.log10(rms * Math.SQRT2 + 1e-12) * 10) / 10,
    share: total > 0 ? Math.round((near / total) * 1000) / 1000 : 0,
  };
}

/** What is wrong with `tone` for the `expected` one: [] when it matches. */
function toneMismatch(tone, expected) {
  const wrong = [];
  if (Math.abs(tone.hz - expected.hz) > expected.hz * FREQUENCY_TOLERANCE) {
    wrong.push(`dominant frequency ${tone.hz} Hz, expected ${expected.hz} Hz ±${FREQUENCY_TOLERANCE * 100}%`);
  }
  if (Math.abs(tone.levelDbfs - expected.dbfs) > LEVEL_TOLERANCE_DB) {
    wrong.push(`level ${tone.levelDbfs} dBFS, expected ${expected.dbfs} ±${LEVEL_TOLERANCE_DB} dB`);
  }
  if (tone.share < MIN_TONE_SHARE) wrong.push(`only ${tone.share} of the power is in the tone`);
  return wrong;
}

function pcmToFloat(buf) {
  const out = new Array(buf.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(2 * i) / 32768;
  return out;
}

// ---------------------------------------------------------------- phones

function metric(text, name, labels) {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Sum of a metric over all its label sets. */
function metricSum(text, name) {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

async function waitUntil(check, timeoutMs, stepMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

function spawnSipp(args, dir, name) {
  const sipp = spawn('sipp', [...args, '-i', '127.0.0.1', '-m', '1', '-nostdin', '-timeout', '90s', '-timeout_error',
    '-trace_msg', '-message_file', path.join(dir, `${name}-messages.log`),
    '-trace_err', '-error_file', path.join(dir, `${name}-errors.log`),
    '-trace_logs', '-log_file', path.join(dir, `${name}.log`)],
  { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => sipp.once('exit', (code) => r(code)));
  return { exited, kill: () => { try { process.kill(-sipp.pid, 'SIGKILL'); } catch {} } };
}

/** Binds a UDP socket on 127.0.0.1, RTP on an even port and RTCP on the next. */
async function bindRtpPair() {
  for (;;) {
    const port = (await freePort()) & ~1;
    const sockets = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    const ok = await Promise.all(sockets.map((s, i) => new Promise((r) => {
      s.once('error', () => r(false));
      s.bind(port + i, '127.0.0.1', () => r(true));
    })));
    if (ok.every(Boolean)) return { port, rtp: sockets[0], rtcp: sockets[1] };
    for (const s of sockets) try { s.close(); } catch {}
  }
}

/**
 * A legacy phone that speaks only GSM: SIPp answers the INVITE
 * (tests/integration/sipp/uas_gsm.xml: payload type 3, and fails unless the
 * offer has GSM); its media is an RTP peer here, which records what arrives and
 * sends `tone` in GSM (encoded by sox) to the node's legacy address.
 */
async function startGsmPhone(dir, tone) {
  const sipPort = await freePort();
  const media = await bindRtpPair();
  const received = [];
  media.rtp.on('message', (msg) => {
    if (msg.length < 12 || msg[0] >> 6 !== 2) return;
    let offset = 12 + 4 * (msg[0] & 0x0f);
    if (msg[0] & 0x10) offset += 4 + 4 * msg.readUInt16BE(offset + 2);
    received.push({ pt: msg[1] & 0x7f, seq: msg.readUInt16BE(2), payload: msg.subarray(offset) });
  });
  const gsm = execFileSync('sox', ['-t', 's16', '-r', '8000', '-c', '1', '-', '-t', 'gsm', '-'],
    { input: Buffer.from(sine(tone, 8000, 10).buffer) });
  const frames = [];
  for (let i = 0; i + 33 <= gsm.length; i += 33) frames.push(gsm.subarray(i, i + 33));

  const sipp = spawnSipp(['-sf', path.join(SOURCE_DIR, 'tests/integration/sipp/uas_gsm.xml'),
    '-set', 'rtp_port', String(media.port), '-p', String(sipPort), '-mi', '127.0.0.1',
    '-mp', String((await freePort()) & ~1)], dir, 'sipp-gsm');
  await new Promise((r) => setTimeout(r, 500));
  let timer = null;
  return {
    uri: `sip:uas@127.0.0.1:${sipPort}`,
    exited: sipp.exited,
    received,
    /** The node's legacy RTP address, from the INVITE's SDP as SIPp logged it. */
    async nodeAddress() {
      const file = path.join(dir, 'sipp-gsm-messages.log');
      return waitUntil(() => {
        const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
        const invite = text.slice(text.indexOf('INVITE sip:'));
        const c = /^c=IN IP4 (\S+)/m.exec(invite);
        const m = /^m=audio (\d+) /m.exec(invite);
        return text.includes('INVITE sip:') && c && m ? { address: c[1], port: Number(m[1]) } : null;
      }, 10000);
    },
    /** Sends the tone, one 20 ms GSM frame per packet, paced by the clock. */
    startSending({ address, port }) {
      const ssrc = Math.floor(Math.random() * 2 ** 32);
      let seq = Math.floor(Math.random() * 65536);
      let ts = Math.floor(Math.random() * 2 ** 32);
      let sent = 0;
      const start = Date.now();
      timer = setInterval(() => {
        for (; sent <= (Date.now() - start) / 20; sent++) {
          const header = Buffer.alloc(12);
          header[0] = 0x80;
          header[1] = (sent === 0 ? 0x80 : 0) | 3;
          header.writeUInt16BE(seq, 2);
          header.writeUInt32BE(ts >>> 0, 4);
          header.writeUInt32BE(ssrc >>> 0, 8);
          media.rtp.send(Buffer.concat([header, frames[sent % frames.length]]), port, address);
          seq = (seq + 1) & 0xffff;
          ts = (ts + 160) % 2 ** 32;
        }
      }, 10);
    },
    /** What arrived in GSM, decoded by sox, skipping the first `skipSeconds`. */
    decodeReceived(skipSeconds = 0.5) {
      const payload = Buffer.concat(received.filter((p) => p.pt === 3).map((p) => p.payload));
      if (!payload.length) return [];
      const pcm = execFileSync('sox', ['-t', 'gsm', '-r', '8000', '-c', '1', '-', '-t', 's16', '-'], { input: payload });
      return pcmToFloat(pcm).slice(Math.round(8000 * skipSeconds));
    },
    stop() {
      clearInterval(timer);
      sipp.kill();
      media.rtp.close();
      media.rtcp.close();
    },
  };
}

/** The PCMU phone of the breaker tests: SIPp answers PCMU and echoes RTP. */
async function startPcmuEchoPhone(dir) {
  const port = await freePort();
  const sipp = spawnSipp(['-sf', path.join(SOURCE_DIR, 'tests/integration/sipp/uas_echo.xml'),
    '-p', String(port), '-mi', '127.0.0.1', '-mp', String((await freePort()) & ~1), '-rtp_echo'], dir, 'sipp-pcmu');
  await new Promise((r) => setTimeout(r, 500));
  return { uri: `sip:uas@127.0.0.1:${port}`, exited: sipp.exited, stop: sipp.kill };
}

// ---------------------------------------------------------------- tests

let h;
let gw;
before(async () => {
  gw = await startGateway({
    mediaRelay: true,
    logLevel: process.env.E2E_LOG_LEVEL || 'info',
    media: { enable_media_coder: true, codecs: ['opus', 'gsm', 'pcmu'] },
  });
  const wav = path.join(gw.dir, `mic-${BROWSER_TONE.hz}hz.wav`);
  writeWav(wav, sine(BROWSER_TONE, 48000, 10), 48000);
  h = await startHarness({ fakeAudioFile: wav, extraArgs: ['--ignore-certificate-errors'] });
});
after(async () => {
  await h?.close();
  const code = await gw?.stop();
  assert.equal(code, 0, `signaling exit status (log: ${gw?.signalingLog})`);
});

const breakerUA = (user) => ({ lib: 'sipjs', wsUri: gw.wsUri, uri: `sip:${user}@${gw.domain}`, password: 'secret',
  sipjsConfig: { contactParams: { 'rtcweb-breaker': 'yes' } } });

test('the tone check tells tones, levels and silence apart', () => {
  const at = (tone, rate) => analyzeTone(pcmToFloat(Buffer.from(sine(tone, rate, 1).buffer)), rate);
  assert.deepEqual(toneMismatch(at(BROWSER_TONE, 48000), BROWSER_TONE), []);
  assert.deepEqual(toneMismatch(at(PHONE_TONE, 8000), PHONE_TONE), []);
  assert.notDeepEqual(toneMismatch(at(PHONE_TONE, 8000), BROWSER_TONE), []);
  assert.notDeepEqual(toneMismatch(at({ hz: 500, dbfs: -12 }, 48000), BROWSER_TONE), []);
  assert.notDeepEqual(toneMismatch(at({ hz: 1000, dbfs: -40 }, 48000), BROWSER_TONE), []);
  assert.notDeepEqual(toneMismatch(analyzeTone(new Array(8192).fill(0), 8000), BROWSER_TONE), []);
});

test('a breaker call to a GSM-only phone is transcoded opus<->gsm; each side hears the other\'s tone',
  { timeout: 120000 }, async (t) => {
    const phone = await startGsmPhone(gw.dir, PHONE_TONE);
    const page = await h.newPage();
    const logs = `(logs in ${gw.dir})`;
    try {
      const before = await gw.relayMetrics();
      const ua = await BrowserUA.create(page, breakerUA('coder-gsm'));
      await ua.register();
      const call = await ua.call(phone.uri, { audio: RAW_MIC });
      await call.waitState('established', { timeout: 30000 });
      const node = await phone.nodeAddress();
      assert.ok(node, `SIPp logged the INVITE's SDP ${logs}`);
      phone.startSending(node);

      const gotGsm = await waitUntil(() => phone.received.length >= 150, 20000);
      const browserPackets = await call.inboundPackets();
      assert.ok(gotGsm, `the phone received ${phone.received.length} RTP packets from the node ${logs}`);
      const notGsm = phone.received.filter((p) => p.pt !== 3 || p.payload.length % 33 !== 0);
      assert.equal(notGsm.length, 0, `every packet to the phone is GSM (payload type 3, 33-byte frames); ` +
        `first other: pt ${notGsm[0]?.pt}, ${notGsm[0]?.payload.length} bytes ${logs}`);
      assert.ok(browserPackets > 100, `the browser received ${browserPackets} audio packets ${logs}`);

      const relay = await gw.relayMetrics();
      const started = (from, to) => metric(relay, 'webrtc2sip_coder_streams_total', `from="${from}",to="${to}"`) -
        metric(before, 'webrtc2sip_coder_streams_total', `from="${from}",to="${to}"`);
      assert.equal(started('opus', 'gsm'), 1, `one opus->gsm transcoder started ${logs}`);
      assert.equal(started('gsm', 'opus'), 1, `one gsm->opus transcoder started ${logs}`);
      for (const [from, to] of [['opus', 'gsm'], ['gsm', 'opus']]) {
        assert.ok(metric(relay, 'webrtc2sip_coder_streams_active', `from="${from}",to="${to}"`) >= 1,
          `the ${from}->${to} transcoder is running during the call`);
      }

      // Browser -> phone: the 1000 Hz tone, sent in Opus, arrives in GSM.
      const atPhone = analyzeTone(phone.decodeReceived(), 8000);
      t.diagnostic(`phone heard (GSM, ${phone.received.length} packets): ${JSON.stringify(atPhone)}`);
      assert.deepEqual(toneMismatch(atPhone, BROWSER_TONE), [],
        `the phone hears the browser's tone: ${JSON.stringify(atPhone)} ${logs}`);
      // Phone -> browser: the 600 Hz tone, sent in GSM, arrives in Opus (not the browser's own tone).
      const heard = await call.remoteAudio({ settleMs: 1000 });
      const atBrowser = analyzeTone(heard.samples, heard.sampleRate);
      t.diagnostic(`browser heard (${heard.sampleRate} Hz): ${JSON.stringify(atBrowser)}`);
      assert.deepEqual(toneMismatch(atBrowser, PHONE_TONE), [],
        `the browser hears the phone's tone: ${JSON.stringify(atBrowser)} ${logs}`);
      assert.notDeepEqual(toneMismatch(atBrowser, BROWSER_TONE), [], 'the browser does not hear itself');

      await call.hangup();
      assert.equal(await phone.exited, 0, `SIPp saw GSM offered and finished its scenario (INVITE, ACK, BYE) ${logs}`);
      const idle = await waitUntil(async () =>
        metricSum(await gw.relayMetrics(), 'webrtc2sip_coder_streams_active') === 0, 10000);
      assert.ok(idle, `the transcoders stop with the call ${logs}`);
    } finally {
      phone.stop();
      await page.close();
    }
  });

test('a breaker call to a PCMU phone (a shared codec) starts no transcoder; the browser hears its echo',
  { timeout: 120000 }, async (t) => {
    const phone = await startPcmuEchoPhone(gw.dir);
    const page = await h.newPage();
    const logs = `(logs in ${gw.dir})`;
    try {
      const before = await gw.relayMetrics();
      const ua = await BrowserUA.create(page, breakerUA('coder-pcmu'));
      await ua.register();
      const call = await ua.call(phone.uri, { audio: RAW_MIC });
      await call.waitState('established', { timeout: 30000 });
      const flowing = await waitUntil(async () => (await call.inboundPackets()) > 100, 20000);
      assert.ok(flowing, `the browser received its echo: ${await call.inboundPackets()} packets ${logs}`);
      const heard = await call.remoteAudio({ settleMs: 1000 });
      const atBrowser = analyzeTone(heard.samples, heard.sampleRate);
      t.diagnostic(`browser heard its echo (${heard.sampleRate} Hz): ${JSON.stringify(atBrowser)}`);
      assert.deepEqual(toneMismatch(atBrowser, BROWSER_TONE), [],
        `the browser hears its own tone back through PCMU: ${JSON.stringify(atBrowser)} ${logs}`);

      const relay = await gw.relayMetrics();
      assert.ok(metric(relay, 'webrtc2sip_media_packets_total', 'leg="legacy",direction="in"') -
        metric(before, 'webrtc2sip_media_packets_total', 'leg="legacy",direction="in"') > 50, 'the phone sent RTP to the node');
      assert.equal(metricSum(relay, 'webrtc2sip_coder_streams_total'), metricSum(before, 'webrtc2sip_coder_streams_total'),
        `no transcoder started for a codec both legs share ${logs}`);
      assert.equal(metricSum(relay, 'webrtc2sip_coder_streams_active'), 0, 'no transcoder is running');
      await call.hangup();
      assert.equal(await phone.exited, 0, `SIPp finished its scenario (INVITE, ACK, BYE) ${logs}`);
    } finally {
      phone.stop();
      await page.close();
    }
  });
