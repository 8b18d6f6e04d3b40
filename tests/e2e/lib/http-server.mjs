// Tiny static HTTP server on 127.0.0.1:<ephemeral>. getUserMedia needs a
// secure context, and http://127.0.0.1 counts as one (about:blank does not).
import http from 'node:http';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wav': 'audio/wav',
};

function typeOf(p) {
  const ext = p.slice(p.lastIndexOf('.'));
  return TYPES[ext] || 'application/octet-stream';
}

/**
 * routes: { '/path': string | Buffer | { body, type } }. '/' is an alias of
 * '/index.html'. Returns { url, port, close() }.
 */
export async function startStaticServer(routes, { host = '127.0.0.1' } = {}) {
  const server = http.createServer((req, res) => {
    let p = new URL(req.url, 'http://x').pathname;
    if (p === '/') p = '/index.html';
    const r = routes[p];
    if (r === undefined || req.method !== 'GET') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = typeof r === 'string' || Buffer.isBuffer(r) ? r : r.body;
    const type = (r && r.type) || typeOf(p);
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://${host}:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
