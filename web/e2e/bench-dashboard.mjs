// Dashboard benchmark: how fast the city dashboard shows its first complete view.
// For each run: a fresh browser context, a login through the API, open #/dashboard and wait for
// data-ready="1". Prints one JSON line per run and a final summary line.
//
// Env: URBIS_BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default /usr/bin/chromium),
// URBIS_USER (default leader), URBIS_PASSWORD (default urbis-demo-2026), RUNS (default 5).

import { chromium } from 'playwright-core';

const BASE = (process.env.URBIS_BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const USER = process.env.URBIS_USER || 'leader';
const PASSWORD = process.env.URBIS_PASSWORD || 'urbis-demo-2026';
const RUNS = Math.max(1, Number(process.env.RUNS || 5));
const TIMEOUT = Number(process.env.BENCH_TIMEOUT_MS || 60000);

function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const at = (q) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
  return {
    min: v[0],
    median: at(0.5),
    p95: at(0.95),
    max: v[v.length - 1],
    mean: Math.round(v.reduce((a, b) => a + b, 0) / v.length),
  };
}

async function login() {
  const res = await fetch(`${BASE}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: USER, password: PASSWORD }),
  });
  if (!res.ok) throw new Error(`login as ${USER} failed: ${res.status} ${await res.text()}`);
  return res.json();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const first = [];
  const apis = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const session = await login();
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
      await context.addInitScript(
        ({ token, user }) => {
          sessionStorage.setItem('urbis.token', token);
          sessionStorage.setItem('urbis.me', JSON.stringify(user));
          // Note the moment the page declares its first complete view.
          new MutationObserver((_, obs) => {
            if (document.documentElement.dataset.ready === '1' && location.hash.startsWith('#/dashboard')) {
              window.__urbisReadyAt = performance.now();
              obs.disconnect();
            }
          }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-ready'] });
        },
        { token: session.token, user: session.user },
      );
      const page = await context.newPage();
      await page.goto(`${BASE}/#/dashboard`);
      await page.waitForFunction(() => typeof window.__urbisReadyAt === 'number', null, { timeout: TIMEOUT, polling: 10 });
      const m = await page.evaluate(() => {
        const api = performance
          .getEntriesByType('resource')
          .filter((e) => e.name.includes('/api/v1/') && !e.name.includes('/api/v1/events') && e.responseEnd > 0 && e.startTime < window.__urbisReadyAt);
        return {
          first_complete_ms: Math.round(window.__urbisReadyAt),
          api_ms: Math.round(Math.max(0, ...api.map((e) => e.responseEnd - e.startTime))),
          api_calls: api.length,
        };
      });
      first.push(m.first_complete_ms);
      apis.push(m.api_ms);
      console.log(JSON.stringify({ run, ...m }));
      await context.close();
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ summary: { runs: RUNS, user: USER, first_complete_ms: stats(first), api_ms: stats(apis) } }));
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
