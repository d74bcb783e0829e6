// The dashboard's live feed: it starts with the latest cases of the scope (never empty on a wall
// screen), then adds a line per case event from the server-sent stream. Every line says what the
// case is about (its title, masked of personal data by the server), where (the area's name) and
// its state in words, read from GET /api/v1/stats/feed; a case's title and area are read once.

import { get, qs } from '../api';
import { h } from '../dom';
import { L, actionName, lang, stateName } from '../i18n';

export interface FeedLine {
  case_id: number;
  number: string;
  title: string;
  area_id: number;
  area_name: string;
  state: string;
  state_zh: string;
  updated_at: string;
}

export interface CaseEvent {
  case_id: number;
  number: string;
  action: string;
  state: string;
  at: string;
}

const MAX_LINES = 50;

function line(cls: string | undefined, data: Record<string, string>, time: string, tag: string | null, number: string, about: FeedLine | null, state: string): HTMLElement {
  return h(
    'li',
    { class: cls, dataset: data },
    h('span', { class: 'feed-time' }, time),
    ' ',
    tag ? h('span', { class: 'feed-tag' }, tag) : null,
    tag ? ' ' : null,
    h('span', { class: 'num' }, number),
    h('span', { class: 'feed-title' }, about ? ` · ${about.title}` : ''),
    h('span', { class: 'feed-area' }, about ? ` · ${about.area_name}` : ''),
    ' · ',
    h('span', { class: 'feed-state' }, stateName(state)),
  );
}

/** The feed of one dashboard: `prefill` once, then `add` for each case event. */
export function liveFeed(feed: HTMLElement, signal: AbortSignal): { prefill: (areaId: number | null) => Promise<void>; add: (ev: CaseEvent) => boolean } {
  const known = new Map<number, Promise<FeedLine | null>>();
  const about = (caseId: number) => {
    let p = known.get(caseId);
    if (!p) {
      p = get<FeedLine[]>(`/api/v1/stats/feed${qs({ case_id: caseId, limit: 1 })}`, { signal }).then((r) => r[0] ?? null, () => null);
      known.set(caseId, p);
      if (known.size > 500) known.delete(known.keys().next().value as number);
    }
    return p;
  };
  const trim = () => {
    while (feed.children.length > MAX_LINES) feed.lastElementChild?.remove();
  };

  const prefill = async (areaId: number | null) => {
    const rows = await get<FeedLine[]>(`/api/v1/stats/feed${qs({ area_id: areaId ?? undefined, limit: 8 })}`, { signal });
    feed.querySelector('.placeholder')?.remove();
    for (const r of rows) {
      known.set(r.case_id, Promise.resolve(r));
      const time = new Date(r.updated_at).toLocaleTimeString(lang(), { hour12: false, hour: '2-digit', minute: '2-digit' });
      feed.append(line('earlier', { earlier: r.number }, time, null, r.number, r, r.state));
    }
    trim();
  };

  /** Adds the line of one event; true when it was a new appeal. */
  const add = (ev: CaseEvent) => {
    const isNew = ev.action === 'receive';
    const escalated = ev.action === 'escalate' || ev.action === 'supervise';
    feed.querySelector('.placeholder')?.remove();
    const time = new Date(ev.at || Date.now()).toLocaleTimeString(lang(), { hour12: false });
    const tag = isNew ? L('新诉求', 'New') : escalated ? L('督办', 'Escalated') : actionName(ev.action);
    const item = line(isNew ? 'new' : escalated ? 'escalated' : undefined, { number: ev.number }, time, tag, ev.number, null, ev.state);
    feed.prepend(item);
    trim();
    void about(ev.case_id).then((a) => {
      if (!a) return;
      item.querySelector('.feed-title')!.textContent = ` · ${a.title}`;
      item.querySelector('.feed-area')!.textContent = ` · ${a.area_name}`;
    });
    return isNew;
  };
  return { prefill, add };
}
