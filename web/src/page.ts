// What a page gets from the router.

export interface Ctx {
  /** The <main> element to render into. */
  main: HTMLElement;
  /** Aborted when the user leaves the page. */
  signal: AbortSignal;
  /** Registers cleanup (timers, streams, charts) for when the user leaves. */
  dispose(fn: () => void): void;
  /** Query parameters after the route, e.g. #/portal?case=X. */
  params: URLSearchParams;
  /** Re-renders the current route (e.g. after a language switch). */
  rerender(): void;
}

export type Page = (ctx: Ctx) => Promise<void>;

export function ready(value: boolean): void {
  document.documentElement.dataset.ready = value ? '1' : '0';
}
