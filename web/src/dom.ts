// Small DOM helpers: h() builds elements, clear() empties a node.

import { errorText } from './errors';

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
      } else if (key === 'class') {
        el.className = String(value);
      } else if (key === 'style' && typeof value === 'object') {
        Object.assign(el.style, value);
      } else if (key === 'dataset' && typeof value === 'object') {
        Object.assign(el.dataset, value);
      } else if (key === 'value' && 'value' in el) {
        (el as HTMLInputElement).value = String(value);
      } else if (key === 'checked' || key === 'disabled' || key === 'selected' || key === 'required' || key === 'hidden' || key === 'multiple' || key === 'readOnly') {
        (el as unknown as Record<string, boolean>)[key] = Boolean(value);
        if (key !== 'checked' && key !== 'selected') el.setAttribute(key.toLowerCase(), '');
      } else if (value === true) {
        el.setAttribute(key, '');
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Node, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

let idCounter = 0;
/** A unique id for label/input pairs. */
export function uid(prefix = 'f'): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field: label + control (+ optional hint), wired by id. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLDivElement {
  if (!control.id) control.id = uid();
  const wrap = h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
  if (hint) {
    const hintId = `${control.id}-hint`;
    wrap.appendChild(h('p', { class: 'hint', id: hintId }, hint));
    control.setAttribute('aria-describedby', hintId);
  }
  return wrap;
}

export function option(value: string | number, label: string, selected = false): HTMLOptionElement {
  const o = h('option', { value: String(value) }, label);
  if (selected) o.selected = true;
  return o;
}

/** A live status region for messages and errors. */
export function statusBox(): HTMLDivElement {
  return h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
}

/** Scrolls a message into view when it is off-screen, so it shows where the user is. */
export function reveal(box: HTMLElement): void {
  // At once when the box is on the page (reading its place lays the page out), so a confirmation is
  // in view as soon as it is shown; a box not yet attached is placed on the next frame.
  const place = () => {
    if (!box.isConnected) return;
    const r = box.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) box.scrollIntoView({ block: 'nearest' });
  };
  if (box.isConnected) place();
  else requestAnimationFrame(place);
}

/** Shows an error: a string as it is, an API error by its code's text (see errors.ts). */
export function showError(box: HTMLElement, error: unknown): void {
  box.className = 'status error';
  box.setAttribute('role', 'alert');
  replace(box, typeof error === 'string' ? error : errorText(error));
  reveal(box);
}

export function showOk(box: HTMLElement, ...content: Child[]): void {
  box.className = 'status ok';
  box.setAttribute('role', 'status');
  replace(box, ...content);
  reveal(box);
}

export function showInfo(box: HTMLElement, ...content: Child[]): void {
  box.className = 'status';
  box.setAttribute('role', 'status');
  replace(box, ...content);
}

export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): ((...args: A) => void) & { cancel(): void } {
  let timer: number | undefined;
  const wrapped = (...args: A) => {
    if (timer !== undefined) window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      timer = undefined;
      fn(...args);
    }, ms);
  };
  wrapped.cancel = () => {
    if (timer !== undefined) window.clearTimeout(timer);
    timer = undefined;
  };
  return wrapped;
}

export function fmtTime(iso: string | null | undefined, lang: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export function pct(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return `${(v * 100).toFixed(1)}%`;
}
