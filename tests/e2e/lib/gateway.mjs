// The gateway and its SIP network for browser tests: Kamailio (the
// registrar of tests/integration/kamailio/registrar.cfg, password "secret")
// and webrtc2sip-signaling with ws and wss listeners. Real processes on
// 127.0.0.1, started here and stopped by PID.
import { spawn, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.W2S_SOURCE_DIR || path.resolve(here, '../../..');
export const BUILD_DIR = process.env.W2S_BUILD_DIR || path.join(SOURCE_DIR, 'build');
const LOOPBACK = '127.0.0.1';

/** A port free for both TCP and UDP on 127.0.0.1. */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, LOOPBACK, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, LOOPBACK, () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

function startProcess(argv, name, dir) {
  const log = fs.openSync(path.join(dir, `${name}.log`), 'w');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log], detached: true });
  child.logPath = path.join(dir, `${name}.log`);
  return child;
}

async function waitFor(check, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function httpOk(port, p) {
  try {
    const res = await fetch(`http://${LOOPBACK}:${port}${p}`);
    return res.status === 200;
  } catch {
    return false;
  }
}

async function sipAnswers(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (v) => { clearTimeout(t); s.close(); resolve(v); };
    const t = setTimeout(() => done(false), 300);
    s.on('message', () => done(true));
    s.bind(0, LOOPBACK, () => {
      const me = s.address().port;
      const id = `${Date.now()}${Math.random()}`;
      s.send(`OPTIONS sip:${LOOPBACK}:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${LOOPBACK}:${me};branch=z9hG4bK${id}\r\n` +
        `From: <sip:probe@${LOOPBACK}>;tag=p\r\nTo: <sip:${LOOPBACK}>\r\nCall-ID: ${id}\r\nCSeq: 1 OPTIONS\r\n` +
        'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n', port, LOOPBACK);
    });
  });
}

/** A self-signed certificate for 127.0.0.1, for the wss listener. */
function makeCertificate(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key, cert };
}

/**
 * Starts Kamailio and the signaling service (and, with mediaRelay, a
 * media-relay node). `media`, if given, is the config's `media` block (e.g.
 * { enable_media_coder: true, codecs: ['opus', 'gsm', 'pcmu'] }), written into
 * both services' configs as production does. Returns { dir, domain, wsUri,
 * wssUri, httpPort, metrics(), relayMetrics(), stop() }.
 */
export async function startGateway({ logLevel = 'info', mediaRelay = false, media } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'w2s-e2e-gw-'));
  const kamPort = await freePort();
  const kamailio = startProcess(['kamailio', '-f', path.join(SOURCE_DIR, 'tests/integration/kamailio/registrar.cfg'),
    '-l', `udp:${LOOPBACK}:${kamPort}`, '-D', '-E', '-w', dir, '-m', '32', '-M', '8', '-n', '2'], 'kamailio', dir);
  await waitFor(() => sipAnswers(kamPort), 'kamailio');

  let relay = null;
  let relayHttp = 0;
  let grpcPort = await freePort();
  if (mediaRelay) {
    relayHttp = await freePort();
    const relayConfig = {
      log: { level: logLevel, format: 'kv' },
      ...(media ? { media } : {}),
      media_relay: {
        grpc_listen: `${LOOPBACK}:${grpcPort}`, http_listen: `${LOOPBACK}:${relayHttp}`,
        bind_address: LOOPBACK, port_range: { min: 40000, max: 44999 }, workers: 1,
      },
    };
    const relayPath = path.join(dir, 'media-relay.yaml');
    fs.writeFileSync(relayPath, JSON.stringify(relayConfig, null, 2));
    relay = startProcess([path.join(BUILD_DIR, 'services/media-relay/webrtc2sip-media-relay'), '--config', relayPath],
      'media-relay', dir);
    await waitFor(() => httpOk(relayHttp, '/readyz'), `media-relay /readyz (log: ${relay.logPath})`);
  }

  const { key, cert } = makeCertificate(dir);
  const [sipPort, wsPort, wssPort, httpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = {
    log: { level: logLevel, format: 'kv' },
    ...(media ? { media } : {}),
    signaling: {
      transports: [
        { protocol: 'udp', address: LOOPBACK, port: sipPort },
        { protocol: 'ws', address: LOOPBACK, port: wsPort },
        { protocol: 'wss', address: LOOPBACK, port: wssPort },
      ],
      ssl_certificates: { private_key: key, certificate: cert },
      http_listen: `${LOOPBACK}:${httpPort}`,
      outbound_proxy: `sip:${LOOPBACK}:${kamPort};transport=udp`,
      media_nodes: { addresses: [`${LOOPBACK}:${grpcPort}`] },
      allow_ha1_over_ws: true,
    },
  };
  // YAML is a superset of JSON.
  const configPath = path.join(dir, 'webrtc2sip.yaml');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  const signaling = startProcess([path.join(BUILD_DIR, 'services/signaling/webrtc2sip-signaling'), '--config', configPath],
    'signaling', dir);
  await waitFor(() => httpOk(httpPort, '/readyz'), 'signaling /readyz');

  const stopChild = async (child) => {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 10000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return {
    dir,
    domain: `${LOOPBACK}:${kamPort}`,
    wsUri: `ws://${LOOPBACK}:${wsPort}`,
    wssUri: `wss://${LOOPBACK}:${wssPort}`,
    httpPort,
    signalingLog: signaling.logPath,
    relayLog: relay?.logPath,
    kamPort,
    async metrics() {
      return (await fetch(`http://${LOOPBACK}:${httpPort}/metrics`)).text();
    },
    async relayMetrics() {
      return (await fetch(`http://${LOOPBACK}:${relayHttp}/metrics`)).text();
    },
    async stop() {
      const code = await stopChild(signaling);
      if (relay) await stopChild(relay);
      await stopChild(kamailio);
      return code;
    },
  };
}
