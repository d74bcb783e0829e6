// Pieces shared by several pages: suggestions from intake, address search, the map picker,
// the photo picker, priority badges, deadline countdowns and case progress.

import { ApiError, LIMITS, PHOTO_MAX_BYTES, attachmentUrl, PHOTO_TYPES, PHOTOS_MAX, call, get, optional, qs, type Case, type Category, type PriorityFactor } from './api';
import { debounce, h, replace, uid } from './dom';
import { escapeHtml } from './escape';
import { L, lang, levelName, stateName } from './i18n';
import type { GeoJsonCollection } from './charts';
import { loadGeo } from './ref';

export interface SuggestResult {
  categories: { code: string; name: string; confidence: number }[];
  duplicates: { id: number; number: string; title: string; state: string; similarity: number }[];
  pii: { kind: string }[];
  masked_text: string;
  priority: { score: number; level: string; factors: PriorityFactor[] } | null;
  route: { lead: { code: string; name: string } | null; supporting: { code: string; name: string }[] } | null;
  area: { code: string; name: string } | null;
}

export interface GeocodeResult {
  name: string;
  kind: string;
  lat: number;
  lon: number;
  area_code: string;
  area_name: string;
  score: number;
}

/** A text input with a live character count and a hard maximum. */
export function counted(control: HTMLInputElement | HTMLTextAreaElement, max: number): HTMLElement {
  control.maxLength = max;
  const counter = h('span', { class: 'counter', 'aria-hidden': 'true' });
  const update = () => (counter.textContent = `${[...control.value].length}/${max}`);
  control.addEventListener('input', update);
  update();
  // A form reset empties the control without an input event: count again once it has.
  queueMicrotask(() => control.form?.addEventListener('reset', () => window.setTimeout(update)));
  return counter;
}

/** Live suggestions from POST /api/v1/intake/suggest; hides itself when the endpoint is absent. */
export function suggestPanel(opts: {
  getInput: () => { text: string; title?: string; lat?: number | null; lon?: number | null; area_code?: string; category_code?: string; address?: string };
  onPickCategory: (code: string) => void;
  showDuplicates: boolean;
}): { el: HTMLElement; trigger: () => void; reset: () => void } {
  const el = h('section', { class: 'suggest', 'aria-live': 'polite', 'aria-label': L('智能提示', 'Suggestions'), hidden: true });
  let disabled = false;
  let seq = 0;
  const run = async () => {
    if (disabled) return;
    const input = opts.getInput();
    if ([...input.text.trim()].length < 4) {
      el.hidden = true;
      return;
    }
    const mine = ++seq;
    try {
      const body: Record<string, unknown> = { text: input.text.slice(0, LIMITS.text) };
      if (input.title) body.title = input.title.slice(0, LIMITS.title);
      if (input.lat != null && input.lon != null) {
        body.lat = input.lat;
        body.lon = input.lon;
      } else if (input.area_code) {
        // Without a point, the area chosen by hand: duplicates are looked for there.
        body.area_code = input.area_code;
      } else if (input.address) {
        // Neither: the address typed (or else a place named in the text) gives the area.
        body.address = input.address.slice(0, LIMITS.address);
      }
      if (input.category_code) body.category_code = input.category_code;
      const res = await optional<SuggestResult>('POST', '/api/v1/intake/suggest', { body });
      if (mine !== seq) return;
      if (res === null) {
        disabled = true;
        el.hidden = true;
        return;
      }
      render(res);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        disabled = true;
        el.hidden = true;
      }
    }
  };
  const render = (res: SuggestResult) => {
    const parts: HTMLElement[] = [];
    if (res.categories?.length) {
      parts.push(
        h(
          'div',
          { class: 'chips' },
          h('span', { class: 'label' }, L('建议分类：', 'Suggested category: ')),
          res.categories.map((c) =>
            h(
              'button',
              { type: 'button', class: 'chip', onclick: () => opts.onPickCategory(c.code), 'data-code': c.code },
              `${c.name} ${(c.confidence * 100).toFixed(0)}%`,
            ),
          ),
        ),
      );
    }
    if (opts.showDuplicates && res.duplicates?.length) {
      parts.push(
        h(
          'div',
          { class: 'dups' },
          h('span', { class: 'label' }, L('可能重复：', 'Possible duplicates: ')),
          h(
            'ul',
            null,
            res.duplicates.map((d) =>
              h('li', null, [d.number, d.title, stateName(d.state), `${L('相似度', 'similarity')} ${(d.similarity * 100).toFixed(0)}%`].filter(Boolean).join(' · ')),
            ),
          ),
        ),
      );
    }
    if (res.priority) {
      parts.push(h('p', null, L('优先级：', 'Priority: '), priorityBadge(res.priority.score, res.priority.level)));
    }
    if (res.area) parts.push(h('p', null, L('所属区域：', 'Area: '), res.area.name));
    if (res.route?.lead) parts.push(h('p', null, L('建议主办部门：', 'Suggested lead department: '), res.route.lead.name));
    if (res.pii?.length) {
      parts.push(h('p', { class: 'muted' }, L('内容中的个人信息（如电话）会对无关人员打码。', 'Personal data in the text (such as phone numbers) is masked for people without a need to see it.')));
    }
    replace(el, parts);
    el.hidden = parts.length === 0;
  };
  const trigger = debounce(() => void run(), 450);
  return {
    el,
    trigger,
    reset: () => {
      seq++;
      trigger.cancel();
      el.hidden = true;
      replace(el);
    },
  };
}

/** Address search through GET /api/v1/geocode; hides itself when the endpoint is absent. */
export function addressSearch(onPick: (r: GeocodeResult) => void): { el: HTMLElement; input: HTMLInputElement; reset: () => void } {
  const input = h('input', { type: 'search', autocomplete: 'off', maxlength: String(LIMITS.address), 'aria-autocomplete': 'list' });
  const id = input.id || uid('addr');
  input.id = id;
  const list = h('ul', { class: 'results', role: 'listbox', id: `${id}-list`, 'aria-label': L('地址候选', 'Address matches') });
  input.setAttribute('aria-controls', list.id);
  const el = h('div', { class: 'field address-search' }, h('label', { for: id }, L('地址', 'Address')), input, list);
  let disabled = false;
  let seq = 0;
  const search = debounce(async () => {
    const q = input.value.trim();
    if (disabled || [...q].length < 2) {
      replace(list);
      return;
    }
    const mine = ++seq;
    try {
      const res = await optional<{ results: GeocodeResult[] }>('GET', `/api/v1/geocode${qs({ q, limit: 6 })}`, { anonymous: true });
      if (mine !== seq) return;
      if (res === null) {
        disabled = true;
        replace(list);
        return;
      }
      replace(
        list,
        res.results.map((r) =>
          h(
            'li',
            { role: 'option' },
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: () => {
                  input.value = r.name;
                  replace(list);
                  onPick(r);
                },
              },
              `${r.name}`,
              h('span', { class: 'muted' }, ` ${r.area_name ?? ''}`),
            ),
          ),
        ),
      );
    } catch {
      replace(list);
    }
  }, 350);
  input.addEventListener('input', () => search());
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') {
      const first = list.querySelector('button');
      if (first) {
        ev.preventDefault();
        first.focus();
      }
    }
  });
  list.addEventListener('keydown', (ev) => {
    const target = ev.target as HTMLElement;
    const items = [...list.querySelectorAll('button')];
    const i = items.indexOf(target as HTMLButtonElement);
    if (ev.key === 'ArrowDown' && i < items.length - 1) {
      ev.preventDefault();
      items[i + 1].focus();
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (i > 0) items[i - 1].focus();
      else input.focus();
    } else if (ev.key === 'Escape') {
      replace(list);
      input.focus();
    }
  });
  const reset = () => {
    seq++;
    search.cancel();
    input.value = '';
    replace(list);
  };
  return { el, input, reset };
}

export interface LocateResponse {
  found: boolean;
  areas: { id: number; code: string; name: string; level: string }[];
}

/** A clickable map of the city: a click gives a WGS84 point and its area chain. */
export async function mapPicker(
  container: HTMLElement,
  onPick: (lat: number, lon: number, located: LocateResponse | null) => void,
  signal: AbortSignal,
  opts: { readOnly?: boolean; label?: string } = {},
): Promise<{ setPoint: (lat: number, lon: number) => void; clear: () => void; dispose: () => void } | null> {
  let geo: GeoJsonCollection | null = null;
  for (const level of ['street', 'district']) {
    try {
      const g = await loadGeo(level);
      if (signal.aborted) return null;
      if (g.features.some((f) => f.geometry)) {
        geo = g;
        break;
      }
    } catch {
      return null;
    }
  }
  if (!geo) return null;
  const { draw, makeChart, registerGeo } = await import('./charts');
  const name = 'urbis-portal-map';
  if (registerGeo(name, geo) === 0) return null;
  const chartEl = h('div', { class: 'map-picker' });
  if (opts.readOnly) container.append(chartEl);
  else
    container.append(
      h('p', { class: 'hint', id: 'map-hint' }, L('在地图上点击问题所在位置；也可以用上面的地址搜索或区域列表。', 'Click the map where the problem is, or use the address search or area list above.')),
      chartEl,
    );
  const chart = makeChart(chartEl, opts.label ?? L('城市地图：点击选择位置', 'City map: click to choose the location'));
  if (!opts.readOnly) chartEl.setAttribute('aria-describedby', 'map-hint');
  let point: [number, number] | null = null;
  const option = () => ({
    animation: false,
    tooltip: { show: true, formatter: (p: { name: string }) => escapeHtml(p.name) },
    geo: {
      map: name,
      roam: true,
      selectedMode: false,
      label: { show: true, fontSize: document.documentElement.classList.contains('large-text') ? 14 : 10, color: '#333' },
      itemStyle: { areaColor: '#e8f0f7', borderColor: '#5a7fa6' },
      emphasis: { itemStyle: { areaColor: '#cfe0f2' }, label: { color: '#000' } },
    },
    series: [
      {
        type: 'scatter',
        coordinateSystem: 'geo',
        symbolSize: 16,
        itemStyle: { color: '#c0392b' },
        data: point ? [point] : [],
      },
    ],
  });
  await draw(chart, option());
  const zr = chart.getZr();
  if (!opts.readOnly) zr.on('click', (ev: { offsetX: number; offsetY: number }) => void (async () => {
    const p = chart.convertFromPixel({ geoIndex: 0 }, [ev.offsetX, ev.offsetY]) as number[] | undefined;
    if (!p || !Number.isFinite(p[0])) return;
    const [lon, lat] = p;
    point = [lon, lat];
    chart.setOption(option(), { notMerge: false });
    let located: LocateResponse | null = null;
    try {
      located = await get<LocateResponse>(`/api/v1/locate${qs({ lat: lat.toFixed(6), lon: lon.toFixed(6) })}`, { anonymous: true });
    } catch {
      located = null;
    }
    onPick(lat, lon, located);
  })());
  return {
    setPoint(lat: number, lon: number) {
      point = [lon, lat];
      chart.setOption(option(), { notMerge: false });
    },
    clear() {
      point = null;
      chart.setOption(option(), { notMerge: false });
    },
    dispose() {
      chart.dispose();
    },
  };
}

/** A photo picker bounded by the contract's limits (type, size, count). */
export function photoPicker(label: string): { el: HTMLElement; files: () => File[]; reset: () => void; error: () => string | null } {
  const input = h('input', { type: 'file', accept: PHOTO_TYPES.join(','), multiple: true });
  const hint = L(`最多 ${PHOTOS_MAX} 张，每张不超过 5 MB（JPEG、PNG、WebP）。`, `Up to ${PHOTOS_MAX} photos, 5 MB each (JPEG, PNG, WebP).`);
  const list = h('ul', { class: 'photo-list', 'aria-live': 'polite' });
  const wrap = h('div', { class: 'field' }, h('label', { for: (input.id = uid('photos')) }, label), input, h('p', { class: 'hint', id: `${input.id}-hint` }, hint), list);
  input.setAttribute('aria-describedby', `${input.id}-hint`);
  const check = (): string | null => {
    const files = [...(input.files ?? [])];
    if (files.length > PHOTOS_MAX) return L(`照片最多 ${PHOTOS_MAX} 张。`, `At most ${PHOTOS_MAX} photos.`);
    for (const f of files) {
      if (!PHOTO_TYPES.includes(f.type)) return L(`${f.name} 不是 JPEG/PNG/WebP 图片。`, `${f.name} is not a JPEG, PNG or WebP image.`);
      if (f.size > PHOTO_MAX_BYTES) return L(`${f.name} 超过 5 MB。`, `${f.name} is larger than 5 MB.`);
    }
    return null;
  };
  input.addEventListener('change', () => {
    replace(
      list,
      [...(input.files ?? [])].map((f) => h('li', null, `${f.name} (${Math.ceil(f.size / 1024)} KB)`)),
      check() ? h('li', { class: 'error', role: 'alert' }, check()) : null,
    );
  });
  return {
    el: wrap,
    files: () => [...(input.files ?? [])],
    reset: () => {
      input.value = '';
      replace(list);
    },
    error: check,
  };
}

export function priorityBadge(score: number, level: string): HTMLElement {
  return h('span', { class: `badge prio-${level}` }, `${levelName(level)} ${score}`);
}

const FACTOR_EN: Record<string, string> = {
  urgency_words: 'Urgency words',
  category_severity: 'Category severity',
  vulnerable_people: 'Vulnerable people',
  duplicates: 'Repeat reports',
  repeat_reports: 'Repeat reports',
  repeat_place: 'Repeat place',
  urgent_flag: 'Marked urgent',
};

export function factorList(factors: PriorityFactor[] | null | undefined): HTMLElement | null {
  if (!factors || !Array.isArray(factors) || factors.length === 0) return null;
  return h(
    'ul',
    { class: 'factors' },
    factors.map((f) => {
      const name = lang() === 'en' ? FACTOR_EN[f.code ?? ''] ?? f.name ?? f.code ?? '' : f.label_zh ?? f.name ?? f.code ?? '';
      const pts = f.points ?? f.weight;
      return h('li', null, `${name}${pts !== undefined ? ` +${pts}` : ''}${f.detail ? ` (${f.detail})` : ''}`);
    }),
  );
}

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `badge st-${state}` }, stateName(state));
}

/** "2 h 05 min left" / "overdue by 1 d 3 h". */
export function countdown(dueIso: string | null, now = Date.now()): { text: string; overdue: boolean; soon: boolean } {
  if (!dueIso) return { text: L('未计时', 'no deadline'), overdue: false, soon: false };
  const due = new Date(dueIso).getTime();
  let diff = Math.round((due - now) / 1000);
  const overdue = diff < 0;
  diff = Math.abs(diff);
  const d = Math.floor(diff / 86400);
  const hh = Math.floor((diff % 86400) / 3600);
  const mm = Math.floor((diff % 3600) / 60);
  const ss = diff % 60;
  const span =
    d > 0
      ? L(`${d}天${hh}小时${mm}分`, `${d} d ${hh} h ${mm} min`)
      : L(`${hh}小时${String(mm).padStart(2, '0')}分${String(ss).padStart(2, '0')}秒`, `${hh} h ${String(mm).padStart(2, '0')} min ${String(ss).padStart(2, '0')} s`);
  return {
    text: overdue ? L(`已超期 ${span}`, `overdue by ${span}`) : L(`剩余 ${span}`, `${span} left`),
    overdue,
    soon: !overdue && diff < 4 * 3600,
  };
}

const FLOW = ['received', 'registered', 'dispatched', 'handling', 'feedback', 'checked', 'closed', 'evaluated'];

/** The closed loop as an ordered list with the current step marked. */
export function progress(state: string): HTMLElement {
  const at = FLOW.indexOf(state);
  return h(
    'ol',
    { class: 'progress', 'aria-label': L('办理进度', 'Progress') },
    FLOW.map((s, i) =>
      h(
        'li',
        { class: i < at ? 'done' : i === at ? 'current' : '', 'aria-current': i === at ? 'step' : undefined },
        stateName(s),
      ),
    ),
    state === 'voided' || state === 'parked' ? h('li', { class: 'current', 'aria-current': 'step' }, stateName(state)) : null,
  );
}

/** Category <select> with level-1 optgroups and leaf options. */
export function categorySelect(cats: Category[], emptyLabel: string, opts: { allLevels?: boolean } = {}): HTMLSelectElement {
  const sel = h('select', null, h('option', { value: '' }, emptyLabel));
  const roots = cats.filter((c) => c.parent_id === null);
  const children = new Map<number, Category[]>();
  for (const c of cats) {
    if (c.parent_id !== null) {
      const list = children.get(c.parent_id) ?? [];
      list.push(c);
      children.set(c.parent_id, list);
    }
  }
  const leaves = (c: Category): Category[] => {
    const kids = children.get(c.id) ?? [];
    return kids.length ? kids.flatMap((k) => [k, ...leaves(k).filter((x) => x !== k)]) : [];
  };
  for (const r of roots) {
    const group = h('optgroup', { label: r.name });
    const ls = leaves(r);
    // A level-1 category is a choice of its own where a whole branch is meant (time limits).
    if (ls.length === 0 || opts.allLevels) group.append(h('option', { value: String(r.id), dataset: { code: r.code } }, ls.length ? L(`${r.name}（整类）`, `${r.name} (whole branch)`) : r.name));
    for (const c of ls) {
      const depth = c.level - 2;
      group.append(h('option', { value: String(c.id), dataset: { code: c.code } }, `${'\u3000'.repeat(Math.max(depth, 0))}${c.name}`));
    }
    sel.append(group);
  }
  return sel;
}

/**
 * A search box beside a long category picker (hundreds of options after an import): typing
 * narrows the picker to the options (or level-1 groups) whose name holds the text, and a single
 * match is chosen at once. `data-matches` says how many options are left.
 */
export function categorySearch(sel: HTMLSelectElement): HTMLInputElement {
  const input = h('input', { type: 'search', autocomplete: 'off', maxlength: '40', class: 'category-search', 'data-testid': 'category-search' });
  input.addEventListener('input', () => {
    const q = input.value.trim();
    let n = 0;
    let first: HTMLOptionElement | null = null;
    for (const g of sel.querySelectorAll('optgroup')) {
      const groupHit = q !== '' && g.label.includes(q);
      let any = false;
      for (const o of g.querySelectorAll('option')) {
        const hit = q === '' || groupHit || (o.textContent ?? '').includes(q);
        o.hidden = !hit;
        if (hit) {
          any = true;
          n += 1;
          first ??= o;
        }
      }
      g.hidden = !any;
    }
    input.dataset.matches = String(n);
    if (q !== '' && n === 1 && first && sel.value !== first.value) {
      sel.value = first.value;
      sel.dispatchEvent(new Event('change'));
    }
  });
  return input;
}

export function selectByCode(sel: HTMLSelectElement, code: string): boolean {
  for (const o of sel.options) {
    if (o.dataset.code === code) {
      sel.value = o.value;
      sel.dispatchEvent(new Event('change'));
      return true;
    }
  }
  return false;
}

/**
 * Idempotency keys that follow the content: a retry of the same body reuses its key (so a
 * timed-out submit is never filed twice), and any edit gets a new key (so the edit is never
 * answered with the earlier appeal — the server refuses a key reused with another body).
 */
export function contentKeys(): { key(body: unknown): string; renew(): void } {
  let last = '';
  let current = newKey();
  return {
    key(body: unknown): string {
      const text = JSON.stringify(body);
      if (text !== last) {
        last = text;
        current = newKey();
      }
      return current;
    },
    renew(): void {
      last = '';
      current = newKey();
    },
  };
}

export function newKey(): string {
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/** The latest official reply (feedback note) from a case's trail, if the caller may read it. */
export async function officialReply(c: Case): Promise<string | null> {
  try {
    const trail = await call<{ action: string; detail: Record<string, unknown> | null }[]>('GET', `/api/v1/cases/${c.id}/trail`);
    for (let i = trail.length - 1; i >= 0; i--) {
      const t = trail[i];
      if (t.action === 'feedback' && t.detail) {
        const note = (t.detail.note ?? t.detail.text ?? t.detail.reason) as string | undefined;
        if (note) return note;
      }
    }
  } catch {
    return null;
  }
  return null;
}

/** What a case photo shows, by its kind. */
export function photoAlt(kind: string): string {
  if (kind === 'feedback') return L('处置照片', 'Photo of the fix');
  if (kind === 'check') return L('核查照片', 'Photo of the on-site check');
  return L('诉求照片', 'Photo of the problem');
}

/** Photos of a case (attachments endpoint; nothing when it is absent), fetched with the token. */
export function gallery(caseId: number): HTMLElement {
  const el = h('div', { class: 'gallery' });
  void optional<{ items: { id: number; kind: string; url: string }[] }>('GET', `/api/v1/cases/${caseId}/attachments`)
    .then((res) => {
      for (const a of res?.items?.slice(0, 9) ?? []) {
        void attachmentUrl(a.url)
          .then((src) => el.append(h('img', { src, alt: photoAlt(a.kind), loading: 'lazy', 'data-kind': a.kind })))
          .catch(() => undefined);
      }
    })
    .catch(() => undefined);
  return el;
}
