// The consoles as people work them (issue 15), driven through the UI after the closed-loop story
// of run.mjs: errors in the user's language, focus rings, the hotline's keyboard and address
// safety, call-backs, the dispatch console's live panel and approvals, the workbench's requests,
// the wall-screen dashboard and its click-throughs, the admin's limits, keys and office hours.
// Finally screenshots of each console at 1366×768 and 1920×1080 and the portal at 390×844.
//
// Called by run.mjs with its helpers; each check is one step with one line of output.

import { laterChecks } from './consoles-later.mjs';
import { lastChecks } from './consoles-last.mjs';

const CJK = /[\u3400-\u9fff]/;

/** Unrelated problems, so that intake never merges one check's case into another's. */
const PROBLEMS = [
  '凌晨两点还有渣土车在小区门口卸货，轰鸣声吵得整栋楼睡不着觉',
  '菜市场西侧消防通道被三轮车和货箱堵死，救护车上周差点进不来',
  '人行道上的盲道被一排共享单车完全压住，视障居民只能绕行',
  '广场舞音箱每晚开到十点以后，音量大到关窗也听得清楚',
  '居民楼顶的太阳能热水器支架松动，大风天随时可能掉下来',
  '小区地下车库入口的排水沟盖板断裂，车轮压过去会卡住',
  '河边步道的护栏锈断了一截，晚上散步的老人容易跌下去',
  '快递驿站把包裹堆满楼道，住户搬家具都过不去',
];

/** WCAG contrast of two CSS colours as the browser computes them ("rgb(…)" / "rgba(…)"). */
export function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/[\d.]+/g).slice(0, 3).map((x) => {
      const v = Number(x) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** The focused element's outline colour and the opaque background behind it. */
async function focusColours(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    let bg = 'rgb(255, 255, 255)';
    for (let n = el.parentElement; n; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      if (c && !/rgba\(.*, 0\)$/.test(c) && c !== 'transparent') {
        bg = c;
        break;
      }
    }
    return { outline: style.outlineColor, style: style.outlineStyle, width: parseFloat(style.outlineWidth), bg, tag: el.tagName };
  });
}

export async function consoleChecks(t) {
  const { browser, BASE, PASSWORD, step, need, actor, api, goto, waitReady, shot, TIMEOUT, stamp, pages } = t;
  const { operator, lead, dispatcher, handler, supervisor, dash } = pages;
  const token = async (u) => (await api('POST', '/api/v1/auth/login', { body: { username: u, password: PASSWORD } })).token;
  const tok = {};
  for (const u of ['admin', 'operator', 'shiftlead', 'dispatcher', 'handler', 'leader']) tok[u] = await token(u);
  const [cats, areas, users] = await Promise.all([
    api('GET', '/api/v1/categories', { token: tok.admin }),
    api('GET', '/api/v1/areas', { token: tok.admin }),
    api('GET', '/api/v1/users', { token: tok.admin }),
  ]);
  const handlerUser = users.find((u) => u.username === 'handler');
  const category = cats.find((c) => c.name === '占道经营');
  const community = areas.find((a) => a.name === '阳光社区');
  const caseById = (id) => api('GET', `/api/v1/cases/${id}`, { token: tok.admin });
  const act = (who, id, body) => api('POST', `/api/v1/cases/${id}/actions`, { token: tok[who], body });
  let seq = 0;
  /** A new case in 阳光社区 moved through the workflow by the API up to `until`. */
  const newCase = async (until, extra = {}) => {
    seq += 1;
    const res = await api('POST', '/api/v1/appeals', {
      token: tok.operator,
      body: {
        channel: 'hotline',
        text: `${PROBLEMS[(seq - 1) % PROBLEMS.length]}（${stamp}-${seq}）`,
        title: `检查${seq} ${stamp}`,
        category_id: category.id,
        area_id: community.id,
        ...(community.center_lat !== null ? { lat: community.center_lat, lon: community.center_lon } : {}),
        ...extra,
      },
    });
    need(!res.merged, `appeal ${seq} was merged into ${res.number}`);
    const id = res.case_id;
    if (until === 'received') return { id, number: res.number };
    await act('shiftlead', id, { action: 'register' });
    if (until === 'registered') return { id, number: res.number };
    await act('dispatcher', id, { action: 'dispatch', lead_dept_id: handlerUser.dept_id });
    if (until === 'dispatched') return { id, number: res.number };
    await act('handler', id, { action: 'accept' });
    return { id, number: res.number };
  };
  const zhErrors = async (page, where) => {
    const texts = await page.$$eval('.status.error', (els) => els.filter((e) => e.offsetParent !== null).map((e) => e.textContent.trim()));
    for (const x of texts) need(CJK.test(x) && !/not allowed in state|wrong username/.test(x), `${where}: error not in Chinese: ${x}`);
    return texts;
  };

  // ---- Everywhere ----
  await step('errors-in-the-users-language', null, async () => {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
    try {
      const p = await ctx.newPage();
      await p.goto(`${BASE}/#/login`);
      await waitReady(p);
      await p.fill('input[name=username]', 'operator');
      await p.fill('input[name=password]', 'not-the-password');
      await p.click('form button[type=submit]');
      await p.waitForSelector('.status.error');
      const zh = (await p.textContent('.status.error')).trim();
      need(zh === '用户名或密码错误。', `zh-CN login error: ${zh}`);
      await p.evaluate(() => localStorage.setItem('urbis.lang', 'en'));
      await p.reload();
      await waitReady(p);
      await p.fill('input[name=username]', 'operator');
      await p.fill('input[name=password]', 'not-the-password');
      await p.click('form button[type=submit]');
      await p.waitForSelector('.status.error');
      const en = (await p.textContent('.status.error')).trim();
      await p.evaluate(() => localStorage.setItem('urbis.lang', 'zh-CN'));
      need(en === 'Wrong username or password.', `English login error: ${en}`);
      return `zh-CN "${zh}", en "${en}"`;
    } finally {
      await ctx.close();
    }
  });

  await step('focus-ring-contrast', null, async () => {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
    try {
      const p = await ctx.newPage();
      await p.goto(`${BASE}/#/login`);
      await waitReady(p);
      const seen = [];
      // Keyboard focus through the login page: skip link, top bar buttons, fields, submit.
      for (let i = 0; i < 8; i++) {
        await p.keyboard.press('Tab');
        const f = await focusColours(p);
        if (f.style === 'none' || f.width === 0) continue;
        const ratio = contrast(f.outline, f.bg);
        seen.push(`${f.tag} ${ratio.toFixed(2)}`);
        need(ratio >= 3, `focus ring of ${f.tag} is ${ratio.toFixed(2)}:1 (${f.outline} on ${f.bg})`);
      }
      need(seen.length >= 3, `only ${seen.length} focus rings seen`);
      // The dark dashboard has its own ring colour.
      const d = dash.page;
      await d.focus('[data-testid=wall-mode]');
      await d.keyboard.press('Shift+Tab');
      await d.keyboard.press('Tab');
      const f = await focusColours(d);
      need(f.style !== 'none' && f.width >= 2, `no focus ring on the dashboard (${f.style} ${f.width}px)`);
      const ratio = contrast(f.outline, f.bg);
      need(ratio >= 3, `dashboard focus ring ${ratio.toFixed(2)}:1 (${f.outline} on ${f.bg})`);
      return `${seen.join(', ')}; dashboard ${ratio.toFixed(2)}`;
    } finally {
      await ctx.close();
    }
  });

  // ---- Hotline ----
  await step('hotline-enter-never-files', operator.page, async () => {
    const p = operator.page;
    await p.setViewportSize({ width: 1366, height: 768 });
    await goto(p, 'hotline');
    let posted = 0;
    const count = (req) => {
      if (req.method() === 'POST' && req.url().endsWith('/api/v1/appeals')) posted += 1;
    };
    p.on('request', count);
    try {
      await p.fill('textarea[name=text]', `来电反映青山区阳光社区北门井盖松动，车辆经过响声很大。(${stamp}-enter)`);
      for (const name of ['caller_phone', 'caller_name', 'title', 'address']) {
        await p.fill(`input[name=${name}]`, name === 'caller_phone' ? '13900001111' : name === 'address' ? '阳光社区北门' : '测试');
        await p.press(`input[name=${name}]`, 'Enter');
      }
      await p.waitForTimeout(600);
      need(posted === 0, `Enter in a one-line field filed ${posted} appeal(s)`);
      need(!(await p.$('.hotline-form .status.ok .case-number')), 'a case number appeared');
      return 'Enter in phone, name, title and address: nothing filed';
    } finally {
      p.off('request', count);
    }
  });

  await step('hotline-unmatched-address-warns', operator.page, async () => {
    const p = operator.page;
    let posted = 0;
    const count = (req) => {
      if (req.method() === 'POST' && req.url().endsWith('/api/v1/appeals')) posted += 1;
    };
    p.on('request', count);
    try {
      await p.fill('input[name=address]', `幸福大道不存在路${stamp}号`);
      await p.focus('textarea[name=text]');
      await p.keyboard.press('Control+Enter');
      await p.waitForSelector('[data-testid=address-unmatched]:not([hidden])');
      const warning = (await p.textContent('[data-testid=address-unmatched]')).trim();
      need(CJK.test(warning) && warning.includes('未匹配'), `warning: ${warning}`);
      need(posted === 0, 'filed despite the unmatched address');
      // Confirmed by a second submit: filed at the chosen level, and the confirmation is on screen.
      await p.keyboard.press('Control+Enter');
      await p.waitForSelector('.hotline-form .status.ok .case-number');
      const box = await p.$eval('.hotline-form .status.ok', (el) => {
        const r = el.getBoundingClientRect();
        return { top: r.top, bottom: r.bottom, vh: window.innerHeight, vw: window.innerWidth };
      });
      need(box.top >= -1 && box.bottom <= box.vh + 1, `confirmation off-screen at ${box.vw}×${box.vh}: ${box.top}–${box.bottom}`);
      t.story.unmatchedNumber = (await p.textContent('.hotline-form .case-number')).trim();
      // The form is clean: counter, address, results, warning.
      const state = await p.evaluate(() => ({
        counter: document.querySelector('.hotline-form .counter')?.textContent,
        address: document.querySelector('input[name=address]').value,
        results: document.querySelectorAll('.address-search .results li').length,
        warning: document.querySelector('[data-testid=address-unmatched]').hidden,
      }));
      need(state.counter === '0/5000' && state.address === '' && state.results === 0 && state.warning, `form not reset: ${JSON.stringify(state)}`);
      return `warned "${warning.slice(0, 30)}…"; confirmed → ${t.story.unmatchedNumber}, confirmation at y ${Math.round(box.top)}–${Math.round(box.bottom)} of ${box.vh}; form reset`;
    } finally {
      p.off('request', count);
    }
  });

  await step('hotline-repeat-call-shows-possible-duplicate', operator.page, async () => {
    // The same problem called in again, area chosen by hand (no address picked): the earlier
    // case is offered as a possible duplicate.
    const p = operator.page;
    await goto(p, 'hotline');
    await p.fill('textarea[name=text]', `来电反映清河区新华街道幸福社区路灯不亮已经三天，晚上出行不安全，请尽快修复。(${stamp})`);
    await p.selectOption('select[name=category]', { label: '路灯故障' }).catch(async () => {
      const v = await p.$eval('select[name=category]', (sel) => [...sel.options].find((o) => o.textContent.trim() === '路灯故障')?.value);
      await p.selectOption('select[name=category]', v);
    });
    const district = await p.$eval('select[name=area]', (sel) => [...sel.options].find((o) => o.textContent.trim() === '清河区')?.value);
    await p.selectOption('select[name=area]', district);
    await p.waitForSelector(`.suggest:not([hidden]) .dups li:has-text("${t.story.hotlineNumber}")`, { timeout: 8000 });
    const line = (await p.textContent(`.suggest .dups li:has-text("${t.story.hotlineNumber}")`)).trim();
    await p.keyboard.press('Alt+N');
    return `possible duplicate: ${line}`;
  });

  await step('hotline-area-list-without-unit-grids', operator.page, async () => {
    const p = operator.page;
    const values = await p.$$eval('select[name=area] option', (os) => os.map((o) => o.value).filter(Boolean));
    const grids = new Set(areas.filter((a) => a.level === 'grid').map((a) => String(a.id)));
    const wanted = areas.filter((a) => ['district', 'street', 'community'].includes(a.level)).length;
    need(!values.some((v) => grids.has(v)), 'a unit grid is offered');
    need(values.length === wanted, `${values.length} options, expected ${wanted}`);
    return `${values.length} areas offered (${grids.size} grids left to the address search)`;
  });

  await step('hotline-shift-list-survives-reload', operator.page, async () => {
    const p = operator.page;
    await goto(p, 'hotline');
    await p.waitForSelector(`.recent li[data-number="${t.story.unmatchedNumber}"]`);
    return `${await p.$$eval('.recent li', (l) => l.length)} call(s) listed after reload`;
  });

  await step('hotline-callback-outcomes', operator.page, async () => {
    const p = operator.page;
    const item = await p.$('.callback');
    if (!item) {
      const closed = await api('GET', '/api/v1/cases?state=closed&limit=1', { token: tok.operator });
      need(closed.length === 0, 'closed cases exist but no call-back is listed');
      return 'no closed case waits for a call-back';
    }
    const number = await item.getAttribute('data-number');
    const li = `.callback[data-number="${number}"]`;
    const options = await p.$$eval(`${li} select[id^=cb-out] option`, (os) => os.map((o) => o.value));
    need(options[0] === '' && options.includes('not_reached'), `outcomes ${options.join(',')}`);
    need((await p.$eval(`${li} select[id^=cb-out]`, (s) => s.value)) === '', 'an outcome is preset');
    await p.waitForFunction((sel) => !/加载中/.test(document.querySelector(`${sel} .reply`)?.textContent ?? '加载中'), li);
    const reply = (await p.textContent(`${li} .reply`)).trim();
    need(reply.startsWith('请向来电人读出答复'), `reply: ${reply}`);
    await p.click(`${li} button:has-text("记录回访")`);
    await p.waitForSelector(`${li} .status.error`);
    await zhErrors(p, 'call-back');
    await p.selectOption(`${li} select[id^=cb-out]`, 'not_reached');
    await p.click(`${li} button:has-text("记录回访")`);
    await p.waitForSelector(`${li} .status.ok`);
    const attempts = (await p.textContent(`${li} .cb-attempts`)).trim();
    need(/未接通 1 次/.test(attempts), `attempts: ${attempts}`);
    const c = (await api('GET', '/api/v1/cases?state=closed&limit=100', { token: tok.operator })).find((x) => x.number === number);
    need(c && c.state === 'closed', 'not reached changed the case');
    return `${number}: reply "${reply.slice(0, 24)}…"; ${attempts}; still closed`;
  });

  // ---- Dispatch ----
  await step('dispatch-overdue-view-counts-open-cases', lead.page, async () => {
    const p = lead.page;
    await goto(p, 'dispatch?view=overdue');
    const shown = Number(((await p.textContent('.queue [role=status]')) ?? '').match(/\d+/)?.[0]);
    const states = await api('GET', '/api/v1/stats/states', { token: tok.shiftlead });
    const open = states.filter((s) => s.overdue && !['closed', 'evaluated', 'voided'].includes(s.state)).reduce((n, s) => n + s.count, 0);
    const all = (await api('GET', '/api/v1/cases?overdue=true&limit=200', { token: tok.shiftlead })).length;
    need(shown === open, `the 超期 view shows ${shown}, the dashboard counts ${open}`);
    const hint = (await p.textContent('[data-testid=view-hint]')).trim();
    return `${shown} overdue open (dashboard ${open}; ${all - open} closed cases that ran late left out); "${hint}"`;
  });

  await step('dispatch-default-view-explained', dispatcher.page, async () => {
    const p = dispatcher.page;
    await goto(p, 'dispatch');
    const view = await p.$eval('#dq-view', (s) => s.value);
    const hint = (await p.textContent('[data-testid=view-hint]')).trim();
    need(view === 'registered' && CJK.test(hint), `dispatcher starts on ${view}: ${hint}`);
    return `dispatcher starts on 待派遣: "${hint}"`;
  });

  await step('dispatch-stale-panel-refreshes-live', lead.page, async () => {
    const p = lead.page;
    const c = await newCase('registered');
    await goto(p, `dispatch?view=registered&case=${c.number}`);
    await p.waitForSelector(`#dd-h .num:text-is("${c.number}")`);
    need(await p.$('.detail button:has-text("确认派遣")'), 'no dispatch action on a registered case');
    // Supporting departments are a filterable checkbox list, not a Ctrl-click multi-select.
    const boxes = await p.$$eval('.detail fieldset.support input[type=checkbox]', (l) => l.length);
    const depts = (await api('GET', '/api/v1/departments', { token: tok.shiftlead })).length;
    need(boxes === depts, `${boxes} supporting checkboxes for ${depts} departments`);
    await act('dispatcher', c.id, { action: 'dispatch', lead_dept_id: handlerUser.dept_id });
    await p.waitForSelector('#dd-h[data-state=dispatched]', { timeout: TIMEOUT });
    const note = (await p.textContent('[data-testid=stale-note]')).trim();
    // The case has a point (阳光社区's centre): the panel shows it on a small map.
    if (community.center_lat !== null) {
      need((await caseById(c.id)).lat !== null, 'the case has no point');
      await p.waitForSelector('[data-testid=mini-map] canvas');
    }
    need(!(await p.$('.detail button:has-text("确认派遣")')), 'the panel still offers 确认派遣');
    return `${c.number}: panel → dispatched by itself; "${note}"`;
  });

  await step('dispatch-stale-action-explained-in-chinese', null, async () => {
    // Without the live feed (blocked here) the panel is stale when clicked: the server refuses,
    // the panel redraws and says why in Chinese.
    const me = await actor(browser, 'shiftlead', 'dispatch');
    try {
      const p = me.page;
      await p.route('**/api/v1/events', (r) => r.abort());
      const c = await newCase('registered');
      await p.evaluate(() => (document.documentElement.dataset.ready = '0'));
      await p.goto(`${BASE}/#/dispatch?view=registered&case=${c.number}`);
      await p.reload();
      await waitReady(p);
      await p.waitForSelector(`#dd-h .num:text-is("${c.number}")`);
      await act('dispatcher', c.id, { action: 'dispatch', lead_dept_id: handlerUser.dept_id });
      await p.click('.detail button:has-text("确认派遣")');
      await p.waitForSelector('.detail .status.error');
      const [msg] = await zhErrors(p, 'stale dispatch');
      await p.waitForSelector('#dd-h[data-state=dispatched]');
      need(!(await p.$('.detail button:has-text("确认派遣")')), 'still offered after the refusal');
      await shot(p, 'dispatch-stale-action');
      return `"${msg}"`;
    } finally {
      await me.context.close();
    }
  });

  await step('dispatch-instructions-and-deadline', lead.page, async () => {
    // The dispatcher writes instructions and a deadline within the category's time limit; a later
    // one or a shorter one without a reason is refused with the server's code, in Chinese.
    const p = lead.page;
    const c = await newCase('registered');
    await goto(p, `dispatch?view=registered&case=${c.number}`);
    await p.waitForSelector(`#dd-h .num:text-is("${c.number}")`);
    // The panel says when the case was received.
    const facts = await p.textContent('.detail dl.facts');
    need(/受理时间/.test(facts), 'no time received on the case panel');
    const max = Number(await p.getAttribute('[data-testid=dispatch-limit]', 'max'));
    need(Number.isInteger(max) && max >= 1 && max < 1000, `the deadline field allows up to ${max}`);
    await p.selectOption(`.detail select#dd-dept-${c.id}`, String(handlerUser.dept_id));
    const errors = [];
    const refused = async (amount) => {
      await p.fill('[data-testid=dispatch-limit]', String(amount));
      const prev = errors[errors.length - 1] ?? '';
      await p.click('.detail button:has-text("确认派遣")');
      await p.waitForFunction((x) => [...document.querySelectorAll('.detail .status.error')].some((e) => e.textContent.trim() !== '' && e.textContent.trim() !== x), prev);
      const [msg] = (await zhErrors(p, `deadline ${amount}`)).filter((x) => x !== prev);
      errors.push(msg);
      need((await caseById(c.id)).state === 'registered', `dispatched with a deadline of ${amount}`);
      return msg;
    };
    const late = await refused(max + 1);
    need(late === '处置时限不能超过该分类允许的时限。', `too late: ${late}`);
    if (max > 1) {
      need(await p.isVisible('[data-testid=dispatch-deadline-reason]'), 'no reason field for a shorter deadline');
      const short = await refused(max - 1);
      need(short === '处置时限短于分类时限，请说明理由。', `shorter without a reason: ${short}`);
    }
    // The server's codes behind those words.
    const code = await act('dispatcher', c.id, { action: 'dispatch', lead_dept_id: handlerUser.dept_id, limit_amount: max + 1 }).then(() => 'accepted', (e) => String(e.message));
    need(code.includes('deadline_beyond_limit'), `API: ${code}`);
    const chosen = max > 1 ? max - 1 : max;
    const instructions = `请先设置围挡，再清理占道物品，完成后拍照反馈（${stamp}）`;
    await p.fill('[data-testid=dispatch-limit]', String(chosen));
    if (chosen < max) await p.fill('[data-testid=dispatch-deadline-reason]', '明早有大型活动，须提前处置');
    await p.fill('[data-testid=dispatch-instructions]', instructions);
    await p.click('.detail button:has-text("确认派遣")');
    await p.waitForSelector('.detail .status.ok');
    // The confirmation is on screen, however far down the form was.
    const okBox = await p.$eval('.detail .status.ok', (el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]; });
    need(okBox[0] >= -1 && okBox[1] <= okBox[2] + 1, `dispatch confirmation off-screen: ${okBox.join(',')}`);
    const stored = await caseById(c.id);
    need(stored.state === 'dispatched' && stored.limit_amount === chosen && stored.dispatch_order?.instructions === instructions, `stored: ${JSON.stringify(stored.dispatch_order)}, limit ${stored.limit_amount}`);
    // On the panel and in the trail, with the deadline and its reason.
    need(((await p.textContent('.detail [data-testid=order-instructions]')) ?? '').includes(instructions), 'instructions not on the panel');
    await p.click('.detail summary:has-text("办理记录")');
    const trail = await p.textContent('.detail .trail li[data-action=dispatch]');
    need(trail.includes(instructions) && trail.includes(`时限 ${chosen}`), `trail: ${trail}`);
    // Every step by its name, never its code (receive, register, dispatch …).
    const steps = await p.$$eval('.detail .trail li', (l) => l.map((x) => x.textContent));
    need(steps.length >= 3 && steps.every((x) => CJK.test(x) && !/\b(receive|register|dispatch|attach)\b/.test(x)), `raw codes in the trail: ${steps.join(' | ')}`);
    // On the handling department's card.
    await goto(handler.page, 'workbench');
    const card = `article[data-number="${c.number}"]`;
    await handler.page.waitForSelector(`${card} [data-testid=order-instructions]`);
    const shown = (await handler.page.textContent(`${card} [data-testid=dispatch-order]`)).trim();
    need(shown.includes(instructions) && (chosen === max || shown.includes('明早有大型活动')), `card: ${shown}`);
    t.story.orderCase = c;
    return `refused "${errors.join('", "')}"; dispatched with ${chosen} of ${max} and instructions; on the card: "${shown.slice(0, 40)}…"`;
  });

  await step('workbench-card-map-and-contact', handler.page, async () => {
    const p = handler.page;
    const c = t.story.orderCase ?? (await newCase('dispatched'));
    const card = `article[data-number="${c.number}"]`;
    await goto(p, 'workbench');
    await p.waitForSelector(card);
    const facts = await p.textContent(`${card} dl.facts`);
    need(/受理时间/.test(facts) && /报告人/.test(facts), `card facts: ${facts.slice(0, 80)}`);
    const stored = await caseById(c.id);
    if (stored.lat === null) return 'the case has no point: no map link';
    await p.click(`${card} [data-testid=task-map-link]`);
    await p.waitForSelector(`${card} [data-testid=task-map] canvas`);
    const expanded = await p.getAttribute(`${card} [data-testid=task-map-link]`, 'aria-expanded');
    need(expanded === 'true', 'the map link does not say it is open');
    return `received time and reporter shown; the map opens on the card at ${stored.lat.toFixed(4)},${stored.lon.toFixed(4)}`;
  });

  await step('feedback-refused-while-extension-pending', handler.page, async () => {
    const p = handler.page;
    const c = await newCase('handling');
    t.story.extensionCase = c;
    await goto(p, 'workbench');
    const card = `article[data-number="${c.number}"]`;
    await p.waitForSelector(card);
    need((await p.$eval(`${card} details.feedback-details`, (d) => d.open)) === false, 'the feedback form is open by default');
    // The card is now stale: the extension was asked for elsewhere.
    await act('handler', c.id, { action: 'request_extension', amount: 3, reason: `等待配件到货 ${stamp}` });
    await p.click(`${card} details.feedback-details summary`);
    await p.fill(`${card} textarea[id^=fb-note]`, '已处理完毕。');
    await p.click(`${card} form.feedback-form button[type=submit]`);
    await p.waitForSelector(`${card} > .status.error`);
    const [msg] = await zhErrors(p, 'feedback');
    const after = await caseById(c.id);
    need(after.state === 'handling' && after.pending === 'extension', `state ${after.state}, pending ${after.pending}`);
    // Drawn again at once: the request shows with its amount; feedback waits for the decision.
    await p.waitForSelector(`${card} [data-testid=request-amount]`);
    const amount = (await p.textContent(`${card} [data-testid=request-amount]`)).trim();
    const countdown = (await p.textContent(`${card} .countdown`)).trim();
    const disabled = await p.$eval(`${card} form.feedback-form button[type=submit]`, (b) => b.disabled);
    need(/3/.test(amount) && /暂停/.test(countdown) && disabled, `amount "${amount}", countdown "${countdown}", submit disabled ${disabled}`);
    return `refused: "${msg}"; pending kept; card shows "${amount}", "${countdown}"`;
  });

  await step('approval-shows-reason-amount-and-names', lead.page, async () => {
    const p = lead.page;
    const c = t.story.extensionCase;
    await goto(p, `dispatch?view=pending&case=${c.number}`);
    await p.waitForSelector(`#dd-h .num:text-is("${c.number}")`);
    const amount = (await p.textContent('.detail [data-testid=request-amount]')).trim();
    const reason = (await p.textContent('.detail [data-testid=request-reason]')).trim();
    need(/3/.test(amount) && reason.includes(`等待配件到货 ${stamp}`), `amount "${amount}", reason "${reason}"`);
    await p.click('.detail summary:has-text("办理记录")');
    const step = await p.textContent('.detail .trail li[data-action=request_extension]');
    need(step.includes(handlerUser.display_name) && step.includes(`等待配件到货 ${stamp}`), `trail: ${step}`);
    await p.click('.detail button:has-text("批准")');
    await p.waitForSelector('.detail .status.ok');
    const after = await caseById(c.id);
    need(after.pending === null && after.limit_amount > 0, `after approval: pending ${after.pending}`);
    return `"${amount}" · "${reason}" · trail "${step.replace(/\s+/g, ' ').slice(0, 60)}…"; approved`;
  });

  await step('consoles-use-the-width-of-1920', lead.page, async () => {
    const out = [];
    for (const [who, route] of [[lead, 'dispatch?view=open'], [handler, 'workbench']]) {
      const p = who.page;
      await p.setViewportSize({ width: 1920, height: 1080 });
      await goto(p, route);
      const w = await p.$eval('main', (m) => m.getBoundingClientRect().width);
      need(w >= 1800, `${route}: main is ${w}px wide at 1920`);
      out.push(`${route.split('?')[0]} ${Math.round(w)}px`);
      await p.setViewportSize({ width: 1366, height: 900 });
    }
    return out.join(', ');
  });

  // ---- Supervisor: the confirmation shows where they are, however far down they work ----
  await step('supervisor-confirmation-where-they-are', supervisor.page, async () => {
    const p = supervisor.page;
    const c = await newCase('handling');
    await act('handler', c.id, { action: 'feedback', note: '已规劝相关人员，恢复正常。' });
    await p.setViewportSize({ width: 1366, height: 768 });
    await goto(p, 'workbench');
    const card = `article[data-number="${c.number}"]`;
    await p.waitForSelector(card);
    await p.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await p.locator(`${card} button:has-text("核查通过")`).scrollIntoViewIfNeeded();
    const y = await p.evaluate(() => window.scrollY);
    // The check records where it was made (the phone's position) in its note.
    const spot = [community].find((a) => a && a.center_lat !== null && a.center_lon !== null);
    if (spot) {
      await supervisor.context.grantPermissions(['geolocation'], { origin: BASE });
      await supervisor.context.setGeolocation({ latitude: spot.center_lat, longitude: spot.center_lon });
      await p.click(`${card} button:has-text("记录当前位置")`);
      await p.waitForFunction((sel) => (document.querySelector(`${sel} [data-testid=check-position]`)?.textContent ?? '').length > 0, card);
    }
    // A photo taken at the check goes up with it.
    await p.setInputFiles(`${card} fieldset input[type=file]`, { name: 'check.png', mimeType: 'image/png', buffer: t.PNG });
    await p.click(`${card} button:has-text("核查通过")`);
    await p.waitForSelector('#wb-status.ok');
    const box = await p.$eval('#wb-status', (el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]; });
    const photos = (await api('GET', `/api/v1/cases/${c.id}/attachments`, { token: tok.shiftlead })).items.filter((a) => a.kind === 'check');
    need(photos.length === 1, `${photos.length} check photos stored`);
    need(box[0] >= 0 && box[1] <= box[2], `confirmation at ${box[0]}–${box[1]} of ${box[2]}`);
    need((await caseById(c.id)).state === 'checked', 'not checked');
    const trail = await api('GET', `/api/v1/cases/${c.id}/trail`, { token: tok.shiftlead });
    const checkNote = trail.filter((x) => x.action === 'check_pass').pop()?.detail?.text ?? '';
    if (spot) need(checkNote.includes(`核查位置 ${spot.center_lat.toFixed(5)}`), `check note: ${checkNote}`);
    await p.setViewportSize({ width: 1366, height: 900 });
    return `scrolled to ${Math.round(y)}px; "${(await p.textContent('#wb-status')).trim()}" shown at y ${Math.round(box[0])}–${Math.round(box[1])}; check note "${checkNote}"; 1 check photo`;
  });

  // ---- Supervisor: 采集上报 from the phone, with its position ----
  await step('supervisor-patrol-report-from-phone', supervisor.page, async () => {
    const p = supervisor.page;
    const sup = users.find((u) => u.username === 'supervisor');
    const home = areas.find((a) => a.id === sup.area_id);
    const spot = [community, home].find((a) => a && a.center_lat !== null && a.center_lon !== null);
    await p.setViewportSize({ width: 390, height: 844 });
    if (spot) {
      await supervisor.context.grantPermissions(['geolocation'], { origin: BASE });
      await supervisor.context.setGeolocation({ latitude: spot.center_lat, longitude: spot.center_lon });
    }
    await goto(p, 'workbench');
    await p.fill('textarea[name=patrol_text]', `巡查发现阳光社区东侧绿化带内堆放建筑垃圾约两方，未覆盖。(${stamp})`);
    if (spot) {
      await p.click('.patrol-form button:has-text("使用当前位置")');
      await p.waitForFunction(() => (document.querySelector('[data-testid=patrol-located]')?.textContent ?? '').length > 0);
    } else {
      await p.selectOption('select[name=patrol_area]', { index: 1 });
    }
    await p.setInputFiles('.patrol-form input[type=file]', { name: 'spot.png', mimeType: 'image/png', buffer: t.PNG });
    await p.click('.patrol-form button[type=submit]');
    await p.waitForSelector('.patrol-form .status.ok .case-number');
    const number = (await p.textContent('.patrol-form .case-number')).trim();
    const box = await p.$eval('.patrol-form .status.ok', (el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]; });
    need(box[0] >= -1 && box[1] <= box[2] + 1, `confirmation off-screen on the phone: ${box.join(',')}`);
    const c = (await api('GET', '/api/v1/cases?limit=20', { token: tok.admin })).find((x) => x.number === number);
    need(c && c.channel === 'grid', `case ${number}: ${c ? c.channel : 'not found'}`);
    if (spot) need(Math.abs(c.lat - spot.center_lat) < 1e-4 && Math.abs(c.lon - spot.center_lon) < 1e-4, `stored at ${c.lat},${c.lon}`);
    const photos = await api('GET', `/api/v1/cases/${c.id}/attachments`, { token: tok.admin }).catch(() => ({ items: [] }));
    need(photos.items.length === 1, `${photos.items.length} photo(s) stored`);
    const counter = await p.textContent('.patrol-form .counter');
    need(counter === '0/5000', `counter after submit: ${counter}`);
    await p.setViewportSize({ width: 1366, height: 900 });
    return `${number} on the grid channel${spot ? ` at ${c.lat.toFixed(4)},${c.lon.toFixed(4)} (phone position)` : ' (area chosen)'}, 1 photo; form reset`;
  });

  await laterChecks(t, { tok, cats, areas, zhErrors });
  await lastChecks(t, { newCase });
}
