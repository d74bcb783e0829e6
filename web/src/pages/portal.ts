// Citizen portal (mobile-first): report a problem, follow a case by its number without logging
// in, read the official reply and rate it.

import { errorText } from '../errors';
import { ApiError, LIMITS, act, attachmentUrl, get, me, optional, post, qs, uploadPhotos, type Attachment, type Case } from '../api';
import { field, fmtTime, h, replace, showError, showInfo, showOk, statusBox } from '../dom';
import { L, lang, satisfactionName, stateName } from '../i18n';
import type { Ctx } from '../page';
import { areaPath, areasFromGeo, byId, categoryPath, loadAreas, loadCategories } from '../ref';
import { describePlace, nearbyPanel, useLocationButton } from './nearby';
import { addressSearch, categorySelect, contentKeys, counted, mapPicker, officialReply, photoPicker, progress, selectByCode, stateBadge, suggestPanel } from '../widgets';

interface PublicCase {
  number: string;
  title: string;
  category_name: string | null;
  state: string;
  status: string;
  created_at: string;
  updated_at: string;
  reply: string | null;
  rating: string | { satisfaction?: string } | null;
}

const PORTAL_LEVELS = ['district', 'street', 'community'];

export async function portalPage(ctx: Ctx): Promise<void> {
  const user = me();
  const resident = user?.role === 'resident';
  // Area names for the area list (the map's keyboard alternative): staff and residents read
  // the area register; anonymous visitors get them from the public boundaries.
  const [cats, areas] = await Promise.all([
    loadCategories().catch(() => []),
    user ? loadAreas().catch(() => areasFromGeo(PORTAL_LEVELS)) : areasFromGeo(PORTAL_LEVELS),
  ]);
  const catMap = byId(cats);
  const areaMap = byId(areas);

  ctx.main.append(
    h('h1', null, L('市民诉求服务', 'Resident service')),
    h('p', { class: 'lead' }, L('遇到城市管理问题，请告诉我们。我们会派给负责的部门处理，并告诉您结果。', 'Tell us about a problem in the city. We send it to the department responsible and tell you the result.')),
  );

  // ---- Report ----
  const title = h('input', { name: 'title', autocomplete: 'off' });
  const text = h('textarea', { name: 'text', rows: '5', required: true });
  const category = categorySelect(cats, L('不确定，由系统判断', 'Not sure, let the system decide'));
  category.name = 'category';
  const urgent = h('input', { type: 'checkbox', name: 'urgent' });
  const name = h('input', { name: 'reporter_name', autocomplete: 'name' });
  const phone = h('input', { name: 'reporter_phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel' });
  const areaSel = h('select', { name: 'area' }, h('option', { value: '' }, L('按地图或地址确定', 'From the map or address')));
  // Open reports in the chosen area, to join instead of filing a duplicate (issue 21).
  const nearby = nearbyPanel(ctx.signal);
  areaSel.addEventListener('change', () => void nearby.show(areaSel.value));
  for (const a of areas.filter((a) => PORTAL_LEVELS.includes(a.level))) {
    const depth = a.level === 'district' ? 0 : a.level === 'street' ? 1 : 2;
    areaSel.append(h('option', { value: String(a.id) }, `${'\u3000'.repeat(depth)}${a.name}`));
  }
  const located = h('p', { class: 'located', 'aria-live': 'polite' });
  let lat: number | null = null;
  let lon: number | null = null;
  const setLocated = (la: number, lo: number, chain: string) => {
    lat = la;
    lon = lo;
    replace(located, L('位置：', 'Location: '), chain || `${la.toFixed(5)}, ${lo.toFixed(5)}`);
  };
  const photos = photoPicker(L('照片（可选）', 'Photos (optional)'));
  const status = statusBox();
  const submit = h('button', { type: 'submit', class: 'primary big' }, L('提交诉求', 'Send'));
  const suggest = suggestPanel({
    getInput: () => ({ text: text.value, title: title.value, lat, lon }),
    onPickCategory: (code) => selectByCode(category, code),
    showDuplicates: false,
  });
  text.addEventListener('input', () => suggest.trigger());
  title.addEventListener('input', () => suggest.trigger());
  let mapApi: Awaited<ReturnType<typeof mapPicker>> = null;
  const addr = addressSearch((r) => {
    setLocated(r.lat, r.lon, `${r.name}（${r.area_name}）`);
    mapApi?.setPoint(r.lat, r.lon);
    suggest.trigger();
  });
  addr.input.name = 'address';
  const mapBox = h('div', { class: 'map-box' });
  // "Use my location": the point, the nearest known address and the open reports around it.
  const locateMe = useLocationButton(ctx.signal, (place) => {
    setLocated(place.lat, place.lon, describePlace(place));
    mapApi?.setPoint(place.lat, place.lon);
    if (place.nearest && !addr.input.value.trim() && place.nearest.kind !== 'road') addr.input.value = place.nearest.name;
    const finest = [...place.areas].reverse().find((a) => areaSel.querySelector(`option[value="${a.id}"]`));
    if (finest) {
      areaSel.value = String(finest.id);
      void nearby.show(areaSel.value);
    }
    suggest.trigger();
  });
  const form = h(
    'form',
    { class: 'card report', 'aria-labelledby': 'report-h', novalidate: true },
    h('h2', { id: 'report-h' }, L('反映问题', 'Report a problem')),
    field(L('问题描述（必填）', 'What is the problem? (required)'), text, L('请写清楚时间、地点和情况。', 'Say when, where and what happens.')),
    counted(text, LIMITS.text),
    suggest.el,
    field(L('标题（可选）', 'Short title (optional)'), title),
    field(L('问题分类', 'Category'), category),
    h('div', { class: 'field check' }, urgent, h('label', { for: (urgent.id = 'portal-urgent') }, L('紧急（危及安全）', 'Urgent (a danger to people)'))),
    h('fieldset', null, h('legend', null, L('位置', 'Location')), locateMe, addr.el, areas.length ? field(L('所在区域', 'Area'), areaSel) : null, mapBox, located, nearby.el),
    photos.el,
    h('fieldset', null, h('legend', null, L('联系方式（可选，仅工作人员可见）', 'Contact (optional, seen only by staff)')), field(L('姓名', 'Name'), name), field(L('电话', 'Phone'), phone)),
    submit,
    status,
  );
  counted(title, LIMITS.title);
  name.maxLength = LIMITS.name;
  phone.maxLength = LIMITS.phone;
  const keys = contentKeys();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) {
      showError(status, L('请填写问题描述。', 'Please describe the problem.'));
      text.focus();
      return;
    }
    const photoErr = photos.error();
    if (photoErr) {
      showError(status, photoErr);
      return;
    }
    const body: Record<string, unknown> = { channel: 'web', text: text.value.trim() };
    if (title.value.trim()) body.title = title.value.trim();
    if (category.value) body.category_id = Number(category.value);
    if (areaSel.value) body.area_id = Number(areaSel.value);
    if (lat !== null && lon !== null) {
      body.lat = Number(lat.toFixed(6));
      body.lon = Number(lon.toFixed(6));
    }
    if (addr.input.value.trim()) body.address = addr.input.value.trim();
    if (name.value.trim()) body.reporter_name = name.value.trim();
    if (phone.value.trim()) body.reporter_phone = phone.value.trim();
    if (urgent.checked) body.urgent = true;
    submit.disabled = true;
    showInfo(status, L('正在提交…', 'Sending…'));
    try {
      const res = await post<{ case_id: number; number: string; merged: boolean }>('/api/v1/appeals', body, { headers: { 'Idempotency-Key': keys.key(body) } });
      keys.renew();
      const files = photos.files();
      let photoNote = '';
      if (files.length) {
        const up = await uploadPhotos(res.case_id, 'appeal', files).catch((e: Error) => ({ uploaded: 0, missing: false, errors: [errorText(e)] }));
        if (up.missing) photoNote = L('（照片上传暂不可用）', ' (photo upload is not available yet)');
        else if (up.errors.length) photoNote = L(`（${up.errors.length} 张照片未上传：${up.errors.join('；')}）`, ` (${up.errors.length} photo(s) not uploaded: ${up.errors.join('; ')})`);
        else photoNote = L(`（已上传 ${up.uploaded} 张照片）`, ` (${up.uploaded} photo(s) uploaded)`);
      }
      showOk(
        status,
        h('strong', null, L('已受理。', 'Received.')),
        ' ',
        L('您的诉求编号：', 'Your case number: '),
        h('output', { class: 'case-number', 'data-testid': 'case-number' }, res.number),
        res.merged ? L('（与附近同类问题合并办理）', ' (joined to an open case about the same problem)') : '',
        photoNote,
        h('br'),
        L('请记下编号，用它查询进度。', 'Keep the number to follow your case.'),
      );
      followInput.value = res.number;
      form.reset();
      photos.reset();
      suggest.reset();
      addr.reset();
      mapApi?.clear();
      lat = lon = null;
      replace(located);
      if (resident) void loadMine();
    } catch (e) {
      showError(status, e);
    } finally {
      submit.disabled = false;
    }
  });
  ctx.main.append(form);

  // ---- Follow ----
  const followInput = h('input', { name: 'number', autocomplete: 'off', maxlength: '40', inputmode: 'text' });
  const followOut = h('div', { class: 'follow-out', 'aria-live': 'polite' });
  const followBtn = h('button', { type: 'submit' }, L('查询', 'Look up'));
  const followForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'follow-h' },
    h('h2', { id: 'follow-h' }, L('查询办理进度', 'Follow a case')),
    h('div', { class: 'inline' }, field(L('诉求编号', 'Case number'), followInput), followBtn),
    followOut,
  );
  followForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const number = followInput.value.trim();
    if (!number) {
      replace(followOut, h('p', { class: 'status error', role: 'alert' }, L('请输入诉求编号。', 'Enter a case number.')));
      return;
    }
    replace(followOut, h('p', { class: 'status' }, L('正在查询…', 'Looking up…')));
    try {
      const pub = await optional<PublicCase>('GET', `/api/v1/public/cases/${encodeURIComponent(number)}`, { anonymous: true });
      if (pub) {
        renderPublic(pub);
        focusResult();
        return;
      }
      // The public lookup is not deployed: a logged-in resident can still find their own case.
      if (resident) {
        const mine = await get<Case[]>(`/api/v1/cases${qs({ limit: 500 })}`);
        const found = mine.find((c) => c.number === number);
        if (found) {
          replace(followOut, await caseCard(found, true));
          focusResult();
          return;
        }
      }
      replace(followOut, h('p', { class: 'status error', role: 'alert' }, L('未找到该编号的诉求。登录后可在“我的诉求”中查看。', 'No case with that number was found. Log in to see your cases under “My cases”.')));
    } catch (e) {
      replace(followOut, h('p', { class: 'status error', role: 'alert' }, e instanceof ApiError && e.code === 'case_not_found' ? L('未找到该编号的诉求。', 'No case with that number.') : errorText(e)));
    }
  });
  const focusResult = () => {
    const target = followOut.querySelector<HTMLElement>('h3, summary, .status');
    if (target) {
      if (target.tagName === 'H3') target.tabIndex = -1;
      target.focus();
    }
  };
  const renderPublic = (p: PublicCase) => {
    const rating = typeof p.rating === 'string' ? p.rating : p.rating?.satisfaction ?? null;
    replace(
      followOut,
      h(
        'article',
        { class: 'case-card', 'aria-label': `${L('诉求', 'Case')} ${p.number}` },
        h('h3', null, p.number, ' ', stateBadge(p.state)),
        h('p', null, p.title),
        progress(p.state),
        h(
          'dl',
          null,
          h('dt', null, L('分类', 'Category')),
          h('dd', null, p.category_name ?? '—'),
          h('dt', null, L('受理时间', 'Received')),
          h('dd', null, fmtTime(p.created_at, lang())),
          h('dt', null, L('最近更新', 'Last update')),
          h('dd', null, fmtTime(p.updated_at, lang())),
          h('dt', null, L('官方答复', 'Official reply')),
          h('dd', { class: 'reply' }, p.reply ?? L('尚无答复', 'No reply yet')),
          h('dt', null, L('评价', 'Rating')),
          h('dd', null, rating ? satisfactionName(rating) : '—'),
        ),
        p.state === 'closed' && !resident
          ? h('p', null, h('a', { href: `#/login?next=portal` }, L('登录后可对办理结果进行评价', 'Log in to rate the answer')))
          : null,
      ),
    );
  };
  ctx.main.append(followForm);

  // ---- My cases (residents) ----
  const mineList = h('div', { class: 'mine' });
  const loadMine = async () => {
    try {
      const rows = await get<Case[]>(`/api/v1/cases${qs({ limit: 20 })}`, { signal: ctx.signal });
      if (rows.length === 0) {
        replace(mineList, h('p', { class: 'muted' }, L('您还没有提交过诉求。', 'You have not reported anything yet.')));
        return;
      }
      const cards = await Promise.all(rows.map((c, i) => caseCard(c, i === 0)));
      replace(mineList, h('p', { class: 'muted' }, L('最近 20 件，点开查看进度、答复和评价。', 'Your 20 most recent cases; open one to see progress, reply and rating.')), h('ul', { class: 'plain' }, cards.map((c) => h('li', null, c))));
    } catch (e) {
      if ((e as Error).name !== 'AbortError') replace(mineList, h('p', { class: 'status error', role: 'alert' }, errorText(e)));
    }
  };
  const caseCard = async (c: Case, open: boolean): Promise<HTMLElement> => {
    const details = h('div', { class: 'details' });
    const toRate = c.state === 'closed' && resident;
    const badge = stateBadge(c.state);
    const rateBadge = toRate ? h('span', { class: 'badge prio-high', 'data-testid': 'to-rate' }, L('待评价', 'please rate')) : null;
    const steps = progress(c.state);
    const disclosure = h(
      'details',
      { open },
      h('summary', null, h('span', { class: 'num' }, c.number), ' ', badge, rateBadge, ' ', c.title || c.text.slice(0, 60)),
      h('p', { class: 'muted' }, `${categoryPath(c.category_id, catMap)} · ${areaMap.size ? areaPath(c.area_id, areaMap) : ''} · ${fmtTime(c.created_at, lang())}`),
      steps,
      details,
    );
    // Once rated, the card shows the new state at once (no stale 待评价).
    const rated = (u: Case) => {
      badge.replaceWith(stateBadge(u.state));
      rateBadge?.remove();
      steps.replaceWith(progress(u.state));
    };
    const card = h('article', { class: 'case-card', 'data-number': c.number, 'aria-label': `${L('诉求', 'Case')} ${c.number}` }, disclosure);
    let filled = false;
    const fill = async () => {
      if (filled) return;
      filled = true;
      const reply = await officialReply(c);
      replace(details, h('p', { class: 'reply' }, h('strong', null, L('官方答复：', 'Official reply: ')), reply ?? L('尚无答复', 'No reply yet')));
      const atts = await optional<{ items: Attachment[] }>('GET', `/api/v1/cases/${c.id}/attachments`).catch(() => null);
      if (atts?.items?.length) {
        const gallery = h('div', { class: 'gallery' });
        details.append(gallery);
        for (const a of atts.items.slice(0, 9)) {
          attachmentUrl(a.url)
            .then((src) => gallery.append(h('img', { src, alt: a.kind === 'feedback' ? L('处置后照片', 'Photo after handling') : L('诉求照片', 'Photo of the problem'), loading: 'lazy' })))
            .catch(() => undefined);
        }
      }
      if (toRate) details.append(rateForm(c, rated));
      if (c.satisfaction) details.append(h('p', null, L('您的评价：', 'Your rating: '), satisfactionName(c.satisfaction)));
    };
    disclosure.addEventListener('toggle', () => {
      if (disclosure.open) void fill();
    });
    if (open) await fill();
    return card;
  };
  const rateForm = (c: Case, onRated: (u: Case) => void): HTMLElement => {
    const group = `rate-${c.id}`;
    const opts = ['satisfied', 'basically_satisfied', 'dissatisfied'].map((s, i) => {
      const input = h('input', { type: 'radio', name: group, value: s, id: `${group}-${s}`, checked: i === 0 });
      return h('div', { class: 'radio' }, input, h('label', { for: input.id }, satisfactionName(s)));
    });
    const resolved = h('input', { type: 'checkbox', id: `${group}-resolved`, checked: true });
    const comment = h('textarea', { rows: '2', id: `${group}-comment`, maxlength: String(LIMITS.note) });
    const st = statusBox();
    const btn = h('button', { type: 'submit', class: 'primary' }, L('提交评价', 'Send rating'));
    const f = h(
      'form',
      { class: 'rate', 'aria-label': `${L('评价诉求', 'Rate case')} ${c.number}` },
      h('fieldset', null, h('legend', null, L('您对办理结果满意吗？', 'Are you satisfied with the result?')), opts),
      h('div', { class: 'field check' }, resolved, h('label', { for: resolved.id }, L('问题已解决', 'The problem is solved'))),
      field(L('意见（可选）', 'Comment (optional)'), comment),
      btn,
      st,
    );
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const sat = (f.querySelector(`input[name="${group}"]:checked`) as HTMLInputElement | null)?.value ?? 'satisfied';
      btn.disabled = true;
      try {
        const updated = await act(c.id, { action: 'rate', satisfaction: sat, resolved: resolved.checked, comment: comment.value.trim() });
        replace(f, h('p', { class: 'status ok', role: 'status' }, L('感谢您的评价！', 'Thank you for your rating!'), ' ', stateName(updated.state)));
        onRated(updated);
      } catch (e) {
        showError(st, e);
        btn.disabled = false;
      }
    });
    return f;
  };
  if (resident) {
    ctx.main.append(h('section', { class: 'card', 'aria-labelledby': 'mine-h' }, h('h2', { id: 'mine-h' }, L('我的诉求', 'My cases')), mineList));
    await loadMine();
  } else if (!user) {
    ctx.main.append(h('p', { class: 'muted' }, L('已注册的市民可以', 'Registered residents can '), h('a', { href: '#/login?next=portal' }, L('登录', 'log in')), L('查看自己的全部诉求并评价。', ' to see all their cases and rate them.')));
  }

  // The map loads last: it is optional (boundaries may be missing). The boundaries are public,
  // so anonymous residents get it too.
  {
    mapApi = await mapPicker(
      mapBox,
      (la, lo, loc) => {
        const chain = loc?.found ? loc.areas.filter((a) => a.level !== 'city').map((a) => a.name).join(' / ') : L('不在本市范围内', 'outside the city');
        setLocated(la, lo, chain);
        if (loc?.found) {
          const finest = [...loc.areas].reverse().find((a) => areaSel.querySelector(`option[value="${a.id}"]`));
          if (finest) areaSel.value = String(finest.id);
          if (finest) void nearby.show(areaSel.value);
        }
        suggest.trigger();
      },
      ctx.signal,
    ).catch(() => null);
    if (mapApi) ctx.dispose(() => mapApi?.dispose());
  }
  const pre = ctx.params.get('case');
  if (pre) {
    followInput.value = pre.slice(0, 40);
    followForm.requestSubmit();
  }
}
