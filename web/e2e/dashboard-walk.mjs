// The dashboard as a leader works it (issue 15, Dashboard and Everywhere): every rate opens the
// cases of its denominator with the misses marked (and the counts, the ranking bars and the days
// of the trend open theirs, and so do the channels of the mix and the categories of the trend by
// category), the numbers in the list are the figure's own; the live feed's lines
// say what (title masked), where (area) and the state in words; large-text mode grows the charts
// and the wall screen still fits 1920×1080; the dialog is axe-clean with a visible focus ring.
//
// Called by run.mjs with its helpers after the consoles checks; one step per point.

import { contrast } from './consoles.mjs';

const CJK = /[\u3400-\u9fff]/;
const STATE_WORDS = ['受理', '立案', '派遣', '处置', '反馈', '核查', '挂账', '结案', '评价', '作废', '待', '已'];

export async function dashboardWalk(t) {
  const { browser, PASSWORD, step, need, actor, api, goto, shot, TIMEOUT, stamp, AXE } = t;
  const token = async (u) => (await api('POST', '/api/v1/auth/login', { body: { username: u, password: PASSWORD } })).token;
  const tok = { leader: await token('leader'), operator: await token('operator') };
  const day = (off) => new Date(Date.now() + 8 * 3600_000 + off * 86400_000).toISOString().slice(0, 10);
  const from = day(-29);
  const to = day(0);
  const me = await actor(browser, 'leader', 'dashboard');
  const p = me.page;
  const dialogShown = () =>
    p.waitForFunction(() => {
      const d = document.querySelector('dialog[data-testid=figure-cases]');
      return d?.open && d.dataset.loading === undefined && d.dataset.denominator !== undefined;
    }, null, { timeout: TIMEOUT });
  const closeDialog = async () => {
    await p.keyboard.press('Escape');
    await p.waitForFunction(() => !document.querySelector('dialog[data-testid=figure-cases]')?.open);
  };
  const shownRows = () =>
    p.$$eval('dialog[data-testid=figure-cases] tbody tr', (trs) => trs.map((tr) => ({ miss: tr.classList.contains('miss'), text: tr.textContent })));

  try {
    // Each rate's list is the rate's own: as many cases below the line and as many misses as the
    // counters behind the figure say; the misses are marked and come first.
    await step('dashboard-rates-open-their-cases', p, async () => {
      await goto(p, 'dashboard');
      const sum = await api('GET', `/api/v1/stats/summary?from=${from}&to=${to}`, { token: tok.leader });
      const c = (k) => sum.counts[k] ?? 0;
      const rates = [
        ['ontime', 'on_time_closure_rate', c('closed'), c('closed') - c('closed_on_time'), '结案'],
        ['closure', 'closure_rate', sum.registered, sum.registered - c('closed'), '未结案'],
        // 响应率 counts dispatches: a case sent again after a return is one case in the list.
        ['response', 'response_rate', c('dispatched'), c('dispatched') - c('responded_on_time'), '签收', 'dispatches'],
        ['satisfaction', 'satisfaction_rate', c('evaluated'), c('evaluated') - c('satisfied'), ''],
        ['resolution', 'resolution_rate', c('evaluated'), c('evaluated') - c('resolved'), '未解决'],
      ];
      const out = [];
      const api_ = (figure) => api('GET', `/api/v1/stats/figure-cases?figure=${figure}&from=${from}&to=${to}&limit=1`, { token: tok.leader });
      for (const [kpi, figure, base, misses, word, per] of rates) {
        const btn = `.kpi-value[data-kpi=${kpi}] button[data-figure=${figure}]`;
        await p.click(btn);
        await dialogShown();
        const d = await p.$eval('dialog[data-testid=figure-cases]', (el) => ({ figure: el.dataset.figure, den: Number(el.dataset.denominator), miss: Number(el.dataset.missing), summary: el.querySelector('[data-testid=figure-summary]').textContent }));
        need(d.figure === figure, `${kpi}: dialog shows ${d.figure}`);
        const api = await api_(figure);
        need(d.den === api.denominator && d.miss === api.missing, `${figure}: dialog ${d.den}/${d.miss}, API ${api.denominator}/${api.missing}`);
        if (per === 'dispatches') need(d.den <= base && d.den - d.miss <= base - misses, `${figure}: ${d.den} cases (${d.den - d.miss} in time) for ${base} dispatches (${base - misses} in time)`);
        else need(d.den === base && d.miss === misses, `${figure}: list has ${d.den} below the line and ${d.miss} misses, the counters ${base} and ${misses}`);
        const rows = await shownRows();
        const firstMeet = rows.findIndex((r) => !r.miss);
        need(rows.filter((r) => r.miss).length === Math.min(d.miss, rows.length), `${figure}: ${rows.filter((r) => r.miss).length} of ${rows.length} rows marked for ${d.miss} misses`);
        need(firstMeet === -1 || rows.slice(firstMeet).every((r) => !r.miss), `${figure}: a miss listed after a case that meets it`);
        need(rows.filter((r) => r.miss).every((r) => r.text.includes('未达标') && r.text.includes(word)), `${figure}: a marked row does not say why`);
        need(CJK.test(d.summary) && d.summary.includes(String(d.den)), `${figure}: summary "${d.summary}"`);
        if (kpi === 'ontime') {
          await shot(p, 'dashboard-ontime-cases');
          // Only the misses: every row marked, as many as the figure misses (up to the page).
          await p.check('[data-testid=figure-missing-only]');
          await p.waitForFunction(() => document.querySelector('dialog[data-testid=figure-cases]')?.dataset.loading === undefined);
          const only = await shownRows();
          need(only.length === Math.min(d.miss, 200) && only.every((r) => r.miss && /超期结案|差错结案|特殊结案/.test(r.text)), `only misses: ${only.length} rows for ${d.miss}`);
        }
        await closeDialog();
        const back = await p.evaluate(() => document.activeElement?.dataset.figure ?? '');
        need(back === figure, `focus went to "${back}" after closing, not the figure`);
        out.push(`${figure} ${d.den}/${d.miss}`);
      }
      return `denominator/misses: ${out.join(', ')}; misses marked and first, focus back on the figure`;
    });

    await step('dashboard-counts-and-bars-open-their-cases', p, async () => {
      await goto(p, 'dashboard');
      const sum = await api('GET', `/api/v1/stats/summary?from=${from}&to=${to}`, { token: tok.leader });
      await p.click('.kpi-value[data-kpi=reported] button[data-figure=reported]');
      await dialogShown();
      const reported = await p.$eval('dialog[data-testid=figure-cases]', (el) => Number(el.dataset.denominator));
      need(reported === (sum.counts.reported ?? 0), `30天受理 lists ${reported}, the figure is ${sum.counts.reported}`);
      await closeDialog();
      // The department ranking: a unit's rate opens its closures, the late ones marked.
      await p.click('.p-dept details summary');
      const first = await p.$eval('.p-dept table tbody tr', (tr) => ({ name: tr.children[0].textContent.trim(), closed: Number(tr.children[2].textContent) })).catch(() => null);
      let dept = 'no ranked department';
      if (first) {
        await p.click('.p-dept table tbody tr:first-child button[data-figure]');
        await dialogShown();
        const d = await p.$eval('dialog[data-testid=figure-cases]', (el) => ({ den: Number(el.dataset.denominator), title: el.querySelector('h2').textContent }));
        need(d.title.includes(first.name) && d.den === first.closed, `${first.name}: ${d.den} closures listed, the ranking says ${first.closed}`);
        await closeDialog();
        dept = `${first.name} ${d.den} closures`;
      }
      await p.click('.p-dept details summary');
      // A day of the trend opens that day's appeals.
      const trend = await api('GET', `/api/v1/stats/trend?from=${to}&to=${to}`, { token: tok.leader });
      const today = trend.find((x) => x.key === to)?.indicators.counts.reported ?? 0;
      await p.click('.p-trend details summary');
      await p.click(`.p-trend table button[data-figure=reported]:text-is("${to}")`);
      await dialogShown();
      const shownToday = await p.$eval('dialog[data-testid=figure-cases]', (el) => Number(el.dataset.denominator));
      need(shownToday === today, `${to}: ${shownToday} appeals listed, the trend says ${today}`);
      await closeDialog();
      await p.click('.p-trend details summary');
      // A state of the state chart: its open cases now, the overdue ones marked.
      const states = await api('GET', '/api/v1/stats/states', { token: tok.leader });
      const busiest = ['handling', 'dispatched', 'registered', 'received', 'feedback']
        .map((st) => ({ st, n: states.filter((x) => x.state === st).reduce((k, x) => k + x.count, 0), late: states.filter((x) => x.state === st && x.overdue).reduce((k, x) => k + x.count, 0) }))
        .sort((x, y) => y.n - x.n)[0];
      const words = { handling: '处置', dispatched: '派遣', registered: '立案', received: '受理', feedback: '反馈' };
      await p.click('.p-state details summary');
      await p.click(`.p-state table button[data-figure=state]:text-is("${words[busiest.st]}")`);
      await dialogShown();
      const st = await p.$eval('dialog[data-testid=figure-cases]', (el) => ({ n: Number(el.dataset.denominator), late: Number(el.dataset.missing), marked: el.querySelectorAll('tbody tr.miss').length }));
      need(st.n === busiest.n && st.late === busiest.late && st.marked === busiest.late, `${busiest.st}: ${st.n} listed (${st.late} overdue, ${st.marked} marked), the chart says ${busiest.n} (${busiest.late})`);
      await closeDialog();
      await p.click('.p-state details summary');
      return `30天受理 ${reported}; ${dept}; ${to}: ${today} appeals; ${words[busiest.st]} ${st.n} open (${st.late} overdue marked)`;
    });

    // A channel of the mix and a category of the trend on a day open their cases, as many as
    // the figure says.
    await step('dashboard-channels-and-categories-open-their-cases', p, async () => {
      await goto(p, 'dashboard');
      await p.waitForSelector('[data-testid=channel-mix] button[data-channel]', { timeout: TIMEOUT });
      const mix = await p.$$eval('[data-testid=channel-mix] li[data-channel]', (ls) => ls.map((l) => ({ channel: l.dataset.channel, cases: Number(l.dataset.cases) })));
      const api_ = await api('GET', `/api/v1/stats/channels?from=${from}&to=${to}`, { token: tok.leader });
      need(mix.length === api_.length && mix.every((m) => api_.some((r) => r.channel === m.channel && r.cases === m.cases)), `mix ${JSON.stringify(mix)}, API ${JSON.stringify(api_)}`);
      const listed = [];
      for (const { channel, cases } of mix) {
        await p.click(`[data-testid=channel-mix] button[data-channel=${channel}]`);
        await dialogShown();
        const d = await p.$eval('dialog[data-testid=figure-cases]', (el) => ({ den: Number(el.dataset.denominator), title: el.querySelector('h2').textContent, rows: el.querySelectorAll('tbody tr').length }));
        need(d.den === cases && d.rows === Math.min(cases, 200), `${channel}: ${d.den} listed (${d.rows} rows), the mix says ${cases}`);
        need(CJK.test(d.title), `title "${d.title}"`);
        await closeDialog();
        listed.push(`${channel} ${d.den}`);
      }
      // The bar's segment opens the same list.
      const first = mix[0];
      await p.click(`[data-testid=channel-mix] .mix-bar span[data-channel=${first.channel}]`);
      await dialogShown();
      const seg = await p.$eval('dialog[data-testid=figure-cases]', (el) => Number(el.dataset.denominator));
      need(seg === first.cases, `${first.channel} segment: ${seg} listed, ${first.cases} in the mix`);
      await closeDialog();
      // Each series of the trend by category on its latest day.
      await p.click('.p-cat details summary');
      const cells = await p.$$eval('.p-cat table button[data-category]', (bs) => bs.map((b) => ({ key: b.dataset.category, day: b.dataset.day, n: Number(b.textContent) })));
      need(cells.length > 0, 'no category count opens its cases');
      const latest = new Map();
      for (const c of cells) if (!latest.has(c.key) || latest.get(c.key).day < c.day) latest.set(c.key, c);
      const cats = [];
      for (const c of latest.values()) {
        await p.click(`.p-cat table button[data-category="${c.key}"][data-day="${c.day}"]`);
        await dialogShown();
        const d = await p.$eval('dialog[data-testid=figure-cases]', (el) => ({ den: Number(el.dataset.denominator), title: el.querySelector('h2').textContent }));
        need(d.den === c.n, `${c.key} on ${c.day}: ${d.den} listed, the chart says ${c.n}`);
        await closeDialog();
        cats.push(`${d.title.split(' · ').slice(1, 3).join(' ')} ${c.day}: ${c.n}`);
      }
      await p.click('.p-cat details summary');
      return `channels ${listed.join(', ')}; categories ${cats.join('; ')}`;
    });

    await step('dashboard-figure-dialog-axe-and-focus', p, async () => {
      await goto(p, 'dashboard');
      await p.click('.kpi-value[data-kpi=ontime] button[data-figure]');
      await dialogShown();
      await p.focus('[data-testid=figure-close]');
      await p.keyboard.press('Shift+Tab');
      await p.keyboard.press('Tab');
      const f = await p.evaluate(() => {
        const el = document.activeElement;
        const s = getComputedStyle(el);
        return { outline: s.outlineColor, width: parseFloat(s.outlineWidth), style: s.outlineStyle, bg: getComputedStyle(el.closest('dialog')).backgroundColor };
      });
      need(f.style !== 'none' && f.width >= 2, `no focus ring in the dialog (${f.style} ${f.width}px)`);
      const ratio = contrast(f.outline, f.bg);
      need(ratio >= 3, `dialog focus ring ${ratio.toFixed(2)}:1`);
      await p.evaluate(`${AXE}\n;undefined`);
      const res = await p.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations.map((v) => `${v.id} ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`));
      need(res.length === 0, `axe: ${res.join(' | ')}`);
      await closeDialog();
      return `focus ring ${ratio.toFixed(2)}:1; axe 0 violations with the dialog open`;
    });

    // 同比 against the same 30 days a year ago, the surge alert exactly when today is far above the
    // daily average, and 红黑榜 as the ends of the department ranking.
    await step('dashboard-yoy-surge-and-red-black', p, async () => {
      await goto(p, 'dashboard');
      const yearAgo = (d) => `${Number(d.slice(0, 4)) - 1}${d.slice(4)}`.replace(/-02-29$/, '-02-28');
      const [cur, last, trend, depts, byDept] = await Promise.all([
        api('GET', `/api/v1/stats/summary?from=${from}&to=${to}`, { token: tok.leader }),
        api('GET', `/api/v1/stats/summary?from=${yearAgo(from)}&to=${yearAgo(to)}`, { token: tok.leader }),
        api('GET', `/api/v1/stats/trend?from=${from}&to=${to}`, { token: tok.leader }),
        api('GET', '/api/v1/departments', { token: tok.leader }),
        api('GET', `/api/v1/stats/by-department?from=${from}&to=${to}`, { token: tok.leader }),
      ]);
      const deltas = await p.$$eval('[data-delta=reported]', (els) => els.map((e) => e.textContent.trim()));
      const yoy = deltas.find((d) => d.startsWith('同比'));
      const a = cur.counts.reported ?? 0;
      const b = last.counts.reported ?? 0;
      if (b > 0) need(yoy === `同比 ${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%`, `同比 shown "${yoy}" for ${a} against ${b}`);
      else need(yoy === undefined || (a === 0 && yoy === '同比 0%'), `同比 "${yoy}" with nothing a year ago`);
      const reported = (k) => trend.find((x) => x.key === k)?.indicators.counts.reported ?? 0;
      const today = reported(to);
      const average = (trend.reduce((n, x) => n + (x.indicators.counts.reported ?? 0), 0) - today) / 29;
      const surge = average > 0 && today >= Math.max(5, 2 * average);
      const shownSurge = Boolean(await p.$('[data-testid=alerts] li[data-alert=surge]'));
      need(shownSurge === surge, `today ${today} against a daily ${average.toFixed(1)}: surge alert ${shownSurge ? 'shown' : 'missing'}`);
      const name = new Map(depts.map((d) => [String(d.id), d.name]));
      const ranked = byDept
        .filter((r) => (r.indicators.counts.closed ?? 0) >= 3 && r.indicators.on_time_closure_rate !== null)
        .map((r) => ({ name: name.get(r.key) ?? `#${r.key}`, rate: r.indicators.on_time_closure_rate, closed: r.indicators.counts.closed }))
        .sort((x, y) => y.rate - x.rate || y.closed - x.closed || x.name.localeCompare(y.name, 'zh'));
      const red = (await p.textContent('[data-alert=red]').catch(() => null)) ?? '';
      const black = (await p.textContent('[data-alert=black]').catch(() => null)) ?? '';
      const n = Math.min(3, Math.floor(ranked.length / 2));
      if (n > 0) {
        need(ranked.slice(0, n).every((r) => red.includes(r.name)) && red.split('、').length === n, `红榜 "${red}", best ${ranked.slice(0, n).map((r) => r.name)}`);
        need(ranked.slice(-n).every((r) => black.includes(r.name)) && black.split('、').length === n, `黑榜 "${black}", worst ${ranked.slice(-n).map((r) => r.name)}`);
      } else need(!red && !black, `红黑榜 shown with ${ranked.length} ranked department(s)`);
      return `${yoy ?? 'no 同比 (nothing a year ago)'}; today ${today} vs ${average.toFixed(1)}/day: surge ${surge ? 'shown' : 'not due'}; ${ranked.length} ranked: ${red.trim() || 'no 红榜'} / ${black.trim() || 'no 黑榜'}`;
    });

    // Every feed line: what (title, personal data masked), where (area) and the state in words.
    await step('dashboard-feed-lines-say-what-where-state', p, async () => {
      await goto(p, 'dashboard');
      await p.waitForSelector('.feed li[data-earlier]');
      const earlier = await p.$$eval('.feed li[data-earlier]', (ls) => ls.map((l) => ({ title: l.querySelector('.feed-title')?.textContent ?? '', area: l.querySelector('.feed-area')?.textContent ?? '', state: l.querySelector('.feed-state')?.textContent ?? '' })));
      for (const l of earlier) need(l.title.length > 3 && l.area.length > 3 && STATE_WORDS.some((w) => l.state.includes(w)), `feed line without title/area/state: ${JSON.stringify(l)}`);
      const areas = await api('GET', '/api/v1/areas', { token: tok.leader });
      const community = areas.find((a) => a.name === '阳光社区');
      const phone = '13987654321';
      const res = await api('POST', '/api/v1/appeals', {
        token: tok.operator,
        body: { channel: 'hotline', title: `请回电${phone}：楼道堆物 ${stamp}`, text: `来电人${phone}反映阳光社区七号楼楼道堆满杂物，影响消防通道通行。(${stamp}-feed)`, area_id: community.id },
      });
      const li = `.feed li[data-number="${res.number}"]`;
      await p.waitForSelector(li, { timeout: TIMEOUT });
      await p.waitForFunction((sel) => (document.querySelector(`${sel} .feed-area`)?.textContent ?? '').length > 3, li, { timeout: TIMEOUT });
      const line = await p.$eval(li, (l) => ({ text: l.textContent, title: l.querySelector('.feed-title').textContent, area: l.querySelector('.feed-area').textContent, state: l.querySelector('.feed-state').textContent }));
      need(!line.text.includes(phone), `the phone number is on the wall: ${line.text}`);
      need(line.title.includes('楼道堆物'), `title: ${line.title}`);
      need(line.area.includes('阳光社区') && line.state === '受理', `area "${line.area}", state "${line.state}"`);
      return `${earlier.length} earlier lines with title, area and state; live: "${line.text.replace(/\s+/g, ' ').trim()}"`;
    });

    // Large-text mode grows the charts' text (drawn again at once) and the labels; the wall screen
    // with large text still fits 1920×1080.
    await step('dashboard-large-text-grows-charts', p, async () => {
      await goto(p, 'dashboard');
      const before = await p.evaluate(() => ({ font: Number(document.querySelector('.map-chart').dataset.font), label: parseFloat(getComputedStyle(document.querySelector('.kpi-label')).fontSize) }));
      await p.click('.topbar button:has-text("大字模式")');
      await p.waitForFunction((f) => Number(document.querySelector('.map-chart')?.dataset.font) > f, before.font, { timeout: TIMEOUT });
      const after = await p.evaluate(() => ({
        fonts: [...document.querySelectorAll('.dash-grid .chart[data-font]')].map((c) => Number(c.dataset.font)),
        label: parseFloat(getComputedStyle(document.querySelector('.kpi-label')).fontSize),
      }));
      need(after.fonts.every((f) => f >= 16) && after.label > before.label, `large text: charts ${after.fonts.join('/')}px, labels ${before.label} → ${after.label}px`);
      await p.setViewportSize({ width: 1920, height: 1080 });
      await goto(p, 'dashboard?wall=1');
      const wall = await p.evaluate(() => ({ h: document.documentElement.scrollHeight, vh: window.innerHeight, font: Number(document.querySelector('.map-chart').dataset.font) }));
      await shot(p, 'dashboard-wall-large-text-1920x1080');
      need(wall.h <= wall.vh && wall.font >= 18, `wall with large text: page ${wall.h}px of ${wall.vh}px, chart text ${wall.font}px`);
      await p.evaluate(() => localStorage.setItem('urbis.large', '0'));
      await p.setViewportSize({ width: 1366, height: 900 });
      return `charts ${before.font} → ${Math.min(...after.fonts)}px, labels ${before.label} → ${after.label}px; wall ${wall.h}px of ${wall.vh}px at ${wall.font}px`;
    });
  } finally {
    await me.context.close();
  }
}
