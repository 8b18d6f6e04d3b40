// SDP bodies for fake peers. They are syntactically what a WebRTC endpoint
// (ICE-lite gateway) would send, but nothing listens behind them: ICE and
// DTLS never complete. Good enough for signalling tests.
import crypto from 'node:crypto';
import { CRLF } from './sip-message.mjs';

function iceCreds() {
  return {
    ufrag: crypto.randomBytes(4).toString('hex'),
    pwd: crypto.randomBytes(12).toString('hex'),
  };
}

function fakeFingerprint() {
  return [...crypto.randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

function sessId() {
  return String(BigInt('0x' + crypto.randomBytes(7).toString('hex')));
}

const lines = (arr) => arr.join(CRLF) + CRLF;

/**
 * Answer to a browser offer: first m=audio only, opus if offered (else PCMU),
 * plus telephone-event at the codec's clock rate if offered, a=setup:passive, BUNDLE kept, ice-lite.
 * Other m-lines are rejected with port 0.
 */
export function webrtcAnswerFor(offer, { address = '127.0.0.1' } = {}) {
  const sections = offer.split(/\r?\n(?=m=)/);
  const media = sections.slice(1);
  const { ufrag, pwd } = iceCreds();
  const fp = fakeFingerprint();
  const out = ['v=0', `o=- ${sessId()} 1 IN IP4 ${address}`, 's=-', 't=0 0'];
  const mids = [];
  const body = [];
  let audioDone = false;
  for (const sec of media) {
    const mline = sec.split(/\r?\n/)[0];
    const mid = /a=mid:(\S+)/.exec(sec)?.[1];
    const [, kind, , proto] = /^m=(\S+) (\S+) (\S+)/.exec(mline);
    if (kind !== 'audio' || audioDone) {
      body.push(`m=${kind} 0 ${proto} ${mline.split(' ')[3] ?? '0'}`, `c=IN IP4 ${address}`);
      if (mid) body.push(`a=mid:${mid}`);
      continue;
    }
    audioDone = true;
    const rtpmap = [...sec.matchAll(/a=rtpmap:(\d+) ([^\r\n]+)/g)].map((m) => ({ pt: m[1], enc: m[2] }));
    const opus = rtpmap.find((r) => /^opus\/48000/i.test(r.enc));
    const pcmu = rtpmap.find((r) => /^PCMU\/8000/i.test(r.enc)) || { pt: '0', enc: 'PCMU/8000' };
    const codec = opus || pcmu;
    const rate = codec.enc.split('/')[1];
    const te = rtpmap.find((r) => r.enc.toLowerCase() === `telephone-event/${rate}`);
    const pts = [codec.pt, ...(te ? [te.pt] : [])];
    if (mid) mids.push(mid);
    body.push(
      `m=audio 9 ${proto} ${pts.join(' ')}`,
      `c=IN IP4 ${address}`,
      `a=rtcp:9 IN IP4 ${address}`,
      `a=ice-ufrag:${ufrag}`,
      `a=ice-pwd:${pwd}`,
      `a=fingerprint:sha-256 ${fp}`,
      'a=setup:passive',
      ...(mid ? [`a=mid:${mid}`] : []),
      'a=sendrecv',
      'a=rtcp-mux',
      `a=rtpmap:${codec.pt} ${codec.enc}`,
      ...(opus ? [`a=fmtp:${codec.pt} minptime=10;useinbandfec=1`] : []),
      ...(te ? [`a=rtpmap:${te.pt} ${te.enc}`, `a=fmtp:${te.pt} 0-15`] : []),
      `a=ssrc:${crypto.randomBytes(4).readUInt32BE()} cname:${crypto.randomBytes(8).toString('hex')}`,
    );
  }
  if (mids.length) out.push(`a=group:BUNDLE ${mids.join(' ')}`);
  out.push('a=ice-lite', 'a=msid-semantic: WMS');
  return lines([...out, ...body]);
}

/** A WebRTC-style audio offer (what a gateway would offer a browser). */
export function webrtcAudioOffer({ address = '127.0.0.1' } = {}) {
  const { ufrag, pwd } = iceCreds();
  return lines([
    'v=0',
    `o=- ${sessId()} 1 IN IP4 ${address}`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=ice-lite',
    'a=msid-semantic: WMS',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 101',
    `c=IN IP4 ${address}`,
    `a=rtcp:9 IN IP4 ${address}`,
    `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${pwd}`,
    `a=fingerprint:sha-256 ${fakeFingerprint()}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    `a=ssrc:${crypto.randomBytes(4).readUInt32BE()} cname:${crypto.randomBytes(8).toString('hex')}`,
  ]);
}

/** A plain SIP-trunk style offer: RTP/AVP, PCMU, no ICE, no DTLS. */
export function plainRtpAudioOffer({ address = '127.0.0.1', port = 40000 } = {}) {
  return lines([
    'v=0',
    `o=- ${sessId()} 1 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    'a=ptime:20',
    'a=sendrecv',
  ]);
}
