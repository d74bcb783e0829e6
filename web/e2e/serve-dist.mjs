// Development helper: serves web/dist and proxies /api, /open311, /healthz and /metrics to a
// running urbis (URBIS_API, default http://127.0.0.1:8091), like the Rust server will.
// Usage: node e2e/serve-dist.mjs [port]   (prints "listening on http://127.0.0.1:PORT")

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.URBIS_WEB_OUT || path.join(here, '..', 'dist'));
const api = new URL(process.env.URBIS_API || 'http://127.0.0.1:8091');
const port = Number(process.argv[2] || process.env.PORT || 0);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

function proxy(req, res) {
  const upstream = http.request(
    { hostname: api.hostname, port: api.port, path: req.url, method: req.method, headers: { ...req.headers, host: api.host } },
    (up) => {
      res.writeHead(up.statusCode || 502, up.headers);
      res.flushHeaders();
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'bad_gateway', message: String(err.message) }));
  });
  req.pipe(upstream);
  res.on('close', () => upstream.destroy());
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (/^\/(api|open311)\//.test(url.pathname) || url.pathname === '/healthz' || url.pathname === '/metrics') return proxy(req, res);
  let file = path.normalize(path.join(root, decodeURIComponent(url.pathname)));
  if (!file.startsWith(root)) {
    res.writeHead(400);
    return res.end();
  }
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(root, 'index.html');
  const type = TYPES[path.extname(file)] || 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable' });
  fs.createReadStream(file).pipe(res);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
