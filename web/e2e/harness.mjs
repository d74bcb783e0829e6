// What every step of the browser run shares: where the server and Chromium are, the demo
// password, the step runner (one line of output per step, a screenshot after each), logins
// through the login page, API calls, and small page helpers. Used by run.mjs and the step
// modules it calls.
//
// Env: URBIS_BASE_URL (default http://127.0.0.1:8080), URBIS_SCREENSHOTS (PNG directory, created
// if missing; default ./e2e-screenshots), CHROMIUM (default /usr/bin/chromium), E2E_TIMEOUT_MS.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const BASE = (process.env.URBIS_BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
export const SHOTS = path.resolve(process.env.URBIS_SCREENSHOTS || path.join(process.cwd(), 'e2e-screenshots'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'urbis-demo-2026';
export const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 20000);

fs.mkdirSync(SHOTS, { recursive: true });

export const results = [];
let shotNo = 0;

export async function shot(page, name) {
  shotNo += 1;
  const file = path.join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true, timeout: 10000 });
  } catch {
    // a failed screenshot must not hide the step's own result
  }
  return file;
}

/** Thrown by a step whose feature depends on an endpoint that is not deployed. */
export class Skip extends Error {}

/** Throws Skip when `path` answers 404/405 as an unknown route. */
export async function requireEndpoint(method, p, token, body) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 405) throw new Skip(`${method} ${p} is not deployed`);
  if (res.status === 404) {
    const err = await res.json().catch(() => ({}));
    const code = err.code ?? err.error?.code ?? '';
    if (code === '' || code === 'not_found') throw new Skip(`${method} ${p} is not deployed`);
  }
}

export async function step(name, page, fn, { optional = false } = {}) {
  const started = Date.now();
  try {
    const note = await fn();
    const ms = Date.now() - started;
    results.push({ name, ok: true });
    console.log(`PASS ${name} (${ms} ms)${note ? ` — ${note}` : ''}`);
    if (page) await shot(page, name);
    return true;
  } catch (err) {
    const ms = Date.now() - started;
    if (page) await shot(page, `${name}-FAILED`);
    if (optional || err instanceof Skip) {
      results.push({ name, ok: true, skipped: true });
      console.log(`SKIP ${name} (${ms} ms) — ${String(err.message).split('\n')[0]}`);
      return false;
    }
    results.push({ name, ok: false });
    console.log(`FAIL ${name} (${ms} ms) — ${String(err.message).split('\n').slice(0, 3).join(' | ')}`);
    return false;
  }
}

export function need(cond, message) {
  if (!cond) throw new Error(message);
}

export const waitReady = (page) => page.waitForFunction(() => document.documentElement.dataset.ready === '1', null, { timeout: TIMEOUT });

export async function goto(page, route) {
  await page.evaluate(() => (document.documentElement.dataset.ready = '0')).catch(() => undefined);
  const target = `${BASE}/#/${route}`;
  if (page.url() === target) await page.reload();
  else await page.goto(target);
  await waitReady(page);
}

/** A fresh browser context (own sessionStorage) logged in through the login page. */
export async function actor(browser, username, route) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (err) => console.log(`  [${username}] page error: ${(err.stack || err.message).split('\n').slice(0, 4).join(' <- ')}`));
  await page.goto(`${BASE}/#/login?next=${route}`);
  await waitReady(page);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.evaluate(() => (document.documentElement.dataset.ready = '0'));
  await page.click('form button[type=submit]');
  // Logged in when the page moves on; a refusal (say a throttled login) shows on the form instead.
  await page.waitForFunction((r) => location.hash.startsWith(`#/${r}`) || document.querySelector('form .status.error'), route, { timeout: TIMEOUT });
  const refused = await page.evaluate(() => document.querySelector('form .status.error')?.textContent ?? '');
  if (refused) throw new Error(`login of ${username} refused: ${refused}`);
  await waitReady(page);
  return { context, page };
}

export async function api(method, p, { token, body, form } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let payload;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${BASE}${p}`, { method, headers, body: payload });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${text.slice(0, 200)}`);
  return json;
}

export async function selectOptionByText(page, selector, text) {
  const value = await page.$eval(
    selector,
    (sel, t) => {
      const o = [...sel.options].find((x) => x.textContent.trim() === t);
      return o ? o.value : null;
    },
    text,
  );
  need(value !== null, `no option "${text}" in ${selector}`);
  await page.selectOption(selector, value);
}

/** A tiny valid PNG, for the optional photo upload. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);
