// Hotline console (12345 operator): keyboard-fast entry of a phone appeal with live category,
// duplicate and address suggestions; after submit, the case number and a clean form.

import { errorText } from '../errors';
import { LIMITS, me, post, type Area } from '../api';
import { field, h, replace, showError, showOk, statusBox } from '../dom';
import { callbackList } from './callbacks';
import { flaggedList } from './flagged';
import { APPEAL_TYPE_CODES, L, appealTypeName, lang } from '../i18n';
import type { Ctx } from '../page';
import { byId, loadAreas, loadCategories } from '../ref';
import { addressSearch, categorySearch, categorySelect, contentKeys, counted, selectByCode, suggestPanel } from '../widgets';

/** The appeal type a call gets unless the operator picks another. */
const DEFAULT_APPEAL_TYPE = 'help';

export async function hotlinePage(ctx: Ctx): Promise<void> {
  const [cats, areas] = await Promise.all([loadCategories(), loadAreas().catch(() => [] as Area[])]);
  const catMap = byId(cats);
  const areaMap = byId(areas);

  const phone = h('input', { name: 'caller_phone', type: 'tel', autocomplete: 'off', inputmode: 'tel' });
  const name = h('input', { name: 'caller_name', autocomplete: 'off' });
  const text = h('textarea', { name: 'text', rows: '6', required: true });
  const title = h('input', { name: 'title', autocomplete: 'off' });
  const category = categorySelect(cats, L('（自动分类）', '(classify automatically)'));
  category.name = 'category';
  // Typing part of a name narrows the 600-odd categories (one match is chosen at once).
  const catFind = categorySearch(category);
  catFind.name = 'category_search';
  catFind.id = 'hl-cat-q';
  const areaSel = h('select', { name: 'area' }, h('option', { value: '' }, L('（按地址定位）', '(locate from the address)')));
  // Districts, streets and communities: the 2,000-odd unit grids are found from the address.
  for (const a of areas.filter((a) => a.level === 'district' || a.level === 'street' || a.level === 'community')) {
    const depth = ['district', 'street', 'community', 'grid'].indexOf(a.level);
    areaSel.append(h('option', { value: String(a.id) }, `${'\u3000'.repeat(Math.max(depth, 0))}${a.name}`));
  }
  const urgent = h('input', { type: 'checkbox', name: 'urgent', id: 'hl-urgent' });
  // 投诉 / 求助 / 咨询 / 建议 / 举报: one radio group (Tab enters it, arrow keys choose, Alt+T jumps
  // to it). 求助 is the default: most calls ask for a problem to be fixed; 咨询 answered from the
  // knowledge base goes through the one-stop answers console instead.
  const typeRadios = APPEAL_TYPE_CODES.map((code) => {
    const radio = h('input', { type: 'radio', name: 'appeal_type', value: code, id: `hl-type-${code}` });
    radio.defaultChecked = code === DEFAULT_APPEAL_TYPE;
    radio.checked = radio.defaultChecked;
    return radio;
  });
  const appealType = () => typeRadios.find((r) => r.checked)?.value ?? DEFAULT_APPEAL_TYPE;
  const typeGroup = h(
    'fieldset',
    { class: 'appeal-types', id: 'hl-types' },
    h('legend', null, L('诉求类型 (Alt+T)', 'Appeal type (Alt+T)')),
    typeRadios.map((r) => h('span', { class: 'radio' }, r, h('label', { for: r.id }, appealTypeName(r.value)))),
  );
  let lat: number | null = null;
  let lon: number | null = null;
  const located = h('p', { class: 'located', 'aria-live': 'polite' });
  const addrWarn = h('p', { class: 'status warn', role: 'alert', hidden: true, 'data-testid': 'address-unmatched' });
  let unmatchedConfirmed = false;
  const addr = addressSearch((r) => {
    lat = r.lat;
    lon = r.lon;
    addrWarn.hidden = true;
    unmatchedConfirmed = false;
    replace(located, L('已定位：', 'Located: '), `${r.name} · ${r.area_name}`);
    // The address may lie in a unit grid, which the list does not offer: take its community.
    for (let a = areas.find((x) => x.code === r.area_code); a; a = a.parent_id !== null ? areaMap.get(a.parent_id) : undefined) {
      if ([...areaSel.options].some((o) => o.value === String(a!.id))) {
        areaSel.value = String(a.id);
        break;
      }
    }
    suggest.trigger();
  });
  addr.input.name = 'address';
  // Typing again forgets an earlier match: the text no longer names the point.
  addr.input.addEventListener('input', () => {
    if (lat !== null) {
      lat = lon = null;
      replace(located);
    }
    addrWarn.hidden = true;
    unmatchedConfirmed = false;
    suggest.trigger();
  });
  const suggest = suggestPanel({
    getInput: () => ({
      text: text.value,
      title: title.value,
      lat,
      lon,
      area_code: areaSel.value ? areaMap.get(Number(areaSel.value))?.code : undefined,
      category_code: category.selectedOptions[0]?.dataset.code,
      address: addr.input.value.trim() || undefined,
    }),
    onPickCategory: (code) => selectByCode(category, code),
    showDuplicates: true,
  });
  text.addEventListener('input', () => suggest.trigger());
  areaSel.addEventListener('change', () => suggest.trigger());
  category.addEventListener('change', () => suggest.trigger());
  const status = statusBox();
  status.classList.add('big-status');
  const submit = h('button', { type: 'submit', class: 'primary', 'aria-keyshortcuts': 'Control+Enter' }, L('提交 (Ctrl+Enter)', 'Submit (Ctrl+Enter)'));
  const clearBtn = h('button', { type: 'button', 'aria-keyshortcuts': 'Alt+N' }, L('新来电 (Alt+N)', 'New call (Alt+N)'));
  const recent = h('ol', { class: 'recent', 'aria-live': 'polite' });
  // This shift's calls survive a reload (per browser tab and user).
  const recentKey = `urbis.recent.${me()?.username ?? ''}`;
  const remember = (number: string, label: string, at: string) => recent.prepend(h('li', { 'data-number': number }, h('span', { class: 'num' }, number), ` · ${label} · ${new Date(at).toLocaleTimeString(lang())}`));
  const stored = (): { number: string; label: string; at: string }[] => {
    try {
      const v = JSON.parse(sessionStorage.getItem(recentKey) ?? '[]') as unknown;
      return Array.isArray(v) ? (v as { number: string; label: string; at: string }[]) : [];
    } catch {
      return [];
    }
  };
  for (const r of stored().slice().reverse()) remember(r.number, r.label, r.at);

  const form = h(
    'form',
    { class: 'card hotline-form', 'aria-labelledby': 'hl-h', novalidate: true },
    h('h2', { id: 'hl-h' }, L('来电登记', 'Record a call')),
    status,
    h('div', { class: 'row2' }, field(L('来电号码', 'Caller phone'), phone), field(L('来电人姓名', 'Caller name'), name)),
    field(L('诉求内容（必填）', 'What the caller says (required)'), text),
    counted(text, LIMITS.text),
    field(L('标题', 'Title'), title),
    typeGroup,
    h('div', { class: 'row3' }, field(L('查找分类 (Alt+C)', 'Find a category (Alt+C)'), catFind), field(L('分类', 'Category'), category), field(L('区域', 'Area'), areaSel)),
    addr.el,
    located,
    addrWarn,
    h('div', { class: 'field check' }, urgent, h('label', { for: urgent.id }, L('紧急', 'Urgent'))),
    h('div', { class: 'actions' }, submit, clearBtn),
  );
  // Enter in a one-line field never files the call (an address may not be picked yet): only
  // Ctrl+Enter or the button does.
  form.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    if (ev.key === 'Enter' && !ev.ctrlKey && !ev.metaKey && t instanceof HTMLInputElement) ev.preventDefault();
  });
  counted(title, LIMITS.title);
  phone.maxLength = LIMITS.phone;
  name.maxLength = LIMITS.name;
  catFind.setAttribute('aria-keyshortcuts', 'Alt+C');
  addr.input.setAttribute('aria-keyshortcuts', 'Alt+A');

  const keys = contentKeys();
  const clearForm = () => {
    form.reset();
    // The emptied search shows every category again.
    catFind.dispatchEvent(new Event('input'));
    suggest.reset();
    addr.reset();
    lat = lon = null;
    replace(located);
    addrWarn.hidden = true;
    unmatchedConfirmed = false;
    keys.renew();
    phone.focus();
  };
  clearBtn.addEventListener('click', () => {
    clearForm();
    replace(status);
    status.className = 'status big-status';
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) {
      showError(status, L('请填写诉求内容。', 'Enter what the caller says.'));
      text.focus();
      return;
    }
    if (addr.input.value.trim() && lat === null && !unmatchedConfirmed) {
      unmatchedConfirmed = true;
      addrWarn.hidden = false;
      replace(
        addrWarn,
        areaSel.value
          ? L(`地址“${addr.input.value.trim()}”未匹配到标准地址，案件将只定位到所选区域。请从候选中选择地址，或再次提交确认。`, `The address "${addr.input.value.trim()}" matched no known place; the case will be located only at the chosen area. Pick a match, or submit again to confirm.`)
          : L(`地址“${addr.input.value.trim()}”未匹配到标准地址，也未选择区域，案件将只定位到全市。请从候选中选择地址或选择区域，或再次提交确认。`, `The address "${addr.input.value.trim()}" matched no known place and no area is chosen; the case will be located only at city level. Pick a match or an area, or submit again to confirm.`),
      );
      addr.input.focus();
      return;
    }
    const body: Record<string, unknown> = { channel: 'hotline', text: text.value.trim(), appeal_type: appealType() };
    if (title.value.trim()) body.title = title.value.trim();
    if (phone.value.trim()) body.reporter_phone = phone.value.trim();
    if (name.value.trim()) body.reporter_name = name.value.trim();
    if (category.value) body.category_id = Number(category.value);
    if (areaSel.value) body.area_id = Number(areaSel.value);
    if (addr.input.value.trim()) body.address = addr.input.value.trim();
    if (lat !== null && lon !== null) {
      body.lat = Number(lat.toFixed(6));
      body.lon = Number(lon.toFixed(6));
    }
    if (urgent.checked) body.urgent = true;
    submit.disabled = true;
    try {
      const res = await post<{ case_id: number; number: string; merged: boolean }>('/api/v1/appeals', body, { headers: { 'Idempotency-Key': keys.key(body) } });
      showOk(
        status,
        L(`已受理（${appealTypeName(body.appeal_type as string)}），编号 `, `Recorded (${appealTypeName(body.appeal_type as string)}) as `),
        h('output', { class: 'case-number', 'data-testid': 'case-number' }, res.number),
        res.merged ? L('（并入已有案件，报告人数增加）', ' (joined to an open case; reporter count grew)') : '',
        L('。请告知来电人。', '. Tell the caller.'),
      );
      const entry = { number: res.number, label: `${appealTypeName(body.appeal_type as string)} · ${(body.title as string) ?? text.value.trim().slice(0, 30)}`, at: new Date().toISOString() };
      remember(entry.number, entry.label, entry.at);
      while (recent.children.length > 10) recent.lastElementChild?.remove();
      sessionStorage.setItem(recentKey, JSON.stringify([entry, ...stored().filter((r) => r.number !== entry.number)].slice(0, 10)));
      clearForm();
    } catch (e) {
      showError(status, e);
    } finally {
      submit.disabled = false;
    }
  });
  const onKey = (ev: KeyboardEvent) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'Enter') {
      ev.preventDefault();
      form.requestSubmit();
    } else if (ev.altKey && (ev.key === 'n' || ev.key === 'N')) {
      ev.preventDefault();
      clearBtn.click();
    } else if (ev.altKey && (ev.key === 'c' || ev.key === 'C')) {
      ev.preventDefault();
      catFind.focus();
    } else if (ev.altKey && (ev.key === 't' || ev.key === 'T')) {
      ev.preventDefault();
      (typeRadios.find((r) => r.checked) ?? typeRadios[0]).focus();
    } else if (ev.altKey && (ev.key === 'a' || ev.key === 'A')) {
      ev.preventDefault();
      addr.input.focus();
    }
  };
  document.addEventListener('keydown', onKey);
  ctx.dispose(() => document.removeEventListener('keydown', onKey));

  const shortcuts = h(
    'section',
    { class: 'card', 'aria-labelledby': 'sc-h' },
    h('h2', { id: 'sc-h' }, L('快捷键', 'Shortcuts')),
    h(
      'dl',
      { class: 'shortcuts' },
      h('dt', null, h('kbd', null, 'Ctrl'), '+', h('kbd', null, 'Enter')),
      h('dd', null, L('提交', 'Submit')),
      h('dt', null, h('kbd', null, 'Alt'), '+', h('kbd', null, 'N')),
      h('dd', null, L('清空，接下一个来电', 'Clear for the next call')),
      h('dt', null, h('kbd', null, 'Alt'), '+', h('kbd', null, 'C')),
      h('dd', null, L('跳到查找分类', 'Go to the category search')),
      h('dt', null, h('kbd', null, 'Alt'), '+', h('kbd', null, 'A')),
      h('dd', null, L('跳到地址', 'Go to address')),
      h('dt', null, h('kbd', null, 'Alt'), '+', h('kbd', null, 'T')),
      h('dd', null, L('跳到诉求类型（方向键选择）', 'Go to the appeal type (arrow keys choose)')),
      h('dt', null, h('kbd', null, 'Tab')),
      h('dd', null, L('号码 → 姓名 → 内容 → 标题 → 类型 → 查找分类 → 分类 → 区域 → 地址', 'phone → name → text → title → type → category search → category → area → address')),
    ),
  );

  // Call-backs (回访): closed cases waiting for the resident's verdict, recorded by the operator.
  const callbacks = callbackList(catMap, areaMap, ctx.signal);
  // Closed cases the reporter says are not fixed (the follow-up), for the shift lead.
  const flagged = flaggedList(ctx.signal);

  ctx.main.append(
    h('h1', null, L('12345 热线受理台', '12345 hotline console')),
    h(
      'div',
      { class: 'split' },
      form,
      h(
        'div',
        { class: 'side' },
        h('section', { class: 'card', 'aria-labelledby': 'sg-h' }, h('h2', { id: 'sg-h' }, L('智能提示', 'Suggestions')), suggest.el, h('p', { class: 'muted' }, L('输入内容后显示分类、重复诉求和地址建议。', 'Category, duplicate and address suggestions appear as you type.'))),
        h('section', { class: 'card', 'aria-labelledby': 'rc-h' }, h('h2', { id: 'rc-h' }, L('本班已登记', 'Recorded this shift')), recent),
        shortcuts,
      ),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'cb-h' }, h('h2', { id: 'cb-h' }, L('待回访', 'Call-backs due')), callbacks.el),
    flagged.el,
  );
  await flagged.load().catch((e) => replace(flagged.el, h('p', { class: 'status error', role: 'alert' }, errorText(e))));
  await callbacks.load().catch((e) => replace(callbacks.el, h('p', { class: 'status error', role: 'alert' }, errorText(e))));
  phone.focus();
}
