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

/** Who may open each page (null: everyone, without login). */
export const PAGE_ROLES: Record<string, string[] | null> = {
  login: null,
  portal: null,
  hotline: ['operator', 'shift_lead', 'admin'],
  dispatch: ['dispatcher', 'shift_lead', 'leader', 'admin'],
  workbench: ['dept_handler', 'grid_supervisor', 'admin', 'partner'],
  dashboard: ['leader', 'admin', 'shift_lead', 'dispatcher', 'operator', 'grid_supervisor'],
  insight: ['leader', 'admin'],
  sensors: ['leader', 'admin', 'shift_lead', 'dispatcher', 'operator', 'grid_supervisor'],
  admin: ['admin'],
  data: ['data_officer', 'admin'],
  'open-data': null,
  join: null,
  me: ['resident'],
  community: null,
  answers: ['operator', 'shift_lead', 'admin'],
  sandbox: ['leader', 'admin'],
  arbiter: ['shift_lead', 'leader', 'admin'],
  responsibility: null,
};

/** The page a role starts on. */
export function homeOf(role: string | undefined): string {
  switch (role) {
    case 'operator':
      return 'hotline';
    case 'shift_lead':
    case 'dispatcher':
      return 'dispatch';
    case 'dept_handler':
    case 'grid_supervisor':
    case 'partner':
      return 'workbench';
    case 'leader':
      return 'dashboard';
    case 'admin':
      return 'admin';
    case 'data_officer':
      return 'data';
    default:
      return 'portal';
  }
}

export function mayOpen(page: string, role: string | undefined): boolean {
  const roles = PAGE_ROLES[page];
  if (roles === undefined) return false;
  return roles === null || (role !== undefined && roles.includes(role));
}
