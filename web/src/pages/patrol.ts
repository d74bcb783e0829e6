// 采集上报: a grid supervisor reports a problem found on patrol from the phone — what, where (the
// phone's position, or an area of the supervisor's own scope), photos — filed on the grid channel
// into the same intake as every other appeal.

import { LIMITS, get, me, post, qs, uploadPhotos, type Area, type Category } from '../api';
import { field, h, replace, showError, showInfo, showOk, statusBox } from '../dom';
import { L } from '../i18n';
import { categorySelect, contentKeys, counted, photoPicker, type LocateResponse } from '../widgets';

export function patrolForm(cats: Category[], areas: Area[]): HTMLElement {
  const user = me();
  // The areas of the supervisor's scope: their own area and everything under it.
  const inScope = (a: Area): boolean => {
    if (!user?.area_id) return true;
    const byId = new Map(areas.map((x) => [x.id, x]));
    for (let x: Area | undefined = a; x; x = x.parent_id !== null ? byId.get(x.parent_id) : undefined) if (x.id === user.area_id) return true;
    return false;
  };
  const text = h('textarea', { name: 'patrol_text', rows: '3', required: true });
  const category = categorySelect(cats, L('（自动分类）', '(classify automatically)'));
  const areaSel = h('select', { name: 'patrol_area' }, h('option', { value: '' }, L('（按位置定位）', '(from the position)')));
  for (const a of areas.filter((a) => ['district', 'street', 'community'].includes(a.level) && inScope(a))) {
    const depth = ['district', 'street', 'community'].indexOf(a.level);
    areaSel.append(h('option', { value: String(a.id) }, `${'\u3000'.repeat(depth)}${a.name}`));
  }
  const photos = photoPicker(L('现场照片', 'Photos of the place'));
  const located = h('p', { class: 'located', 'aria-live': 'polite', 'data-testid': 'patrol-located' });
  let lat: number | null = null;
  let lon: number | null = null;
  const here = h('button', { type: 'button' }, L('使用当前位置', 'Use my position'));
  here.addEventListener('click', () => {
    if (!navigator.geolocation) return showError(status, L('此设备不能定位，请选择区域。', 'This device cannot give its position; choose the area.'));
    showInfo(status, L('正在定位…', 'Finding the position…'));
    navigator.geolocation.getCurrentPosition(
      (pos) =>
        void (async () => {
          lat = pos.coords.latitude;
          lon = pos.coords.longitude;
          const found = await get<LocateResponse>(`/api/v1/locate${qs({ lat: lat.toFixed(6), lon: lon.toFixed(6) })}`).catch(() => null);
          const chain = found?.found ? found.areas.map((a) => a.name).join(' / ') : '';
          replace(located, L('位置：', 'Position: '), `${lat.toFixed(5)}, ${lon.toFixed(5)}`, chain ? ` · ${chain}` : '');
          const deepest = found?.areas.filter((a) => [...areaSel.options].some((o) => o.value === String(a.id))).pop();
          if (deepest) areaSel.value = String(deepest.id);
          replace(status);
          status.className = 'status';
        })(),
      () => showError(status, L('未能取得位置（未授权或无信号），请选择区域。', 'No position (not allowed or no signal); choose the area.')),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });
  const status = statusBox();
  const submit = h('button', { type: 'submit', class: 'primary' }, L('上报', 'Report'));
  const form = h(
    'form',
    { class: 'card patrol-form', 'aria-labelledby': 'patrol-h', novalidate: true },
    h('h2', { id: 'patrol-h' }, L('采集上报', 'Report a problem found on patrol')),
    status,
    field(L('问题描述（必填）', 'What is wrong (required)'), text),
    counted(text, LIMITS.text),
    field(L('分类', 'Category'), category),
    h('div', { class: 'inline' }, here, located),
    field(L('区域', 'Area'), areaSel),
    photos.el,
    submit,
  );
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && ev.target instanceof HTMLInputElement) ev.preventDefault();
  });
  const keys = contentKeys();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) {
      text.focus();
      return showError(status, L('请填写问题描述。', 'Describe the problem.'));
    }
    if (lat === null && !areaSel.value) return showError(status, L('请使用当前位置或选择区域。', 'Use your position or choose the area.'));
    const photoErr = photos.error();
    if (photoErr) return showError(status, photoErr);
    const body: Record<string, unknown> = { channel: 'grid', text: text.value.trim() };
    if (category.value) body.category_id = Number(category.value);
    if (areaSel.value) body.area_id = Number(areaSel.value);
    if (lat !== null && lon !== null) {
      body.lat = Number(lat.toFixed(6));
      body.lon = Number(lon.toFixed(6));
    }
    submit.disabled = true;
    try {
      const res = await post<{ case_id: number; number: string; merged: boolean }>('/api/v1/appeals', body, { headers: { 'Idempotency-Key': keys.key(body) } });
      const files = photos.files();
      const up = files.length ? await uploadPhotos(res.case_id, 'appeal', files) : { uploaded: 0, missing: false, errors: [] as string[] };
      // The form is cleared first, so that the confirmation is revealed where it finally sits.
      form.reset();
      photos.reset();
      keys.renew();
      lat = lon = null;
      replace(located);
      showOk(
        status,
        L('已上报，编号 ', 'Reported as '),
        h('output', { class: 'case-number' }, res.number),
        res.merged ? L('（并入已有案件）', ' (joined an open case)') : '',
        up.uploaded ? L(`，${up.uploaded} 张照片`, `, ${up.uploaded} photo(s)`) : '',
        up.errors.length ? L(`（${up.errors.length} 张照片未上传：${up.errors.join('；')}）`, ` (${up.errors.length} photo(s) not uploaded: ${up.errors.join('; ')})`) : '',
      );
    } catch (e) {
      showError(status, e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
