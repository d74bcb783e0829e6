// The HTTP client: same-origin JSON calls with the bearer token from sessionStorage, errors
// carrying the API's stable code and message, and detection of endpoints not deployed yet.

import { errorText } from './errors';

export interface Me {
  user_id: number;
  username: string;
  role: string;
  role_zh: string;
  area_id: number | null;
  dept_id: number | null;
}

export interface PriorityFactor {
  code?: string;
  name?: string;
  label_zh?: string;
  points?: number;
  weight?: number;
  detail?: string;
}

export interface Suggestion {
  code: string;
  name: string;
  confidence: number;
}

export interface Case {
  id: number;
  number: string;
  state: string;
  state_zh: string;
  channel: string;
  title: string;
  text: string;
  address: string;
  lat: number | null;
  lon: number | null;
  category_id: number | null;
  area_id: number;
  lead_dept_id: number | null;
  supporting_dept_ids: number[];
  reporter_name: string;
  reporter_phone: string;
  reporter_count: number;
  urgent: boolean;
  priority_score: number;
  priority_level: string;
  priority_factors: PriorityFactor[] | null;
  suggested_category_id: number | null;
  suggested_confidence: number | null;
  suggestions?: Suggestion[];
  /** Intake's proposal: {lead_dept_id, supporting, legal_basis, rule_id, basis} (or the contract's {lead:{code,name}}). */
  proposed_route?: {
    lead?: { code: string; name: string } | null;
    lead_dept_id?: number;
    supporting?: (number | { code: string; name: string })[];
    legal_basis?: string;
    rule_id?: number;
    basis?: string;
  } | null;
  needs_review?: boolean;
  asset?: { id: string; name: string; maintainer?: { code: string; name: string } | string } | null;
  pending: string | null;
  clock: string | null;
  limit_amount: number | null;
  /** What the latest dispatch said: instructions (处置要求) and the deadline chosen. */
  dispatch_order?: { instructions: string; limit_amount: number; category_amount: number; deadline_reason: string } | null;
  due_at: string | null;
  response_due_at: string | null;
  overdue: boolean;
  handled_on_time: boolean | null;
  supervise_count: number;
  rework_count: number;
  return_count: number;
  closure_type: string | null;
  closed_at: string | null;
  satisfaction: string | null;
  resolved: boolean | null;
  created_at: string;
  updated_at: string;
}

export interface Area {
  id: number;
  code: string;
  name: string;
  level: string;
  parent_id: number | null;
  center_lat: number | null;
  center_lon: number | null;
}

export interface Dept {
  id: number;
  code: string;
  name: string;
  area_id: number | null;
}

export interface Category {
  id: number;
  code: string;
  name: string;
  level: number;
  parent_id: number | null;
}

export interface Indicators {
  counts: Record<string, number>;
  registered: number;
  closure_rate: number | null;
  on_time_closure_rate: number | null;
  on_time_handling_rate: number | null;
  rework_rate: number | null;
  accurate_dispatch_rate: number | null;
  response_rate: number | null;
  resolution_rate: number | null;
  satisfaction_rate: number | null;
}

export interface Keyed {
  key: string;
  indicators: Indicators;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor_id: number | null;
  actor_role: string;
  /** Display name of who made the step (staff views only). */
  actor_name?: string;
  action: string;
  from_state: string;
  to_state: string;
  detail: Record<string, unknown> | null;
}

export interface Attachment {
  id: number;
  case_id: number;
  kind: string;
  mime: string;
  size: number;
  created_at: string;
  url: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }

  /** The endpoint itself is not there (not deployed yet): 404/405 without an API error code. */
  get missing(): boolean {
    return (this.status === 404 || this.status === 405) && (this.code === '' || this.code === 'not_found');
  }
}

const TOKEN_KEY = 'urbis.token';
const ME_KEY = 'urbis.me';

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function me(): Me | null {
  const raw = sessionStorage.getItem(ME_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Me;
  } catch {
    return null;
  }
}

export function setSession(tok: string, user: Me): void {
  sessionStorage.setItem(TOKEN_KEY, tok);
  sessionStorage.setItem(ME_KEY, JSON.stringify(user));
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ME_KEY);
}

type Listener = () => void;
const unauthListeners: Listener[] = [];
/** Called when a logged-in call answers 401 (the session ended). */
export function onUnauthorized(fn: Listener): void {
  unauthListeners.push(fn);
}

export interface CallOptions {
  body?: unknown;
  raw?: BodyInit;
  contentType?: string;
  headers?: Record<string, string>;
  anonymous?: boolean;
  signal?: AbortSignal;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = '';
  let message = `${res.status} ${res.statusText}`;
  try {
    const text = await res.text();
    if (text) {
      const body = JSON.parse(text) as Record<string, unknown>;
      const err = (body.error && typeof body.error === 'object' ? body.error : body) as Record<string, unknown>;
      if (typeof err.code === 'string') code = err.code;
      if (typeof err.message === 'string') message = err.message;
      else if (typeof err.description === 'string') message = err.description;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

export async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...(opts.headers ?? {}) };
  const tok = opts.anonymous ? null : token();
  if (tok) headers.authorization = `Bearer ${tok}`;
  let body: BodyInit | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    if (opts.contentType) headers['content-type'] = opts.contentType;
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', (e as Error).message || 'network error');
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && tok) for (const fn of unauthListeners) fn();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string, opts?: CallOptions) => call<T>('GET', path, opts);
export const post = <T>(path: string, body?: unknown, opts?: CallOptions) => call<T>('POST', path, { ...opts, body });

/** Like call(), but answers null when the endpoint is not deployed (404/405 without a code). */
export async function optional<T>(method: string, path: string, opts: CallOptions = {}): Promise<T | null> {
  try {
    return await call<T>(method, path, opts);
  } catch (e) {
    if (e instanceof ApiError && e.missing) return null;
    throw e;
  }
}

export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export function act(caseId: number, action: Record<string, unknown>): Promise<Case> {
  return post<Case>(`/api/v1/cases/${caseId}/actions`, action);
}

/** Uploads photos to a case (contract endpoint; null when not deployed). */
export async function uploadPhotos(caseId: number, kind: 'appeal' | 'feedback' | 'check', files: File[]): Promise<{ uploaded: number; missing: boolean; errors: string[] }> {
  let uploaded = 0;
  const errors: string[] = [];
  for (const file of files) {
    try {
      const res = await optional<Attachment>('POST', `/api/v1/cases/${caseId}/attachments${qs({ kind })}`, {
        raw: file,
        contentType: file.type,
      });
      if (res === null) return { uploaded, missing: true, errors };
      uploaded += 1;
    } catch (e) {
      errors.push(`${file.name}: ${errorText(e)}`);
    }
  }
  return { uploaded, missing: false, errors };
}

/** Fetches an attachment with the bearer header and returns a blob URL. */
export async function attachmentUrl(url: string): Promise<string> {
  const tok = token();
  const res = await fetch(url, { headers: tok ? { authorization: `Bearer ${tok}` } : {} });
  if (!res.ok) throw await errorOf(res);
  return URL.createObjectURL(await res.blob());
}

export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
export const PHOTO_MAX_BYTES = 5 * 1024 * 1024;
export const PHOTOS_MAX = 9;

export const LIMITS = {
  title: 200,
  text: 5000,
  name: 50,
  phone: 30,
  address: 300,
  note: 2000,
};
