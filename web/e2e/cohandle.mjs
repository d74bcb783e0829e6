// Co-handling (issue 20) walked in the browser: a case dispatched with a supporting department
// (协办) from the dispatch console, the supporting department's sub-task accepted and fed back on
// its workbench, the lead's feedback refused until then and sent from its workbench, the check,
// the closure; then the arbiter's queue and the public responsibility list (no login).
//
// Called by run.mjs with its helpers; each check is one step with one line of output.

import fs from 'node:fs';
import { createRequire } from 'node:module';

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core on the page as it is; fails on serious or critical findings. */
async function axe(page, need) {
  await page.evaluate(`${AXE}\n;undefined`);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  need(bad.length === 0, `${bad.length} serious/critical violation(s): ${bad.map((v) => v.id).join(', ')}`);
  return res.length;
}

export async function cohandleWalk(t) {
  const { browser, PASSWORD, step, need, actor, api, goto, TIMEOUT, stamp } = t;
  const login = async (u) => (await api('POST', '/api/v1/auth/login', { body: { username: u, password: PASSWORD } })).token;
  const tok = {};
  for (const u of ['operator', 'shiftlead', 'handler', 'handler-city', 'admin']) tok[u] = await login(u);
  const [meLead, meCity, areas, cats] = await Promise.all([
    api('GET', '/api/v1/me', { token: tok.handler }),
    api('GET', '/api/v1/me', { token: tok['handler-city'] }),
    api('GET', '/api/v1/areas', { token: tok.admin }),
    api('GET', '/api/v1/categories', { token: tok.admin }),
  ]);
  const byId = new Map(areas.map((a) => [a.id, a]));
  const inside = (a, root) => {
    for (let x = a; x; x = byId.get(x.parent_id)) if (x.id === root) return true;
    return false;
  };
  const grid = areas.find((a) => a.level === 'grid' && inside(a, meLead.area_id));
  need(grid, 'no unit grid in the lead handler’s district');
  const category = cats.find((c) => c.level >= 2) ?? cats[0];
  const filed = await api('POST', '/api/v1/appeals', {
    token: tok.operator,
    body: { text: `地下通道积水没过脚踝，行人无法通行，需要排水和交通疏导（${stamp}）`, area_id: grid.id, category_id: category.id, reporter_name: '周女士', reporter_phone: '13900001234' },
  });
  const caseId = filed.case_id;
  await api('POST', `/api/v1/cases/${caseId}/actions`, { token: tok.shiftlead, body: { action: 'register' } });
  const number = (await api('GET', `/api/v1/cases/${caseId}`, { token: tok.admin })).number;
  const state = async () => (await api('GET', `/api/v1/cases/${caseId}`, { token: tok.admin })).state;

  const dispatcher = await actor(browser, 'dispatcher', 'dispatch');
  await step('cohandle-dispatch-with-supporting', dispatcher.page, async () => {
    const p = dispatcher.page;
    await goto(p, `dispatch?view=registered&case=${number}`);
    await p.waitForSelector(`#dd-h .num:text-is("${number}")`, { timeout: TIMEOUT });
    await p.selectOption('select[id^=dd-dept]', String(meLead.dept_id));
    await p.check(`.dispatch-box .support input[type=checkbox][value="${meCity.dept_id}"]`);
    await p.click('.detail button:has-text("确认派遣")');
    await p.waitForSelector('.detail .status.ok');
    const tasks = await api('GET', `/api/v1/cases/${caseId}/subtasks`, { token: tok.admin });
    need(tasks.length === 1 && tasks[0].dept_id === meCity.dept_id, `sub-tasks ${JSON.stringify(tasks)}`);
    return `lead ${meLead.dept_id}, supporting ${meCity.dept_id}: one sub-task`;
  });

  const lead = await actor(browser, 'handler', 'workbench');
  const card = `article[data-number="${number}"]:not([data-subtask])`;
  await step('cohandle-lead-waits-for-supporting', lead.page, async () => {
    const p = lead.page;
    await p.waitForSelector(card);
    await p.click(`${card} button:has-text("签收")`);
    await p.waitForSelector(`${card} [data-testid=case-subtasks] li`);
    // The sub-task list shows before the accept too: wait until the accept is stored.
    for (let i = 0; i < 50 && (await state()) !== 'handling'; i++) await p.waitForTimeout(100);
    need((await state()) === 'handling', `state is ${await state()} after 签收`);
    const res = await fetch(`${t.BASE}/api/v1/cases/${caseId}/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tok.handler}` },
      body: JSON.stringify({ action: 'feedback', note: '已抽排' }),
    });
    const body = await res.json();
    need(res.status === 409 && body.code === 'subtasks_pending', `feedback answered ${res.status} ${body.code}`);
    return 'feedback refused: subtasks_pending';
  });

  const support = await actor(browser, 'handler-city', 'workbench');
  await step('cohandle-supporting-feeds-back', support.page, async () => {
    const p = support.page;
    const sub = `article[data-subtask][data-number="${number}"]`;
    await p.waitForSelector(sub);
    await p.click(`${sub} button:has-text("签收协办")`);
    await p.waitForSelector(`${sub} form.subtask-feedback`);
    await p.fill(`${sub} textarea[id^=sub-note]`, '已疏通雨水篦子，排水恢复。');
    await p.click(`${sub} form.subtask-feedback button[type=submit]`);
    await p.waitForFunction((sel) => !document.querySelector(sel), sub, { timeout: TIMEOUT });
    const tasks = await api('GET', `/api/v1/cases/${caseId}/subtasks`, { token: tok.admin });
    need(tasks[0].state === 'done', `sub-task is ${tasks[0].state}`);
    return 'sub-task dispatched → handling → done';
  });

  await step('cohandle-lead-feeds-back', lead.page, async () => {
    const p = lead.page;
    await goto(p, 'workbench');
    await p.waitForSelector(`${card} details.feedback-details`);
    await p.click(`${card} details.feedback-details summary`);
    await p.fill(`${card} textarea[id^=fb-note]`, '积水已排除，已设置警示标志。');
    await p.click(`${card} form.feedback-form button[type=submit]`);
    for (let i = 0; i < 50 && (await state()) !== 'feedback'; i++) await p.waitForTimeout(200);
    need((await state()) === 'feedback', `state is ${await state()}`);
    return 'handling → feedback';
  });

  const supervisor = await actor(browser, 'supervisor', 'workbench');
  await step('cohandle-check-and-close', supervisor.page, async () => {
    const p = supervisor.page;
    await p.waitForSelector(card);
    await p.fill(`${card} textarea[id^=chk-note]`, '现场核查，通道已通行。');
    await p.click(`${card} button:has-text("核查通过")`);
    await p.waitForFunction((sel) => !document.querySelector(sel), card);
    need((await state()) === 'checked', `state is ${await state()}`);
    await api('POST', `/api/v1/cases/${caseId}/actions`, { token: tok.shiftlead, body: { action: 'close' } });
    need((await state()) === 'closed', `state is ${await state()}`);
    const trail = await api('GET', `/api/v1/cases/${caseId}/trail`, { token: tok.admin });
    need(trail.some((r) => r.action === 'subtask_feedback'), 'the trail lacks the sub-task feedback');
    return 'feedback → checked → closed';
  });

  // An outside partner (物业) claims a case offered to the pool of its district.
  const pooledId = (
    await api('POST', '/api/v1/appeals', {
      token: tok.operator,
      body: { text: `小区内路灯连续三晚不亮，楼道口一片漆黑（${stamp}）`, area_id: grid.id, category_id: category.id, reporter_name: '吴先生', reporter_phone: '13900004321' },
    })
  ).case_id;
  await api('POST', `/api/v1/cases/${pooledId}/actions`, { token: tok.shiftlead, body: { action: 'register' } });
  const pooledNumber = (await api('GET', `/api/v1/cases/${pooledId}`, { token: tok.admin })).number;
  await step('cohandle-dispatcher-offers-to-pool', dispatcher.page, async () => {
    const p = dispatcher.page;
    await goto(p, `dispatch?view=registered&case=${pooledNumber}`);
    await p.waitForSelector(`#dd-h .num:text-is("${pooledNumber}")`, { timeout: TIMEOUT });
    await p.click('.detail [data-testid=offer-pool]');
    await p.waitForSelector('.detail .status.ok');
    const pool = await api('GET', '/api/v1/pool', { token: tok.shiftlead });
    need(pool.some((c) => c.id === pooledId), 'the case is not in the pool');
    return 'registered case offered to the partners’ pool';
  });
  const partner = await actor(browser, 'partner', 'workbench');
  await step('cohandle-partner-claims-from-pool', partner.page, async () => {
    const p = partner.page;
    const pooled = `article[data-pool="${pooledId}"]`;
    await p.waitForSelector(pooled);
    await p.click(`${pooled} button:has-text("认领")`);
    await p.waitForFunction((sel) => !document.querySelector(sel), pooled, { timeout: TIMEOUT });
    const c = await api('GET', `/api/v1/cases/${pooledId}`, { token: tok.admin });
    need(c.state === 'dispatched', `state is ${c.state}`);
    await goto(p, 'workbench');
    const mine = `article[data-number="${c.number}"]:not([data-subtask])`;
    await p.waitForSelector(mine);
    await p.click(`${mine} button:has-text("签收")`);
    await p.waitForSelector(`${mine} details.feedback-details`);
    const axeFindings = await axe(p, need);
    return `claimed and accepted by the partner (lead ${c.lead_dept_id}); axe minor/moderate ${axeFindings}`;
  });
  await partner.page.context().close();

  // A department disputes a case on its workbench; the arbiter rules on the queue page.
  const disputedId = (
    await api('POST', '/api/v1/appeals', {
      token: tok.operator,
      body: { text: `桥下排水泵站异响，担心汛期失灵（${stamp}）`, area_id: grid.id, category_id: category.id, reporter_name: '郑先生', reporter_phone: '13900005678' },
    })
  ).case_id;
  await api('POST', `/api/v1/cases/${disputedId}/actions`, { token: tok.shiftlead, body: { action: 'register' } });
  await api('POST', `/api/v1/cases/${disputedId}/actions`, { token: tok.shiftlead, body: { action: 'dispatch', lead_dept_id: meLead.dept_id } });
  const disputedNumber = (await api('GET', `/api/v1/cases/${disputedId}`, { token: tok.admin })).number;
  const poll = async (fn) => {
    for (let i = 0; i < 50; i++) {
      const v = await fn();
      if (v) return v;
      await new Promise((r) => setTimeout(r, 200));
    }
    return null;
  };
  let disputeId = null;
  await step('cohandle-department-opens-dispute', lead.page, async () => {
    const p = lead.page;
    await goto(p, 'workbench');
    const c = `article[data-number="${disputedNumber}"]:not([data-subtask])`;
    await p.waitForSelector(c);
    await p.click(`${c} details.dispute-details summary`);
    await p.waitForSelector(`${c} select[id^=dsp-rule] option`, { state: 'attached' });
    await p.fill(`${c} textarea[id^=dsp-reason]`, '泵站属市政设施管理处维护，清单条目的主办部门有误。');
    await p.click(`${c} details.dispute-details button:has-text("提交争议")`);
    const d = await poll(async () => (await api('GET', '/api/v1/disputes?state=open', { token: tok.shiftlead })).find((x) => x.case_id === disputedId));
    need(d, 'no open dispute');
    disputeId = d.id;
    return `dispute #${d.id} relying on rule #${d.rule_id}, rule by ${d.due_at}`;
  });
  const arbiterPage = await actor(browser, 'shiftlead', 'arbiter');
  await step('cohandle-arbiter-rules', arbiterPage.page, async () => {
    const p = arbiterPage.page;
    const card = `article[data-dispute="${disputeId}"]`;
    await p.waitForSelector(card);
    await p.selectOption(`#rul-lead-${disputeId}`, String(meCity.dept_id));
    await p.fill(`#rul-note-${disputeId}`, '泵站由市政设施管理处主办。');
    await p.click(`${card} button:has-text("裁定")`);
    // The card leaves the queue once the ruling is stored; a refusal shows in the card instead.
    await p.waitForFunction((sel) => !document.querySelector(sel) || document.querySelector(`${sel} .status.error`), card, { timeout: TIMEOUT });
    const refused = await p.$eval(card, (el) => el.querySelector('.status.error')?.textContent ?? '').catch(() => '');
    need(!refused, `ruling refused: ${refused}`);
    const c = await api('GET', `/api/v1/cases/${disputedId}`, { token: tok.admin });
    need(c.lead_dept_id === meCity.dept_id, `lead is ${c.lead_dept_id}`);
    const draft = await api('GET', '/api/v1/responsibility/draft', { token: tok.admin });
    need(draft.rules.some((r) => r.legal_basis.includes(`争议裁定 #${disputeId}`)), 'the draft lacks the amendment');
    await p.waitForSelector('#arb-d ~ div table, #arb-d + div table');
    return `re-dispatched to ${c.lead_dept_id}; amendment in draft version #${draft.version_id}`;
  });
  await arbiterPage.page.context().close();

  await step('cohandle-arbiter-and-public-list', null, async () => {
    const arbiter = await actor(browser, 'shiftlead', 'arbiter');
    await arbiter.page.waitForSelector('#arb-q');
    const findings = [await axe(arbiter.page, need)];
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' });
    const p = await ctx.newPage();
    await p.goto(`${t.BASE}/#/responsibility`);
    await p.waitForFunction(() => document.documentElement.dataset.ready === '1', null, { timeout: TIMEOUT });
    const rows = await p.locator('[data-testid=public-list] tbody tr').count();
    need(rows > 0, 'the public list shows no rows');
    findings.push(await axe(p, need));
    await goto(support.page, 'workbench');
    findings.push(await axe(support.page, need));
    await ctx.close();
    await arbiter.page.context().close();
    return `arbiter queue shown; public list ${rows} rows without login; axe minor/moderate ${findings.join('/')}`;
  });
  for (const a of [dispatcher, lead, support, supervisor]) await a.page.context().close();
}
