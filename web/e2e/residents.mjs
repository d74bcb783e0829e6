// Residents in the loop (issue 21), after the closed-loop story of run.mjs: a new resident signs
// up on a phone-sized screen with the code the local sink received, sees an open report near
// them and joins it, receives the progress messages in the sink, and rates their own case in
// one tap; an operator answers a 咨询 from the knowledge base with two keystrokes after the
// search (Tab, Enter). Then axe-core on the new pages: no violations of any impact.
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

  const ctx = await browser.newContext({ viewport: PHONE_VIEWPORT, isMobile: true, hasTouch: true, locale: 'zh-CN' });
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
    const rows = await sinkKinds();
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

  await step('resident-receives-progress-in-the-sink', null, async () => {
    for (const c of [other, own]) {
      await act('shiftlead', c.case_id, { action: 'register' });
      await act('dispatcher', c.case_id, { action: 'dispatch', lead_dept_id: handlerUser.dept_id });
    }
    await act('handler', own.case_id, { action: 'accept' });
    await act('handler', own.case_id, { action: 'feedback', note: '已协调货车移走并设置隔离桩。' });
    await act('supervisor', own.case_id, { action: 'check_pass', note: '现场已恢复通行' });
    await act('shiftlead', own.case_id, { action: 'close' });
    const kinds = (await sinkKinds()).map((r) => r.kind);
    for (const k of ['otp', 'merged', 'received', 'progress', 'closed', 'rate']) need(kinds.includes(k), `no ${k} message in the sink: ${kinds.join(',')}`);
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

  const audits = [
    ['join', null, 'join'],
    ['me', page, 'me'],
    ['community', page, 'community'],
    ['community-anonymous', null, 'community'],
    ['answers', operator.page, 'answers'],
    ['me-english', page, 'me', 'en'],
  ];
  for (const [name, who, route, lang] of audits) {
    let p = who;
    let tmp = null;
    if (!p) {
      tmp = await browser.newContext({ viewport: PHONE_VIEWPORT, isMobile: true, locale: 'zh-CN' });
      p = await tmp.newPage();
    }
    await step(`axe-${name}`, p, async () => {
      if (lang) await p.evaluate((l) => localStorage.setItem('urbis.lang', l), lang).catch(() => undefined);
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
      for (const v of res) console.log(`  axe ${name}: ${v.impact} ${v.id} — ${v.nodes.join(', ')}`);
      need(res.length === 0, `${res.length} violation(s): ${res.map((v) => v.id).join(', ')}`);
      return '0 violations';
    });
    if (tmp) await tmp.close();
  }
  await operator.context.close();
  await ctx.close();
}
