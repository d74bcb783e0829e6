// Open reports already filed in an area, each with "me too — join" (residents) or a link to the
// phone login (anyone else): shown while reporting (portal) and on a resident's own page, so a
// problem is joined instead of filed twice.

import { get, me, post, qs } from '../api';
import { fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang, stateName } from '../i18n';

interface Report {
  id: number;
  number: string;
  title: string;
  state: string;
  created_at: string;
  area_name: string | null;
}

export function nearbyPanel(signal: AbortSignal): { el: HTMLElement; show: (areaId: string) => Promise<void> } {
  const list = h('ul', { class: 'plain', id: 'near-list' });
  const st = statusBox();
  const el = h('section', { class: 'nearby', 'aria-live': 'polite', 'aria-label': L('附近已有的问题', 'Already reported near you'), hidden: true }, st, list);
  let seq = 0;
  const show = async (areaId: string) => {
    const mine = ++seq;
    if (!areaId) {
      el.hidden = true;
      return replace(list);
    }
    const reports = await get<Report[]>(`/api/v1/public/reports${qs({ area_id: areaId, open: true, limit: 10 })}`, { signal }).catch(() => [] as Report[]);
    if (mine !== seq) return;
    const resident = me()?.role === 'resident';
    el.hidden = false;
    replace(
      list,
      reports.length
        ? [
            h('li', { class: 'muted' }, L('附近已有以下问题在办理，如是同一问题，加入即可，无需重复提交：', 'These reports nearby are open; if yours is the same, join it instead of filing again:')),
            reports.map((r) => {
              let action: HTMLElement;
              if (resident) {
                action = joinButton(r.id, r.number, st);
              } else {
                action = h('a', { href: '#/join' }, L('手机号登录后加入', 'Log in with your phone to join'));
              }
              return h('li', { class: 'card' }, h('h3', null, r.title), h('p', { class: 'muted' }, `${r.number} · ${r.area_name ?? ''} · ${stateName(r.state)} · ${fmtTime(r.created_at, lang())}`), action);
            }),
          ]
        : h('li', { class: 'muted' }, L('附近暂无未办结的问题。', 'No open reports near you.')),
    );
  };
  return { el, show };
}

/** Where "use my location" put the resident: the point, the nearest gazetteer entry and the areas. */
/// A resident's "me too" button: joins the open case and says so in `st`.
export function joinButton(caseId: number, number: string, st: HTMLElement, primary = false): HTMLButtonElement {
  const join = h('button', { type: 'button', class: primary ? 'primary' : null, 'data-join': number }, L('我也遇到了，加入', 'Me too — join'));
  join.addEventListener('click', async () => {
    join.disabled = true;
    try {
      await post(`/api/v1/cases/${caseId}/join`);
      showOk(st, L(`已加入案件 ${number}，办理进展会通知您。`, `You joined case ${number}; you will hear of its progress.`));
    } catch (e) {
      showError(st, e);
      join.disabled = false;
    }
  });
  return join;
}

export interface MyPlace {
  lat: number;
  lon: number;
  nearest: { name: string; kind: string; lat: number; lon: number; distance_m: number } | null;
  areas: { id: number; code: string; name: string; level: string }[];
}

/** Asks the browser for the resident's position, then the server for the nearest address and the areas there. */
export function locateMe(signal: AbortSignal): Promise<MyPlace> {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator)) {
      reject(new Error(L('浏览器不支持定位，请在地图上点选或输入地址。', 'This browser cannot locate you; pick the place on the map or type the address.')));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const lat = pos.coords.latitude;
        const lon = pos.coords.longitude;
        get<Omit<MyPlace, 'lat' | 'lon'>>(`/api/v1/public/nearest${qs({ lat: lat.toFixed(6), lon: lon.toFixed(6) })}`, { signal, anonymous: true })
          .then((r) => resolve({ lat, lon, nearest: r.nearest, areas: r.areas }))
          .catch(reject);
      },
      () => reject(new Error(L('无法获取您的位置，请允许定位，或在地图上点选、输入地址。', 'Could not get your position: allow location access, or pick the place on the map or type the address.'))),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });
}

/** The community (else the finest area) around a located point: where nearby reports are looked for. */
export function nearbyArea(place: MyPlace): { id: number; name: string } | null {
  const community = place.areas.find((a) => a.level === 'community');
  const finest = place.areas.filter((a) => a.level !== 'city').pop();
  return community ?? finest ?? null;
}

/** Says in words where the resident is: the nearest address or place and the area chain. */
export function describePlace(place: MyPlace): string {
  const chain = place.areas.filter((a) => a.level !== 'city' && a.level !== 'grid').map((a) => a.name).join(' / ');
  const near = place.nearest ? L(`${place.nearest.name}附近（约 ${Math.round(place.nearest.distance_m)} 米）`, `near ${place.nearest.name} (about ${Math.round(place.nearest.distance_m)} m)`) : '';
  if (!chain && !near) return L('您的位置不在本市范围内。', 'Your position is outside the city.');
  return [near, chain].filter(Boolean).join(' · ');
}

/** A "use my location" button: calls `onFound` with the place, shows errors in its own status box. */
export function useLocationButton(signal: AbortSignal, onFound: (place: MyPlace) => void | Promise<void>): HTMLElement {
  const st = statusBox();
  const button = h('button', { type: 'button', class: 'locate-me', 'data-testid': 'use-location' }, L('使用我的位置', 'Use my location'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    replace(st);
    st.className = 'status';
    try {
      await onFound(await locateMe(signal));
    } catch (e) {
      if (!signal.aborted) showError(st, e);
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'locate-row' }, button, st);
}
