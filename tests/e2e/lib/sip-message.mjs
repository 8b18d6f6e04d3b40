// Minimal SIP message parsing/building for test-side fake servers.
// Not a SIP stack: just enough to read what a browser library sent and to
// write plausible requests/responses back (RFC 3261 text, CRLF line endings).
import crypto from 'node:crypto';

export const CRLF = '\r\n';

const COMPACT = {
  v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length',
  c: 'content-type', k: 'supported', s: 'subject', e: 'content-encoding',
  o: 'event', r: 'refer-to', b: 'referred-by', u: 'allow-events', x: 'session-expires',
};

export function randomToken(bytes = 8) {
  return crypto.randomBytes(bytes).toString('hex');
}

export function newBranch() {
  return 'z9hG4bK' + randomToken(8);
}

export class SipMessage {
  constructor(raw) {
    this.raw = raw;
    const idx = raw.indexOf(CRLF + CRLF);
    if (idx < 0) throw new Error('SIP message without empty line after headers');
    const lines = raw.slice(0, idx).split(CRLF);
    this.body = raw.slice(idx + 4);
    this.startLine = lines.shift();
    /** @type {{name: string, value: string}[]} header lines in order (folded lines joined) */
    this.headers = [];
    for (const line of lines) {
      if (/^[ \t]/.test(line) && this.headers.length) {
        this.headers[this.headers.length - 1].value += ' ' + line.trim();
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
      this.headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
    }
    let m;
    if ((m = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(this.startLine))) {
      this.isResponse = true;
      this.status = Number(m[1]);
      this.reason = m[2];
    } else if ((m = /^([A-Za-z]+) (\S+) SIP\/2\.0$/.exec(this.startLine))) {
      this.isRequest = true;
      this.method = m[1];
      this.ruri = m[2];
    } else {
      throw new Error(`bad start line: ${JSON.stringify(this.startLine)}`);
    }
  }

  static canonical(name) {
    const n = name.toLowerCase();
    return COMPACT[n] || n;
  }

  /** All values of a header, one per header line (not split at commas). */
  getAll(name) {
    const want = SipMessage.canonical(name);
    return this.headers.filter((h) => SipMessage.canonical(h.name) === want).map((h) => h.value);
  }

  get(name) {
    return this.getAll(name)[0];
  }

  has(name) {
    return this.getAll(name).length > 0;
  }

  get cseq() {
    const m = /^(\d+)\s+([A-Za-z]+)/.exec(this.get('cseq') || '');
    return m ? { seq: Number(m[1]), method: m[2].toUpperCase() } : undefined;
  }

  get callId() {
    return this.get('call-id');
  }

  /** Branch of the top Via. */
  get branch() {
    const via = this.get('via') || '';
    const m = /;\s*branch=([^;,\s]+)/i.exec(via);
    return m ? m[1] : undefined;
  }

  /** Short label: the method for requests, "<status>-<CSeq method>" for responses. */
  get kind() {
    return this.isRequest ? this.method : `${this.status}-${this.cseq?.method}`;
  }
}

/** Split a header value at top-level commas (outside quotes and <>). */
export function splitHeaderValues(value) {
  const out = [];
  let cur = '';
  let quoted = false;
  let angle = 0;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === '<') angle++;
    if (!quoted && ch === '>') angle--;
    if (ch === ',' && !quoted && angle === 0) {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** URI inside a name-addr (`"x" <sip:a@b>;p` -> `sip:a@b`) or an addr-spec. */
export function uriOf(nameAddr) {
  const m = /<([^>]*)>/.exec(nameAddr);
  if (m) return m[1];
  return nameAddr.split(';')[0].trim();
}

/** Value of a header parameter after the URI, e.g. tag or expires. */
export function headerParam(value, param) {
  const afterUri = value.includes('>') ? value.slice(value.lastIndexOf('>') + 1) : value.slice(value.indexOf(';'));
  const re = new RegExp(`;\\s*${param}(?:=("[^"]*"|[^;,\\s]*))?`, 'i');
  const m = re.exec(afterUri);
  if (!m) return undefined;
  return m[1] === undefined ? '' : m[1].replace(/^"|"$/g, '');
}

export function userOf(uri) {
  const m = /^sips?:([^@;>]+)@/.exec(uri);
  return m ? m[1] : undefined;
}

export function buildMessage(startLine, headers, body = '') {
  const lines = [startLine];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (body) {
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  } else {
    lines.push('Content-Length: 0');
  }
  return lines.join(CRLF) + CRLF + CRLF + body;
}

/**
 * Build a response to `req`: copies Via (all, in order), From, To (adding
 * toTag when the request's To has none), Call-ID and CSeq.
 * extraHeaders: [[name, value], ...]; a 'Content-Type' there goes with body.
 */
export function buildResponse(req, status, reason, { toTag, headers = [], body = '' } = {}) {
  const h = [];
  for (const hd of req.headers) {
    if (SipMessage.canonical(hd.name) === 'via') h.push(['Via', hd.value]);
  }
  h.push(['From', req.get('from')]);
  let to = req.get('to');
  if (toTag && headerParam(to, 'tag') === undefined && status !== 100) to += `;tag=${toTag}`;
  h.push(['To', to]);
  h.push(['Call-ID', req.callId]);
  h.push(['CSeq', req.get('cseq')]);
  h.push(...headers);
  return buildMessage(`SIP/2.0 ${status} ${reason}`, h, body);
}

// ---- Digest (RFC 2617 / RFC 8760 MD5, qop=auth) ----

export function parseAuthParams(value) {
  const params = {};
  const s = value.replace(/^\s*Digest\s+/i, '');
  const re = /([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)/g;
  let m;
  while ((m = re.exec(s))) params[m[1].toLowerCase()] = m[3] !== undefined ? m[3] : m[2];
  return params;
}

const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');

/** Returns true when the Authorization/Proxy-Authorization value is a valid answer. */
export function checkDigest(authValue, method, password) {
  const p = parseAuthParams(authValue);
  const ha1 = md5(`${p.username}:${p.realm}:${password}`);
  const ha2 = md5(`${method}:${p.uri}`);
  const expected = p.qop
    ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`)
    : md5(`${ha1}:${p.nonce}:${ha2}`);
  return expected === p.response;
}
