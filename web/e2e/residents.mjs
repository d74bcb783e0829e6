// Residents in the loop (issue 21), after the closed-loop story of run.mjs: a new resident signs
// up on a phone-sized screen with the code the local sink received, sees an open report near
// them and joins it, receives the progress messages in the sink, and rates their own case in
// one tap; on the public map (#/map) they see the reports of their city on its own streets, roads
// and places, use their location (granted to the browser) to find the nearest address and the open
// report beside them, and do the same on the report form; after their case closes they answer
// "was it fixed?"; a second case they say is not fixed shows on the shift lead's hotline console,
// who reopens it. An operator answers a 咨询 from the knowledge base with two keystrokes after the
// search (Tab, Enter) and files a call as 投诉 with the keyboard. Then axe-core on the new pages:
// no violations of any impact.
//
// Called by run.mjs with its helpers; each check is one step with one line of output.

const PHONE_VIEWPORT = { width: 390, height: 844 };

export async function residentsChecks(t) {
  const { browser, BASE, PASSWORD, step, need, actor, api, goto, waitReady, TIMEOUT, stamp, AXE } = t;
  const token = async (u) => (await api('POST', '/api/v1/auth/login', { body: { username: u, password: PASSWORD } })).token;
  const tok = {};
  for (const u of ['admin', 'operator', 'shiftlead', 'dispatcher', 'handler', 'supervisor']) tok[u] = await token(u);
  const [cats, areas, users] = await Promise.all([
    api('GET', '/api/v1/categories', { token: tok.admin }),
    api('GET', '/api/v1/areas', { token: tok.admin }),
    api('GET', '/api/v1/users', { token: tok.admin }),
  ]);
  const handlerUser = users.find((u) => u.username === 'handler');
  const category = cats.find((c) => c.name === '占道经营');
  const community = areas.find((a) => a.name === '阳光社区');
  const act = (who, id, body) => api('POST', `/api/v1/cases/${id}/actions`, { token: tok[who], body });
  const deliver = () => api('POST', '/api/v1/notify/deliver', { token: tok.admin, body: {} });
  const phone = `139${String(Date.now()).slice(-8)}`;
  const sinkKinds = async () => {
    await deliver();
    const rows = await api('GET', `/api/v1/notify/sink?address=${phone}`, { token: tok.admin });
    return rows.reverse();
  };
  // The outbox worker may hold a message (claimed, being delivered) when a forced round runs: read
  // the sink again until `done` holds, for at most ten seconds.
  const sinkUntil = async (done) => {
    let rows = [];
    for (let round = 0; round < 20; round += 1) {
      rows = await sinkKinds();
      if (done(rows)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return rows;
  };

  const ctx = await browser.newContext({ viewport: PHONE_VIEWPORT, isMobile: true, hasTouch: true, locale: 'zh-CN' });
  // The browser may read the resident's position (set where they stand, in 阳光社区, below).
  await ctx.grantPermissions(['geolocation'], { origin: BASE });
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (err) => console.log(`  [new resident] page error: ${(err.stack || err.message).split('\n')[0]}`));
  let residentToken = null;

  await step('resident-signs-up-with-a-phone-code', page, async () => {
    await page.goto(`${BASE}/#/join`);
    await waitReady(page);
    await page.fill('input[name=phone]', phone);
    await page.click('#join-send');
    await page.waitForSelector('.status.ok');
    const rows = await sinkUntil((rs) => rs.some((r) => r.kind === 'otp'));
    const otp = rows.filter((r) => r.kind === 'otp').pop();
    need(otp, 'no code reached the sink');
    const code = otp.body.match(/\d{6}/)[0];
    await page.fill('input[name=code]', code);
    await page.evaluate(() => (document.documentElement.dataset.ready = '0'));
    await page.click('#join-submit');
    await page.waitForFunction(() => location.hash.startsWith('#/me'), null, { timeout: TIMEOUT });
    await waitReady(page);
    residentToken = await page.evaluate(() => sessionStorage.getItem('urbis.token') ?? Object.values(sessionStorage).find((v) => /^[0-9a-f]{64}$/.test(v)));
    need(residentToken, 'no session after the code');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    need(width <= PHONE_VIEWPORT.width + 1, `the page scrolls sideways on a phone (${width} px)`);
    return `signed up as ${phone.slice(0, 3)}****${phone.slice(7)} at ${PHONE_VIEWPORT.width}×${PHONE_VIEWPORT.height}`;
  });

  // An open report filed by the hotline nearby, and the resident's own report.
  const other = await api('POST', '/api/v1/appeals', {
    token: tok.operator,
    body: { channel: 'hotline', text: `阳光社区北门的健身器材螺丝松脱，单杠晃得厉害，孩子玩很危险（${stamp}）`, title: `健身器材松动 ${stamp}`, category_id: category.id, area_id: community.id },
  });
  let own = null;
  await step('resident-joins-a-nearby-open-report', page, async () => {
    need(!other.merged, `the hotline report was merged into ${other.number}`);
    // While reporting: choosing the place in the portal lists the open reports there.
    await goto(page, 'portal');
    await page.selectOption('select[name=area]', String(community.id));
    const join = page.locator(`[data-join="${other.number}"]`);
    await join.waitFor();
    await join.click();
    await page.waitForSelector('.status.ok');
    own = await api('POST', '/api/v1/appeals', {
      token: residentToken,
      body: { text: `阳光社区南门外人行道被货车长期占用，行人只能走机动车道（${stamp}）`, category_id: category.id, area_id: community.id },
    });
    need(!own.merged, `the resident's report was merged into ${own.number}`);
    return `joined ${other.number} from the portal's report form`;
  });

  await step('resident-sees-the-map-and-uses-their-location', page, async () => {
    // The resident stands at the centre of 阳光社区; the server names the nearest gazetteer entry.
    const base = await api('GET', '/api/v1/public/basemap');
    need(base.roads.length > 0 && base.places.length > 0, `base layer: ${base.roads.length} roads, ${base.places.length} places`);
    const expected = await api('GET', `/api/v1/public/nearest?lat=${community.center_lat}&lon=${community.center_lon}`);
    need(expected.nearest, 'no gazetteer entry within 500 m of 阳光社区');
    await ctx.setGeolocation({ latitude: community.center_lat, longitude: community.center_lon, accuracy: 10 });
    await goto(page, 'map');
    // The map is drawn (a canvas with the city's boundaries, roads, places and the reports on it)
    // and the list beside it, its text alternative, holds the same reports.
    await page.locator('#public-map canvas').first().waitFor();
    const onMap = Number(await page.getAttribute('#public-map', 'data-reports'));
    need(onMap > 0, `no report on the map (${onMap})`);
    need(await page.locator(`#map-list [data-number="${other.number}"]`).count() === 1, `${other.number} is not in the list beside the map`);
    const painted = await page.evaluate(() => {
      const c = document.querySelector('#public-map canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 200 || d[i + 1] < 200)) ink += 1;
      return ink;
    });
    need(painted > 1000, `the map canvas is nearly blank (${painted} px)`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    need(width <= PHONE_VIEWPORT.width + 1, `the map page scrolls sideways on a phone (${width} px)`);
    // Use my location: the nearest address, the area, and the open report nearby to join.
    await page.click('[data-testid=use-location]');
    await page.waitForFunction(() => (document.getElementById('map-where')?.textContent ?? '').includes('阳光社区'));
    const where = await page.textContent('#map-where');
    need(where.includes(`${expected.nearest.name}附近（约 `), `the nearest address ${expected.nearest.name} is not named: "${where}"`);
    await page.locator(`#near-list [data-join="${other.number}"]`).waitFor();
    // The report's public page opens from the map's list.
    await page.evaluate(() => (document.documentElement.dataset.ready = '0'));
    await page.click(`#map-list [data-number="${other.number}"] h3 a`);
    await waitReady(page);
    need((await page.textContent('h1')).includes(other.number), 'the case page did not open');
    need(await page.locator('#case-timeline li').count() >= 1, 'no steps on the case page');
    // The same on the report form: the point, the nearest address, and the reports there.
    await goto(page, 'portal');
    await page.click('[data-testid=use-location]');
    await page.waitForFunction(() => (document.querySelector('.report .located')?.textContent ?? '').includes('阳光社区'));
    await page.locator(`#near-list [data-join="${other.number}"]`).waitFor();
    return `${onMap} reports on the map; located: ${where.trim()}`;
  });

  await step('resident-receives-progress-in-the-sink', null, async () => {
    for (const c of [other, own]) {
      await act('shiftlead', c.case_id, { action: 'register' });
      await act('dispatcher', c.case_id, { action: 'dispatch', lead_dept_id: handlerUser.dept_id });
    }
    await act('handler', own.case_id, { action: 'accept' });
    await act('handler', own.case_id, { action: 'feedback', note: '已协调货车移走并设置隔离桩。' });
    await act('supervisor', own.case_id, { action: 'check_pass', note: '现场已恢复通行' });
    await act('shiftlead', own.case_id, { action: 'close' });
    const wanted = ['otp', 'merged', 'received', 'progress', 'closed', 'rate', 'followup'];
    const arrived = (ks) => wanted.every((k) => ks.includes(k)) && ks.filter((k) => k === 'progress').length >= 2;
    const kinds = (await sinkUntil((rs) => arrived(rs.map((r) => r.kind)))).map((r) => r.kind);
    for (const k of wanted) need(kinds.includes(k), `no ${k} message in the sink: ${kinds.join(',')}`);
    need(kinds.filter((k) => k === 'progress').length === 2, `progress messages: ${kinds.join(',')}`);
    return kinds.join(' → ');
  });

  await step('resident-rates-in-one-tap', page, async () => {
    await goto(page, 'me');
    const item = page.locator(`[data-case="${own.number}"]`);
    await item.locator('[data-rate=satisfied]').click();
    await item.locator('.status.ok').waitFor();
    const c = await api('GET', `/api/v1/cases/${own.case_id}`, { token: tok.admin });
    need(c.state === 'evaluated', `state ${c.state}`);
    const messages = await page.locator('#msg-list li').count();
    need(messages > 0, 'no messages on the page');
    return `${own.number} rated; ${messages} messages listed`;
  });

  await step('resident-answers-was-it-fixed', page, async () => {
    await goto(page, 'me');
    const item = page.locator(`[data-case="${own.number}"]`);
    await item.locator('[data-followup=fixed]').click();
    await item.locator('.followup .status.ok').waitFor();
    const t = await api('GET', `/api/v1/public/cases/${own.number}/timeline`);
    need(t.followup.fixed === 1 && t.followup.not_fixed === 0, `follow-up ${JSON.stringify(t.followup)}`);
    need(t.steps.some((s) => s.status === 'followup'), 'the answer is not on the public timeline');
    // Once only: the page no longer asks.
    await goto(page, 'me');
    need(await page.locator(`[data-case="${own.number}"] [data-followup]`).count() === 0, 'asked again after answering');
    await goto(page, `case?n=${own.number}`);
    need((await page.textContent('#case-followup')).includes('1 人表示已解决'), 'the case page does not count the answer');
    return `${own.number}: fixed, shown on its public page`;
  });

  await step('resident-answers-a-poll', page, async () => {
    await goto(page, 'community');
    const poll = page.locator('[data-poll]').filter({ has: page.locator('input[type=radio]') }).first();
    await poll.locator('input[type=radio]').first().check();
    await poll.locator('button.primary').click();
    await poll.locator('.status.ok').waitFor();
    return 'answered the open poll';
  });

  const operator = await actor(browser, 'operator', 'answers');
  await step('operator-answers-from-the-knowledge-base', operator.page, async () => {
    const p = operator.page;
    const answer = await api('POST', '/api/v1/kb/answers', {
      token: tok.admin,
      body: { question: `居住证办理需要什么材料（${stamp}）`, answer: '身份证、租房合同或房产证明，到社区服务站办理，15 个工作日领证。', keywords: ['居住证', '材料'] },
    });
    const before = await api('GET', '/api/v1/consultations/counts', { token: tok.admin });
    const n = (rows) => rows.find((r) => r.appeal_type === 'enquiry')?.count ?? 0;
    await goto(p, 'answers');
    await p.fill('#kb-q', '请问办居住证要带哪些材料');
    await p.locator(`.kb-use[data-id="${answer.id}"]`).waitFor();
    // The demo's own 居住证 answer may rank beside this one: Tab once per answer above it.
    const ids = await p.locator('.kb-use').evaluateAll((els) => els.map((e) => e.dataset.id));
    const rank = ids.indexOf(String(answer.id));
    need(rank >= 0 && rank <= 1, `the answer ranks ${rank + 1} of ${ids.length}`);
    let keys = 0;
    for (let i = 0; i <= rank; i += 1) {
      await p.keyboard.press('Tab');
      keys += 1;
    }
    need(await p.evaluate((id) => document.activeElement?.dataset?.id === id, String(answer.id)), 'Tab did not reach the answer');
    await p.keyboard.press('Enter');
    keys += 1;
    await p.waitForSelector('.status.ok');
    const after = await api('GET', '/api/v1/consultations/counts', { token: tok.admin });
    need(n(after) === n(before) + 1, `consultations ${n(before)} → ${n(after)}`);
    need(keys < 5, `${keys} keystrokes`);
    return `answered and closed with ${keys} keystrokes after the search`;
  });

  await step('operator-files-a-call-as-a-complaint-by-keyboard', operator.page, async () => {
    const p = operator.page;
    await goto(p, 'hotline');
    need(await p.isChecked('#hl-type-help'), 'the default appeal type is not 求助');
    await p.fill('textarea[name=text]', `来电投诉：阳光社区南门商户夜间占道烧烤，油烟扰民（${stamp}）`);
    await p.keyboard.press('Alt+T');
    need(await p.evaluate(() => document.activeElement?.id === 'hl-type-help'), 'Alt+T did not reach the appeal type');
    await p.keyboard.press('ArrowLeft');
    need(await p.isChecked('#hl-type-complaint'), 'the arrow key did not choose 投诉');
    await p.selectOption('select[name=area]', String(community.id));
    await p.keyboard.press('Control+Enter');
    const number = (await p.locator('[data-testid=case-number]').textContent()).trim();
    const filed = await api('GET', `/api/v1/public/cases/${encodeURIComponent(number)}/timeline`);
    const trail = await api('GET', `/api/v1/cases/${filed.id}/trail`, { token: tok.admin });
    need(trail[0].detail.appeal_type === 'complaint', `receive detail ${JSON.stringify(trail[0].detail)}`);
    need(await p.isChecked('#hl-type-help'), 'the next call does not start at 求助');
    return `${number} filed as 投诉 with Alt+T, ←, Ctrl+Enter`;
  });

  const lead = await actor(browser, 'shiftlead', 'hotline');
  await step('shift-lead-sees-a-not-fixed-answer-and-reopens', lead.page, async () => {
    // A second report of the resident, closed, which they say is not fixed (through the API: the
    // buttons were exercised above); the shift lead finds it on the hotline console and reopens it.
    const again = await api('POST', '/api/v1/appeals', {
      token: residentToken,
      body: { text: `阳光社区南门外公交站台的顶棚玻璃碎裂，碎片掉在候车区（${stamp}）`, category_id: category.id, area_id: community.id },
    });
    need(!again.merged, `the second report was merged into ${again.number}`);
    await act('shiftlead', again.case_id, { action: 'register' });
    await act('dispatcher', again.case_id, { action: 'dispatch', lead_dept_id: handlerUser.dept_id });
    await act('handler', again.case_id, { action: 'accept' });
    await act('handler', again.case_id, { action: 'feedback', note: '已更换灯泡。' });
    await act('supervisor', again.case_id, { action: 'check_pass', note: '已亮' });
    await act('shiftlead', again.case_id, { action: 'close' });
    const answer = await api('POST', `/api/v1/cases/${again.case_id}/followup`, { token: residentToken, body: { fixed: false } });
    need(answer.flagged === true, `answer ${JSON.stringify(answer)}`);
    await goto(lead.page, 'hotline');
    const item = lead.page.locator(`[data-flagged="${again.number}"]`);
    await item.waitFor();
    await item.locator('button').click();
    await item.locator('.status.ok').waitFor();
    const c = await api('GET', `/api/v1/cases/${again.case_id}`, { token: tok.admin });
    need(c.state === 'registered', `state ${c.state} after reopening`);
    const flagged = await api('GET', '/api/v1/followups/flagged', { token: tok.shiftlead });
    need(!flagged.some((f) => f.number === again.number), 'still flagged after reopening');
    return `${again.number}: not fixed → flagged → reopened by the shift lead`;
  });

  const audits = [
    ['map', page, 'map'],
    ['map-anonymous', null, 'map'],
    ['map-large-text', page, 'map', null, true],
    ['case-page', page, `case?n=${own?.number ?? ''}`],
    ['hotline-types', operator.page, 'hotline'],
    ['join', null, 'join'],
    ['me', page, 'me'],
    ['community', page, 'community'],
    ['community-anonymous', null, 'community'],
    ['answers', operator.page, 'answers'],
    ['me-english', page, 'me', 'en'],
  ];
  for (const [name, who, route, lang, large] of audits) {
    let p = who;
    let tmp = null;
    if (!p) {
      tmp = await browser.newContext({ viewport: PHONE_VIEWPORT, isMobile: true, locale: 'zh-CN' });
      p = await tmp.newPage();
    }
    await step(`axe-${name}`, p, async () => {
      if (lang) await p.evaluate((l) => localStorage.setItem('urbis.lang', l), lang).catch(() => undefined);
      await p.evaluate((on) => localStorage.setItem('urbis.large', on ? '1' : '0'), Boolean(large)).catch(() => undefined);
      await p.goto(`${BASE}/#/${route}`);
      await p.evaluate(() => (document.documentElement.dataset.ready = '0'));
      await p.reload();
      await waitReady(p);
      await p.evaluate(`${AXE}\n;undefined`);
      const res = await p.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((x) => x.target.join(' ')) }));
      });
      if (lang) await p.evaluate(() => localStorage.setItem('urbis.lang', 'zh-CN'));
      if (large) await p.evaluate(() => localStorage.setItem('urbis.large', '0'));
      for (const v of res) console.log(`  axe ${name}: ${v.impact} ${v.id} — ${v.nodes.join(', ')}`);
      need(res.length === 0, `${res.length} violation(s): ${res.map((v) => v.id).join(', ')}`);
      return '0 violations';
    });
    if (tmp) await tmp.close();
  }
  await operator.context.close();
  await lead.context.close();
  await ctx.close();
}
