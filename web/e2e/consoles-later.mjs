// The second half of the consoles checks (see consoles.mjs): the dashboard as a wall screen and its
// click-throughs, the admin's limits, keys, office hours and taxonomy, and the screenshots at the
// screen sizes people use (each console at 1366×768 and 1920×1080, the portal at 390×844).

import path from 'node:path';
import fs from 'node:fs';

export async function laterChecks(t, shared) {
  const { browser, BASE, step, need, actor, api, goto, waitReady, shot, SHOTS, TIMEOUT, stamp, pages, requireEndpoint } = t;
  const { operator, lead, handler, supervisor, admin, dash } = pages;
  const { tok, cats, areas, zhErrors } = shared;

  // ---- Dashboard ----
  await step('dashboard-wall-screen-fits-1920x1080', null, async () => {
    const me = await actor(browser, 'leader', 'dashboard');
    try {
      const p = me.page;
      await p.setViewportSize({ width: 1920, height: 1080 });
      await goto(p, 'dashboard?wall=1');
      await p.waitForTimeout(300);
      // The feed starts with the latest cases rather than empty.
      await p.waitForSelector('.feed li[data-earlier]');
      const m = await p.evaluate(() => ({
        h: document.documentElement.scrollHeight,
        vh: window.innerHeight,
        bar: getComputedStyle(document.querySelector('.topbar')).display,
        panels: document.querySelectorAll('.dash-grid .panel:not([hidden])').length,
        label: parseFloat(getComputedStyle(document.querySelector('.kpi-label')).fontSize),
        heading: parseFloat(getComputedStyle(document.querySelector('.panel h2')).fontSize),
        feed: document.querySelectorAll('.feed li[data-earlier]').length,
      }));
      await shot(p, 'dashboard-wall-1920x1080');
      need(m.h <= m.vh && m.bar === 'none', `page ${m.h}px for a ${m.vh}px screen, app bar ${m.bar}`);
      need(m.label >= 16 && m.heading >= 17, `wall text too small: labels ${m.label}px, headings ${m.heading}px`);
      return `${m.panels} panels in ${m.h}px of ${m.vh}px, no app bar; labels ${m.label}px, headings ${m.heading}px; feed starts with ${m.feed} recent cases`;
    } finally {
      await me.context.close();
    }
  });

  await step('dashboard-change-and-alerts', dash.page, async () => {
    const p = dash.page;
    await goto(p, 'dashboard');
    const day = (off) => new Date(Date.now() + 8 * 3600_000 + off * 86400_000).toISOString().slice(0, 10);
    const prev = await api('GET', `/api/v1/stats/summary?from=${day(-59)}&to=${day(-30)}`, { token: tok.leader });
    const cur = await api('GET', `/api/v1/stats/summary?from=${day(-29)}&to=${day(0)}`, { token: tok.leader });
    const deltas = await p.$$eval('[data-delta=reported]', (els) => els.map((e) => e.textContent.trim()));
    const mom = deltas.find((d) => d.startsWith('环比'));
    const a = cur.counts.reported ?? 0;
    const b = prev.counts.reported ?? 0;
    if (b > 0) {
      const want = `环比 ${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%`;
      need(mom === want, `环比 shown "${mom}", expected "${want}"`);
    } else need(mom === undefined || (a === 0 && mom === '环比 0%'), `环比 "${mom}" with no earlier appeals`);
    const loads = await api('GET', '/api/v1/stats/map?level=district', { token: tok.leader });
    const withOverdue = loads.filter((l) => l.overdue > 0).length;
    const alerts = await p.$$eval('[data-testid=alerts] li[data-alert=overdue]', (l) => l.length);
    need(alerts === Math.min(5, withOverdue), `${alerts} overdue alerts for ${withOverdue} districts with overdue cases`);
    return `30-day appeals ${a} (earlier 30 days ${b}): ${mom ?? 'no 环比 (nothing to compare)'}; ${alerts} overdue alert(s)`;
  });

  // The point heat map: the map switches to where the 30 days' cases were reported, cell by cell,
  // the same cells the API counts for the leader's scope; and back to areas.
  await step('dashboard-point-heat-map', dash.page, async () => {
    const p = dash.page;
    const day = (off) => new Date(Date.now() + 8 * 3600_000 + off * 86400_000).toISOString().slice(0, 10);
    const cells = await api('GET', `/api/v1/stats/density?from=${day(-29)}&to=${day(0)}`, { token: tok.leader });
    need(cells.length > 0, 'the demo city has no located cases in 30 days');
    await p.click('[data-testid=heat-toggle]');
    await p.waitForFunction(() => document.querySelector('.map-chart')?.dataset.cells !== undefined, null, { timeout: TIMEOUT });
    const shown = await p.evaluate(() => ({
      cells: Number(document.querySelector('.map-chart').dataset.cells),
      label: document.querySelector('.map-chart').getAttribute('aria-label'),
      pressed: document.querySelector('[data-testid=heat-toggle]').getAttribute('aria-pressed'),
    }));
    await shot(p, 'dashboard-heat');
    need(shown.cells === cells.length && shown.pressed === 'true', `heat shows ${shown.cells} cells, the API has ${cells.length}`);
    need(shown.label.includes(`${cells[0].cases}`), `the map's label does not name the busiest cell: ${shown.label}`);
    await p.click('[data-testid=heat-toggle]');
    await p.waitForFunction(() => document.querySelector('.map-chart')?.dataset.cells === undefined, null, { timeout: TIMEOUT });
    return `${cells.length} cells of about 200 m, the busiest with ${cells[0].cases} cases; back to areas`;
  });

  await step('dashboard-channel-mix', dash.page, async () => {
    const p = dash.page;
    const day = (off) => new Date(Date.now() + 8 * 3600_000 + off * 86400_000).toISOString().slice(0, 10);
    await requireEndpoint('GET', `/api/v1/stats/channels?from=${day(-29)}&to=${day(0)}`, tok.leader);
    const rows = await api('GET', `/api/v1/stats/channels?from=${day(-29)}&to=${day(0)}`, { token: tok.leader });
    await p.waitForSelector('[data-testid=channel-mix]');
    const shown = await p.$$eval('[data-testid=channel-mix] .mix-legend li', (l) => l.map((x) => [x.dataset.channel, Number(x.dataset.cases)]));
    const want = rows.map((r) => [r.channel, r.cases]).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    need(JSON.stringify(shown) === JSON.stringify(want), `shown ${JSON.stringify(shown)}, API ${JSON.stringify(want)}`);
    const legend = (await p.textContent('[data-testid=channel-mix] .mix-legend')).trim();
    return legend;
  });

  await step('dashboard-figure-opens-its-cases', dash.page, async () => {
    const p = dash.page;
    const figure = Number(await p.textContent('.kpi-value[data-kpi=overdue]'));
    await p.click('.kpi-value[data-kpi=overdue] a');
    // The hash changes before the router runs, while the dashboard still says ready: wait for the
    // dispatch page's own count.
    await p.waitForFunction(
      () => location.hash.startsWith('#/dispatch') && document.documentElement.dataset.ready === '1' && /\d/.test(document.querySelector('.queue [role=status]')?.textContent ?? ''),
      null,
      { timeout: TIMEOUT },
    );
    const shown = Number(((await p.textContent('.queue [role=status]')) ?? '').match(/\d+/)?.[0]);
    need(shown === figure, `the dashboard says ${figure} overdue, the list shows ${shown}`);
    await goto(p, 'dashboard');
    return `超期 ${figure} → dispatch list of ${shown}`;
  });

  await step('dashboard-grid-level-lists-its-cases', dash.page, async () => {
    const p = dash.page;
    const grids = await api('GET', '/api/v1/stats/map?level=grid', { token: tok.leader });
    const busy = grids.filter((g) => g.open > 0).sort((x, y) => y.open - x.open)[0];
    if (!busy) return 'no grid has open cases';
    const byId = new Map(areas.map((a) => [a.id, a]));
    const chain = [];
    for (let a = byId.get(busy.area_id); a && a.level !== 'city'; a = byId.get(a.parent_id)) chain.unshift(a);
    for (const a of chain.slice(0, -1)) {
      await p.click(`.drill-buttons button[data-area="${a.id}"]`);
      await p.waitForSelector(`.crumbs [aria-current=location]:text-is("${a.name}")`);
    }
    await p.click(`.drill-buttons button[data-cases="${busy.area_id}"]`);
    await p.waitForSelector(`[data-testid=area-cases] ul[data-area="${busy.area_id}"]`);
    const n = await p.$$eval('[data-testid=area-cases] li', (l) => l.length);
    need(n === Math.min(50, busy.open), `${n} cases listed, the map counts ${busy.open}`);
    await goto(p, 'dashboard');
    return `${chain.map((a) => a.name).join(' › ')}: ${n} open case(s) listed`;
  });

  await step('dashboard-ranking-ties-in-order', dash.page, async () => {
    const p = dash.page;
    const rows = await p.$$eval('.p-dept table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
    for (let i = 1; i < rows.length; i++) {
      const [a, b] = [rows[i - 1], rows[i]];
      const ra = parseFloat(a[1]);
      const rb = parseFloat(b[1]);
      const ok = ra > rb || (ra === rb && (Number(a[2]) > Number(b[2]) || (Number(a[2]) === Number(b[2]) && a[0].localeCompare(b[0], 'zh') <= 0)));
      need(ok, `rank ${i}: ${a.join('/')} before ${b.join('/')}`);
    }
    const ties = rows.filter((r, i) => i > 0 && r[1] === rows[i - 1][1]).length;
    return `${rows.length} departments, ${ties} tie(s) ordered by closed cases then name`;
  });

  // ---- Admin ----
  await step('admin-level1-time-limit-editable', admin.page, async () => {
    const p = admin.page;
    await goto(p, 'admin?tab=limits');
    const l1 = cats.filter((c) => c.level === 1).sort((a, b) => a.code.localeCompare(b.code))[0];
    await p.selectOption('[data-testid=limit-category]', String(l1.id));
    await p.fill('form.card input[type=number] >> nth=0', '7');
    await p.click('form.card button[type=submit]');
    await p.waitForSelector('form.card .status.ok');
    const limits = await api('GET', '/api/v1/time-limits', { token: tok.admin });
    const row = limits.find((x) => x.category_id === l1.id);
    need(row && row.amount === 7, `level-1 limit not stored: ${JSON.stringify(row)}`);
    need(await p.$(`tr[data-category="${l1.id}"] button`), 'no edit button in the table');
    return `${l1.name}: 7 ${row.clock}`;
  });

  await step('admin-office-hours-message', admin.page, async () => {
    const p = admin.page;
    await goto(p, 'admin?tab=calendar');
    let put = 0;
    const count = (req) => {
      if (req.method() === 'PUT' && req.url().endsWith('/api/v1/calendar')) put += 1;
    };
    p.on('request', count);
    try {
      const input = 'form.card input:not([type]) >> nth=0';
      const before = await p.inputValue(input);
      await p.fill(input, '9点到下午6点');
      await p.click('form.card button[type=submit]');
      await p.waitForSelector('form.card .status.error');
      const [msg] = await zhErrors(p, 'office hours');
      need(put === 0 && msg.includes('办公时间'), `message "${msg}", ${put} PUT(s)`);
      await p.fill(input, before);
      return `"${msg}"`;
    } finally {
      p.off('request', count);
    }
  });

  await step('admin-key-copy-and-revoke-confirmation', admin.page, async () => {
    const p = admin.page;
    await goto(p, 'admin?tab=open311');
    const name = `e2e-confirm-${stamp}`;
    await p.fill('form.card input', name);
    await p.click('form.card button[type=submit]');
    await p.waitForSelector('[data-testid=api-key]');
    await p.click('[data-testid=copy-key]');
    await p.waitForFunction(() => /已复制|已选中/.test(document.querySelector('[data-testid=copy-key]')?.nextElementSibling?.textContent ?? ''));
    await p.click(`button[aria-label="吊销 ${name}"]`);
    await p.waitForSelector('[data-testid=revoke-confirm]');
    let client = (await api('GET', '/api/v1/open311/clients', { token: tok.admin })).find((c) => c.name === name);
    need(client && !client.revoked_at, 'revoked without confirmation');
    await p.click('[data-testid=revoke-confirm]');
    await p.waitForSelector('.status.ok:has-text("已吊销")');
    client = (await api('GET', '/api/v1/open311/clients', { token: tok.admin })).find((c) => c.name === name);
    need(client.revoked_at, 'not revoked after confirming');
    return `${name}: key copied, revoke asked first, then revoked`;
  });

  await step('admin-import-preview-apply-undo', admin.page, async () => {
    // A dry run first (the server's counts, nothing stored), then the import (heading count,
    // what the new categories lack), then undo with a confirmation (count back).
    const p = admin.page;
    await goto(p, 'admin?tab=taxonomy');
    const count = async () => Number((await p.textContent('#tx-h')).match(/\d+/)?.[0]);
    const stored = async () => (await api('GET', '/api/v1/categories', { token: tok.admin })).length;
    const before = await count();
    const l1 = cats.find((c) => c.level === 1);
    const csv = `一级,二级,三级\n撤销大类${stamp},撤销小类${stamp},\n${l1.name},,\n`;
    await p.setInputFiles('form.card input[type=file]', { name: 'taxonomy.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await p.waitForSelector('[data-testid=import-dry-run]');
    const dry = await p.$eval('[data-testid=import-dry-run]', (e) => ({ text: e.textContent.trim(), created: e.dataset.created, unchanged: e.dataset.unchanged, problems: e.dataset.problems }));
    need(dry.created === '2' && dry.unchanged === '1' && dry.problems === '0', `dry run ${JSON.stringify(dry)}`);
    need(dry.text.startsWith('预演：新增 2 个分类，1 行不变，0 行有问题'), `dry run: ${dry.text}`);
    const paths = await p.$$eval('[data-testid=import-new-paths] li', (l) => l.map((x) => x.textContent.trim()));
    need(paths.includes(`撤销大类${stamp} / 撤销小类${stamp}`), `new paths: ${paths.join('; ')}`);
    need((await stored()) === before && (await count()) === before, 'the dry run stored something');
    await p.click('form.card button[type=submit]');
    await p.waitForSelector('form.card .status.ok');
    await p.waitForFunction((n) => Number(document.querySelector('#tx-h')?.textContent.match(/\d+/)?.[0]) === n + 2, before);
    need((await stored()) === before + 2, 'not stored');
    const ok = (await p.textContent('form.card .status.ok')).trim();
    const okBox = await p.$eval('form.card .status.ok', (el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]; });
    need(okBox[0] >= -1 && okBox[0] < okBox[2], `import confirmation off-screen: ${okBox.join(',')}`);
    need(ok.includes('新增 2 个分类') && ok.includes('2 个新分类没有处置时限') && ok.includes('2 个新分类在权责清单中没有派遣规则'), `after the import: ${ok}`);
    const clean = await p.evaluate(() => ({ file: document.querySelector('form.card input[type=file]').value, preview: document.querySelector('[data-testid=import-preview]').childElementCount }));
    need(clean.file === '' && clean.preview === 0, `the form keeps the last file: ${JSON.stringify(clean)}`);
    // The category pickers are grouped and searchable, not 600 options in a row.
    await goto(p, 'admin?tab=limits');
    const level1 = (await api('GET', '/api/v1/categories', { token: tok.admin })).filter((c) => c.level === 1).length;
    const groups = await p.$$eval('[data-testid=limit-category] optgroup', (g) => g.length);
    need(groups === level1, `${groups} groups for ${level1} level-1 categories`);
    await p.fill('[data-testid=category-search]', `撤销小类${stamp}`);
    const picked = await p.evaluate(() => ({ matches: document.querySelector('[data-testid=category-search]').dataset.matches, text: document.querySelector('[data-testid=limit-category]').selectedOptions[0]?.textContent.trim() }));
    need(picked.matches === '1' && picked.text === `撤销小类${stamp}`, `search: ${JSON.stringify(picked)}`);
    // Undo asks first, then removes both and the count follows.
    await goto(p, 'admin?tab=taxonomy');
    await p.click('[data-testid=undo-import]');
    await p.waitForSelector('[data-testid=undo-confirm]:visible');
    need((await stored()) === before + 2, 'undone without confirmation');
    await p.click('[data-testid=undo-confirm]');
    await p.waitForSelector('[data-testid=import-undo] .status.ok');
    await p.waitForFunction((n) => Number(document.querySelector('#tx-h')?.textContent.match(/\d+/)?.[0]) === n, before);
    need((await stored()) === before, 'not removed');
    const undone = (await p.textContent('[data-testid=import-undo] .status.ok')).trim();
    // An import a case already uses cannot be undone: said in Chinese.
    await p.setInputFiles('form.card input[type=file]', { name: 'taxonomy.csv', mimeType: 'text/csv', buffer: Buffer.from(`检查大类${stamp},检查小类${stamp}\n`, 'utf8') });
    await p.waitForSelector('[data-testid=import-dry-run]');
    await p.click('form.card button[type=submit]');
    await p.waitForFunction((n) => Number(document.querySelector('#tx-h')?.textContent.match(/\d+/)?.[0]) === n + 2, before);
    await p.waitForSelector('[data-testid=import-undo] [data-testid=undo-import]');
    const fresh = (await api('GET', '/api/v1/categories', { token: tok.admin })).find((c) => c.name === `检查小类${stamp}`);
    const community = areas.find((a) => a.name === '阳光社区') ?? areas.find((a) => a.level === 'community');
    await api('POST', '/api/v1/appeals', { token: tok.operator, body: { channel: 'hotline', text: `新分类下的诉求，小区门口护栏被撞歪（${stamp}）`, category_id: fresh.id, area_id: community.id } });
    await p.click('[data-testid=undo-import]');
    await p.click('[data-testid=undo-confirm]');
    await p.waitForSelector('[data-testid=import-undo] .status.error');
    const [msg] = await zhErrors(p, 'undo');
    need(msg === '这次导入的分类已被案件、权责规则或授权使用，不能撤销。', `refusal: ${msg}`);
    need((await stored()) === before + 2, 'removed categories a case uses');
    return `dry run "${dry.text.slice(0, 24)}…"; imported (+2, limits and rules flagged); "${undone}"; in use: "${msg}"`;
  });

  // ---- Screenshots at the screen sizes people use ----
  await step('screenshots-at-screen-sizes', null, async () => {
    const dir = path.join(SHOTS, 'viewports');
    fs.mkdirSync(dir, { recursive: true });
    // A registered case open, so the dispatch form (department, instructions, deadline) shows.
    const [registered] = await api('GET', '/api/v1/cases?state=registered&order=priority&limit=1', { token: tok.shiftlead });
    const list = [
      ['hotline', operator, 'hotline'],
      ['dispatch', lead, `dispatch?view=open&case=${t.story.extensionCase?.number ?? ''}`],
      ['workbench-handler', handler, 'workbench'],
      ['workbench-supervisor', supervisor, 'workbench'],
      ['dashboard', dash, 'dashboard'],
      ['dashboard-wall', dash, 'dashboard?wall=1'],
      ['dispatch-to-dispatch', lead, `dispatch?view=registered&case=${registered?.number ?? ''}`],
      ['admin', admin, 'admin?tab=limits'],
      ['admin-taxonomy', admin, 'admin?tab=taxonomy'],
    ];
    let n = 0;
    for (const [name, who, route] of list) {
      for (const [w, hgt] of [[1366, 768], [1920, 1080]]) {
        await who.page.setViewportSize({ width: w, height: hgt });
        await goto(who.page, route);
        await who.page.screenshot({ path: path.join(dir, `${name}-${w}x${hgt}.png`) });
        n += 1;
      }
      await who.page.setViewportSize({ width: 1366, height: 900 });
    }
    await goto(dash.page, 'dashboard');
    await supervisor.page.setViewportSize({ width: 390, height: 844 });
    await goto(supervisor.page, 'workbench');
    await supervisor.page.screenshot({ path: path.join(dir, 'workbench-supervisor-390x844.png') });
    await supervisor.page.setViewportSize({ width: 1366, height: 900 });
    n += 1;
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', isMobile: true, hasTouch: true });
    try {
      const p = await ctx.newPage();
      await p.goto(`${BASE}/#/portal`);
      await waitReady(p);
      await p.screenshot({ path: path.join(dir, 'portal-390x844.png') });
      await p.screenshot({ path: path.join(dir, 'portal-390x844-full.png'), fullPage: true });
      n += 2;
    } finally {
      await ctx.close();
    }
    console.log(`  screenshots at screen sizes: ${dir}`);
    return `${n} screenshots in ${dir}`;
  });
}
