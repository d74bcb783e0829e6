// The server's stable error codes in both languages. The UI shows these texts; the server's own
// message (English) only for a code not listed here, so a Chinese screen never shows
// "wrong username or password".

import { ApiError } from './api';
import { MORE_CODES } from './errors-more';
import { L } from './i18n';

const CODES: Record<string, [string, string]> = {
  // Sessions and permissions
  bad_credentials: ['用户名或密码错误。', 'Wrong username or password.'],
  unauthenticated: ['登录已失效，请重新登录。', 'Your session has ended; log in again.'],
  forbidden: ['您没有权限执行此操作。', 'You may not do this.'],
  role_not_allowed: ['您的角色不能执行此操作。', 'Your role may not do this.'],
  out_of_scope: ['该案件不在您的负责范围内。', 'This case is outside your area or department.'],
  not_a_supervisor: ['只有监督员可以执行此操作。', 'Only a grid supervisor may do this.'],
  too_many_requests: ['操作太频繁，请稍后再试。', 'Too many attempts; try again shortly.'],
  rate_limited: ['操作太频繁，请稍后再试。', 'Too many attempts; try again shortly.'],
  weak_password: ['密码太简单，请至少使用 10 位且包含多种字符。', 'The password is too weak.'],
  invalid_password: ['密码不符合要求。', 'The password does not meet the rules.'],
  invalid_username: ['用户名格式不正确。', 'The username is not valid.'],
  username_taken: ['该用户名已被使用。', 'That username is taken.'],
  invalid_role: ['角色无效。', 'Unknown role.'],
  // Workflow
  illegal_transition: ['案件状态已变化，此操作当前不可用；页面已按最新状态刷新。', 'The case has moved on; this action is no longer possible. The view shows its current state.'],
  request_pending: ['已有延期或挂账申请待审批，请等值班长审批后再操作。', 'An extension or parking request waits for the shift lead; act after the decision.'],
  no_pending_request: ['没有待审批的申请（可能已被他人处理）。', 'There is no request to decide (someone may have decided it).'],
  text_required: ['请填写原因或说明。', 'Give a reason or note.'],
  bad_extension: ['延期数量应为 1–1000。', 'An extension adds 1 to 1000 units.'],
  bad_dispatch: ['主办部门不能同时是协办部门。', 'The lead department cannot also be a supporting one.'],
  dept_required: ['请选择主办部门。', 'Choose the lead department.'],
  dept_out_of_area: ['该部门不负责此区域。', 'That department does not cover this area.'],
  no_route: ['权责清单中没有对应规则，请人工选择主办部门。', 'No responsibility rule covers this case; choose the lead department.'],
  deadline_beyond_limit: ['处置时限不能超过该分类允许的时限。', 'The deadline cannot be later than the category’s time limit allows.'],
  deadline_reason_required: ['处置时限短于分类时限，请说明理由。', 'The deadline is shorter than the category’s time limit; say why.'],
  invalid_deadline: ['处置时限至少为 1。', 'The deadline is at least 1 unit.'],
  invalid_closure_type: ['结案类型无效。', 'Unknown closure type.'],
  invalid_satisfaction: ['评价选项无效。', 'Unknown rating.'],
  case_moved: ['案件已被合并或移动，请刷新。', 'The case was merged or moved; refresh.'],
  case_not_found: ['未找到该案件。', 'No such case.'],
  case_not_closed: ['案件尚未办结，办结后才能回访。', 'The case is not closed yet; answer once it is.'],
  followup_answered: ['您已回答过这个案件是否解决。', 'You already answered whether this case was fixed.'],
  not_found: ['未找到要操作的对象（可能已被删除）。', 'Not found (it may have been removed).'],
  conflict: ['数据已被他人修改，请刷新后重试。', 'Someone else changed this; refresh and try again.'],
  // Intake
  empty_text: ['请填写诉求内容。', 'Enter what the problem is.'],
  text_too_long: ['内容太长，请精简。', 'The text is too long.'],
  invalid_field: ['有字段填写不正确，请检查。', 'A field is not valid; check the form.'],
  unknown_area: ['所选区域不存在。', 'Unknown area.'],
  unknown_category: ['所选分类不存在。', 'Unknown category.'],
  unknown_address_id: ['所选地址已失效，请重新搜索。', 'That address is no longer known; search again.'],
  invalid_location: ['位置坐标不正确。', 'The location is not valid.'],
  missing_location: ['请提供位置。', 'Give a location.'],
  channel_not_allowed: ['此渠道不能提交诉求。', 'This channel may not file appeals.'],
  idempotency_key_reused: ['该提交已用于另一条内容，请重新提交。', 'That submission key was used for other content; submit again.'],
  invalid_idempotency_key: ['提交标识无效，请重新提交。', 'Bad submission key; submit again.'],
  intake_failed: ['受理失败，请稍后重试。', 'The appeal could not be filed; try again.'],
  // Attachments
  attachment_bad_type: ['只能上传 JPEG、PNG 或 WebP 图片。', 'Only JPEG, PNG or WebP images.'],
  attachment_too_large: ['图片超过 5 MB。', 'The image is larger than 5 MB.'],
  attachment_limit: ['照片数量已达上限。', 'No more photos may be added.'],
  photo_quota_exceeded: ['今日上传照片已达上限。', 'The photo quota for today is used up.'],
  check_photo_not_allowed: ['只有负责核查的监督员可以在案件反馈后上传核查照片。', 'Only the supervisor checking a fed-back case may add photos of the check.'],
  invalid_attachment_kind: ['照片类型无效。', 'Unknown photo kind.'],
  // Administration
  invalid_office_hours: ['办公时间格式不正确，应为 09:00-12:00,13:30-18:00 这样的时段。', 'Office hours must look like 09:00-12:00,13:30-18:00.'],
  invalid_calendar: ['日历内容不正确。', 'The calendar is not valid.'],
  invalid_day: ['日期不正确。', 'The day is not valid.'],
  invalid_date: ['日期不正确。', 'The date is not valid.'],
  invalid_clock: ['计时方式无效。', 'Unknown clock.'],
  invalid_time_limit: ['时限应为 1–1000 的整数。', 'The time limit is a whole number from 1 to 1000.'],
  invalid_rules: ['权责规则不正确。', 'The responsibility rules are not valid.'],
  invalid_name: ['名称不正确。', 'The name is not valid.'],
  invalid_code: ['编码不正确。', 'The code is not valid.'],
  invalid_level: ['层级不正确。', 'The level is not valid.'],
  too_many_rows: ['行数太多，请分批导入。', 'Too many rows; import in parts.'],
  import_in_use: ['这次导入的分类已被案件、权责规则或授权使用，不能撤销。', 'Cases, rules or grants already use this import’s categories; it cannot be undone.'],
  no_import_to_undo: ['没有可撤销的导入。', 'No import is left to undo.'],
  batch_too_large: ['一次提交太多，请分批。', 'Too many at once; send in parts.'],
  already_revoked: ['该密钥已吊销。', 'That key is already revoked.'],
  invalid_api_key: ['API 密钥无效。', 'Invalid API key.'],
  // Queries and transport
  invalid_query: ['查询参数不正确。', 'The query is not valid.'],
  invalid_json: ['请求格式不正确。', 'The request is not valid.'],
  invalid_body: ['请求内容不正确。', 'The request is not valid.'],
  invalid_order: ['排序方式不正确。', 'Unknown order.'],
  invalid_state: ['状态不正确。', 'Unknown state.'],
  invalid_period: ['时间段不正确。', 'The period is not valid.'],
  invalid_limit: ['数量超出范围。', 'The limit is out of range.'],
  body_too_large: ['提交内容太大。', 'The request is too large.'],
  unsupported_media_type: ['不支持的内容类型。', 'Unsupported content type.'],
  storage_full: ['存储空间已满，未能保存，请稍后再试。', 'The store is full; nothing was saved. Try again later.'],
  storage_unavailable: ['系统暂时无法保存，请稍后再试。', 'The store cannot save right now; try again later.'],
  read_only: ['系统处于只读维护状态，请稍后再试。', 'The system is read-only for maintenance; try again later.'],
  shutting_down: ['系统正在重启，请稍后再试。', 'The server is restarting; try again shortly.'],
  internal: ['系统内部错误，请稍后再试。', 'Internal error; try again later.'],
  network: ['网络连接失败，请检查网络后重试。', 'The network failed; check the connection and retry.'],
  ...MORE_CODES,
};

/** Whether the UI has its own text for a server error code. */
export function knownCode(code: string): boolean {
  return Object.prototype.hasOwnProperty.call(CODES, code);
}

/** The text to show for any error: the code's own text, else the server's message. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    const known = CODES[e.code];
    if (known) return L(known[0], known[1]);
    if (e.status === 429) return L(CODES.too_many_requests[0], CODES.too_many_requests[1]);
    if (e.status >= 500) return L(CODES.internal[0], CODES.internal[1]);
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}
