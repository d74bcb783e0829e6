// The closed loop told through the UI against a fresh `urbis demo` city: the leader's wall
// screen open throughout, a resident's report from the portal, an operator's call, the shift
// lead's 立案, the dispatcher's routing, the handler's acceptance and feedback, the supervisor's
// check, the close and the resident's rating, the public lookup, and an Open311 request. Returns
// the story's numbers and the logged-in pages for the checks that follow.

import { BASE, PASSWORD, PNG, TIMEOUT, actor, api, goto, need, requireEndpoint, selectOptionByText, shot, step, waitReady } from './harness.mjs';

export async function closedLoop(browser, stamp) {
  const story = {};
  let dash = null;
  // The leader's wall screen, open for the whole story in its own tab.
  await step('dashboard-open', null, async () => {
    dash = await actor(browser, 'leader', 'dashboard');
    await dash.page.waitForSelector('.kpi-value[data-kpi=today]');
    story.todayBefore = Number(await dash.page.textContent('.kpi-value[data-kpi=today]'));
    await dash.page.waitForFunction(() => /实时|Live/.test(document.querySelector('.live-state')?.textContent ?? '') && document.querySelector('.live-state')?.classList.contains('on'), null, { timeout: TIMEOUT });
    await shot(dash.page, 'dashboard-open');
    return `today's intake ${story.todayBefore}`;
  });

  // Stored markup (say an area name) that reached the page as HTML could not run: the CSP
  // forbids inline handlers and scripts, and the tooltip formatters escape names (web/test).
  await step('csp-blocks-injected-markup', dash?.page, async () => {
    const p = dash.page;
    const res = await p.evaluate(async () => {
      const box = document.createElement('div');
      box.hidden = true;
      box.innerHTML = '<img src="data:," onerror="window.__xss = 1"><script>window.__xss = 2</script>';
      document.body.append(box);
      await new Promise((r) => setTimeout(r, 300));
      box.remove();
      return window.__xss ?? null;
    });
    need(res === null, `injected markup ran (${res})`);
    const csp = (await fetch(`${BASE}/`)).headers.get('content-security-policy') ?? '';
    need(/script-src 'self';/.test(csp) && /frame-ancestors 'none'/.test(csp), `CSP: ${csp}`);
    return 'inline handler and script blocked';
  });

  // Trends by category: one panel of the wall screen, at least one level-1 category drawn.
  await step('dashboard-category-trend', dash?.page, async () => {
    const leaderToken = (await api('POST', '/api/v1/auth/login', { body: { username: 'leader', password: PASSWORD } })).token;
    await requireEndpoint('GET', '/api/v1/stats/category-trend', leaderToken);
    const p = dash.page;
    const panel = '.p-cat:not([hidden])';
    await p.waitForSelector(`${panel} [data-testid=category-trend] canvas`);
    const n = Number(await p.getAttribute('[data-testid=category-trend]', 'data-categories'));
    need(n >= 1, `no category drawn (${n})`);
    const label = await p.getAttribute('[data-testid=category-trend]', 'aria-label');
    const heads = await p.$$eval(`${panel} table thead th`, (ths) => ths.map((t) => t.textContent.trim()));
    need(heads.length === n + 2, `table columns ${heads.join(',')}`);
    const names = await api('GET', '/api/v1/categories', { token: leaderToken });
    const level1 = names.filter((c) => c.level === 1).map((c) => c.name);
    need(heads.slice(1, -1).some((h) => level1.includes(h)), `no level-1 category name in ${heads.join(',')}`);
    return `${n} series: ${label}`;
  });

  // The portal's map without login: boundaries and locating are public.
  await step('anonymous-portal-map', null, async () => {
    await requireEndpoint('GET', '/api/v1/areas/geojson?level=street');
    const ctx = await browser.newContext({ viewport: { width: 420, height: 900 }, locale: 'zh-CN' });
    try {
      const p = await ctx.newPage();
      p.setDefaultTimeout(TIMEOUT);
      await p.goto(`${BASE}/#/portal`);
      await waitReady(p);
      need(!(await p.$('header .account')), 'the visitor is logged in');
      await p.waitForSelector('.map-picker canvas');
      const options = await p.$$eval('select[name=area] option', (os) => os.filter((o) => o.value).map((o) => o.textContent.trim()));
      need(options.length > 0, 'no area list (the map\'s keyboard alternative)');
      await p.locator('.map-picker').scrollIntoViewIfNeeded();
      const box = await p.$eval('.map-picker', (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
      await p.mouse.click(box.x + box.w * 0.5, box.y + box.h * 0.5);
      await p.waitForFunction(() => (document.querySelector('.located')?.textContent ?? '').length > 0);
      const located = (await p.textContent('.located')).trim();
      const area = await p.$eval('select[name=area]', (s) => s.selectedOptions[0]?.textContent?.trim() ?? '');
      await shot(p, 'anonymous-portal-map');
      return `map shown; ${options.length} areas in the list; click → ${located}; area ${area || 'not chosen'}`;
    } finally {
      await ctx.close();
    }
  });

  // 1. A resident reports through the portal.
  const resident = await actor(browser, 'resident', 'portal');
  await step('resident-reports', resident.page, async () => {
    const p = resident.page;
    await p.fill('textarea[name=text]', `青山区中心街道阳光社区南门口有人长期占道经营，摆摊卖水果堵住人行道，老人孩子只能走机动车道。(${stamp})`);
    await p.fill('input[name=title]', `阳光社区南门占道经营 ${stamp}`);
    await selectOptionByText(p, 'select[name=category]', '占道经营');
    if (await p.$('.map-picker')) {
      // Boundaries are stored: pick the location on the map.
      await p.locator('.map-picker').scrollIntoViewIfNeeded();
      const box = await p.$eval('.map-picker', (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
      await p.mouse.click(box.x + box.w * 0.5, box.y + box.h * 0.5);
      await p.waitForFunction(() => (document.querySelector('.located')?.textContent ?? '').length > 0);
      story.mapPick = await p.textContent('.located');
      // Keep the story in 青山区 (its handler and supervisor take the case), whatever was clicked.
      await selectOptionByText(p, 'select[name=area]', '\u3000\u3000阳光社区').catch(() => selectOptionByText(p, 'select[name=area]', '青山区'));
    }
    const areaValue = await p.$eval('select[name=area]', (sel) => sel.value);
    if (!areaValue) await selectOptionByText(p, 'select[name=area]', '\u3000\u3000阳光社区').catch(() => selectOptionByText(p, 'select[name=area]', '青山区'));
    const chosen = await p.$eval('select[name=area]', (sel) => sel.selectedOptions[0]?.textContent ?? '');
    // Keep the area inside 青山区 so the district's own handler gets the case.
    need(chosen !== '', 'no area chosen');
    await p.setInputFiles('input[type=file]', { name: 'photo.png', mimeType: 'image/png', buffer: PNG });
    await p.click('form.report button[type=submit]');
    await p.waitForSelector('form.report .status.ok .case-number');
    story.residentNumber = (await p.textContent('form.report .case-number')).trim();
    need(/^\d{6,}$/.test(story.residentNumber), `bad case number ${story.residentNumber}`);
    return `case ${story.residentNumber}${story.mapPick ? `; map click → ${story.mapPick}` : '; no boundaries stored, area chosen from the list'}`;
  });
  await step('portal-suggests-category', resident.page, async () => {
    const p = resident.page;
    await requireEndpoint('POST', '/api/v1/intake/suggest', story.adminToken, { text: '路灯不亮' });
    await p.fill('textarea[name=text]', '路边有人占道经营摆摊卖菜，堵塞交通');
    await p.waitForSelector('.suggest:not([hidden]) .chip', { timeout: 8000 });
    const chip = await p.textContent('.suggest .chip');
    await p.fill('textarea[name=text]', '');
    return `first suggestion: ${chip.trim()}`;
  });

  await step('portal-language-and-large-text', resident.page, async () => {
    const p = resident.page;
    const size = () => p.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
    const before = await size();
    await p.click('header button[aria-pressed]');
    const large = await size();
    need(large > before, `large text did not enlarge the font (${before} → ${large})`);
    await p.evaluate(() => (document.documentElement.dataset.ready = '0'));
    await p.click('header button:has-text("English")');
    await waitReady(p);
    const lang = await p.getAttribute('html', 'lang');
    const heading = await p.textContent('main h1');
    need(lang === 'en' && /Resident service/.test(heading), `lang ${lang}, heading ${heading}`);
    await shot(p, 'portal-english-large');
    await p.evaluate(() => (document.documentElement.dataset.ready = '0'));
    await p.click('header button:has-text("中文")');
    await waitReady(p);
    await p.click('header button[aria-pressed="true"]');
    need((await p.getAttribute('html', 'lang')) === 'zh-CN', 'did not switch back to Chinese');
    return `font ${before}px → ${large}px; lang zh-CN → en → zh-CN`;
  });

  await step('dashboard-shows-new-case-live', dash?.page, async () => {
    await dash.page.waitForSelector(`.feed li[data-number="${story.residentNumber}"]`, { timeout: TIMEOUT });
    // The line says what the case is about (its title), not only its number.
    await dash.page.waitForSelector(`.feed li[data-number="${story.residentNumber}"] .feed-title:has-text("阳光社区南门占道经营")`, { timeout: TIMEOUT });
    const today = Number(await dash.page.textContent('.kpi-value[data-kpi=today]'));
    need(today > story.todayBefore, `today's intake did not grow (${story.todayBefore} → ${today})`);
    return `feed shows ${story.residentNumber}; today's intake ${story.todayBefore} → ${today}`;
  });

  // 2. An operator records a phone appeal.
  const operator = await actor(browser, 'operator', 'hotline');
  await step('operator-records-call', operator.page, async () => {
    const p = operator.page;
    await p.fill('input[name=caller_phone]', '13812345678');
    await p.fill('input[name=caller_name]', '王女士');
    await p.fill('textarea[name=text]', `来电反映清河区新华街道幸福社区路灯不亮已经三天，晚上出行不安全，请尽快修复。(${stamp})`);
    await selectOptionByText(p, 'select[name=category]', '路灯故障');
    await selectOptionByText(p, 'select[name=area]', '清河区');
    await p.focus('textarea[name=text]');
    await p.keyboard.press('Control+Enter');
    await p.waitForSelector('.hotline-form .status.ok .case-number');
    story.hotlineNumber = (await p.textContent('.hotline-form .case-number')).trim();
    const cleared = await p.$eval('textarea[name=text]', (t) => t.value === '');
    need(cleared, 'the form was not cleared for the next call');
    const focused = await p.evaluate(() => document.activeElement?.getAttribute('name'));
    need(focused === 'caller_phone', `focus is on ${focused}, not the phone field`);
    const merged = (await p.textContent('.hotline-form .status.ok')).includes('并入');
    return `case ${story.hotlineNumber}${merged ? ' (joined an open case about the same problem)' : ''}; form cleared, focus back on the phone field`;
  });
  await step('hotline-address-search', operator.page, async () => {
    await requireEndpoint('GET', `/api/v1/geocode?q=${encodeURIComponent('路')}&limit=1`);
    const p = operator.page;
    await p.fill('input[name=address]', '青山路');
    await p.waitForSelector('.address-search .results button', { timeout: 8000 });
    await p.keyboard.press('ArrowDown');
    await p.keyboard.press('Enter');
    await p.waitForFunction(() => (document.querySelector('.hotline-form .located')?.textContent ?? '').length > 0);
    const located = await p.textContent('.hotline-form .located');
    const area = await p.$eval('select[name=area]', (s) => s.selectedOptions[0]?.textContent?.trim() ?? '');
    await p.keyboard.press('Alt+N');
    need(area !== '' && !area.startsWith('（'), `no area chosen from the address (${area})`);
    return `${located.trim()} → area ${area}`;
  });
  await step('dashboard-shows-hotline-case', dash?.page, async () => {
    await dash.page.waitForSelector(`.feed li[data-number="${story.hotlineNumber}"]`, { timeout: TIMEOUT });
  });

  // 3. The shift lead registers (立案) where the case waits for it.
  const lead = await actor(browser, 'shiftlead', 'dispatch');
  const openCase = async (page, view, number) => {
    await goto(page, `dispatch?view=${view}&case=${number}`);
    await page.waitForSelector(`#dd-h .num:text-is("${number}")`, { timeout: TIMEOUT });
  };
  const caseState = async (number) => {
    const list = await api('GET', `/api/v1/cases?limit=100`, { token: story.adminToken });
    return list.find((c) => c.number === number);
  };
  story.adminToken = (await api('POST', '/api/v1/auth/login', { body: { username: 'admin', password: PASSWORD } })).token;
  await step('shiftlead-registers', lead.page, async () => {
    const c = await caseState(story.residentNumber);
    need(c, 'the resident case is not in the list');
    if (c.state !== 'received') return `already ${c.state}; nothing to register`;
    await openCase(lead.page, 'open', story.residentNumber);
    await lead.page.click('.detail button:has-text("立案")');
    await lead.page.waitForSelector('.detail .status.ok');
    const after = await caseState(story.residentNumber);
    need(after.state === 'registered', `state is ${after.state}`);
    return 'received → registered';
  });

  // 4. The dispatcher confirms the routing suggestion in one action.
  const dispatcher = await actor(browser, 'dispatcher', 'dispatch');
  await step('dispatcher-routes', dispatcher.page, async () => {
    const p = dispatcher.page;
    await openCase(p, 'registered', story.residentNumber);
    const dept = await p.$eval('select[id^=dd-dept]', (s) => s.selectedOptions[0]?.textContent ?? '');
    if (dept !== '青山区城管执法局') await selectOptionByText(p, 'select[id^=dd-dept]', '青山区城管执法局');
    const count = await p.textContent('[data-testid=reporter-count]');
    await p.click('.detail button:has-text("确认派遣")');
    await p.waitForSelector('.detail .status.ok');
    const after = await caseState(story.residentNumber);
    need(after.state === 'dispatched', `state is ${after.state}`);
    return `suggested lead "${dept || 'none'}"; reporters ${count}; → dispatched`;
  });

  // 5. The handler accepts and feeds back.
  const handler = await actor(browser, 'handler', 'workbench');
  await step('handler-accepts', handler.page, async () => {
    const p = handler.page;
    const card = `article[data-number="${story.residentNumber}"]`;
    await p.waitForSelector(card);
    const countdown = await p.textContent(`${card} .countdown`);
    await p.click(`${card} button:has-text("签收")`);
    await p.waitForSelector(`${card} details.feedback-details`);
    return `deadline shown as "${countdown.trim()}"`;
  });
  await step('handler-feeds-back', handler.page, async () => {
    const p = handler.page;
    const card = `article[data-number="${story.residentNumber}"]`;
    await p.click(`${card} details.feedback-details summary`);
    await p.fill(`${card} textarea[id^=fb-note]`, '已联系摊主劝离，现场已清理，人行道恢复通行。');
    await p.setInputFiles(`${card} form.feedback-form input[type=file]`, { name: 'after.png', mimeType: 'image/png', buffer: PNG });
    await p.click(`${card} form.feedback-form button[type=submit]`);
    await p.waitForFunction((n) => {
      const el = document.querySelector(`#wb-waiting`)?.parentElement;
      return !!el?.querySelector(`article[data-number="${n}"]`);
    }, story.residentNumber);
    const after = await caseState(story.residentNumber);
    need(after.state === 'feedback', `state is ${after.state}`);
    return 'handling → feedback';
  });

  // 6. The grid supervisor checks the fix.
  const supervisor = await actor(browser, 'supervisor', 'workbench');
  await step('supervisor-checks', supervisor.page, async () => {
    const p = supervisor.page;
    const card = `article[data-number="${story.residentNumber}"]`;
    await p.waitForSelector(card);
    await p.fill(`${card} textarea[id^=chk-note]`, '现场核查，已整改到位。');
    await p.click(`${card} button:has-text("核查通过")`);
    await p.waitForFunction((sel) => !document.querySelector(sel), card);
    const after = await caseState(story.residentNumber);
    need(after.state === 'checked', `state is ${after.state}`);
    return 'feedback → checked';
  });

  // 7. The shift lead closes (结案).
  await step('shiftlead-closes', lead.page, async () => {
    await openCase(lead.page, 'checked', story.residentNumber);
    // The lead closes on what was done and what the check found.
    const basis = await lead.page.textContent('.detail [data-testid=closing-basis]');
    need(basis.includes('人行道恢复通行') && basis.includes('已整改到位'), `closing basis: ${basis}`);
    await lead.page.click('.detail button:has-text("结案")');
    await lead.page.waitForSelector('.detail .status.ok');
    const after = await caseState(story.residentNumber);
    need(after.state === 'closed', `state is ${after.state}`);
    return `closed (${after.closure_type})`;
  });

  // 8. The resident follows the case, reads the reply and rates it.
  await step('resident-follows-and-rates', resident.page, async () => {
    const p = resident.page;
    await goto(p, 'portal');
    const card = `.mine article[data-number="${story.residentNumber}"]`;
    await p.waitForSelector(`${card} form.rate`);
    const reply = await p.textContent(`${card} .reply`);
    need(reply.includes('人行道'), `official reply not shown: ${reply}`);
    await p.check(`${card} input[value=satisfied]`);
    await p.click(`${card} form.rate button[type=submit]`);
    await p.waitForSelector(`${card} .status.ok`);
    need(!(await p.$(`${card} [data-testid=to-rate]`)), 'the card still says 待评价 after rating');
    const after = await caseState(story.residentNumber);
    need(after.state === 'evaluated' && after.satisfaction === 'satisfied', `state ${after.state}, rating ${after.satisfaction}`);
    return 'closed → evaluated (satisfied)';
  });
  await step('photos-stored-with-the-case', null, async () => {
    const c = await caseState(story.residentNumber);
    await requireEndpoint('GET', `/api/v1/cases/${c.id}/attachments`, story.adminToken);
    const res = await fetch(`${BASE}/api/v1/cases/${c.id}/attachments`, { headers: { authorization: `Bearer ${story.adminToken}` } });
    const body = await res.json();
    const kinds = body.items.map((a) => a.kind).sort().join(',');
    need(kinds === 'appeal,feedback', `attachments: ${kinds || 'none'}`);
    return 'the resident\'s photo and the handler\'s photo are stored';
  });
  await step('public-lookup-without-login', null, async () => {
    await requireEndpoint('GET', `/api/v1/public/cases/${story.residentNumber}`);
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${BASE}/#/portal?case=${story.residentNumber}`);
    await waitReady(p);
    await p.waitForSelector('.follow-out .case-card, .follow-out .status.error');
    const ok = (await p.$('.follow-out .case-card')) !== null;
    const reply = ok ? await p.textContent('.follow-out .reply') : '';
    await shot(p, 'public-lookup');
    await ctx.close();
    need(ok, 'the case was not found without login');
    need(reply.includes('人行道'), `the official reply is not shown: ${reply}`);
    return 'found without login, with the official reply';
  });

  await step('dashboard-follows-the-loop', dash?.page, async () => {
    await dash.page.waitForFunction((n) => document.querySelectorAll(`.feed li[data-number="${n}"]`).length >= 6, story.residentNumber, { timeout: TIMEOUT });
    const n = await dash.page.$$eval(`.feed li[data-number="${story.residentNumber}"]`, (els) => els.length);
    return `${n} live events for ${story.residentNumber}`;
  });

  // 9. Open311: a registered client files a request; it appears in the dispatch console.
  await step('open311-request-in-dispatch', dispatcher.page, async () => {
    const client = await api('POST', '/api/v1/open311/clients', { token: story.adminToken, body: { name: `e2e-${stamp}` } });
    need(client.api_key, 'no api key returned');
    const services = await api('GET', '/open311/v2/services.json');
    const service = services.find((s) => s.service_name === '暴露垃圾') ?? services[0];
    const created = await api('POST', '/open311/v2/requests.json', {
      form: { api_key: client.api_key, service_code: service.service_code, description: `Open311: 东湖区滨江街道垃圾桶满溢无人清运 (${stamp})`, address_string: '示范市东湖区滨江街道', lat: '30.52', long: '114.25' },
    });
    const number = created[0].service_request_id;
    story.open311Number = number;
    const c = await caseState(number);
    need(c, `case ${number} not found`);
    await goto(dispatcher.page, 'dispatch?view=received');
    await dispatcher.page.waitForSelector(`tr[data-number="${number}"]`);
    await dispatcher.page.click(`tr[data-number="${number}"] button.link`);
    await dispatcher.page.waitForSelector(`#dd-h .num:text-is("${number}")`);
    return `request ${number} (${service.service_name}) is in the queue, state ${c.state}`;
  });
  return { story, pages: { dash, resident, operator, lead, dispatcher, handler, supervisor } };
}
