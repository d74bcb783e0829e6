// Two languages: zh-CN (default) and English. Texts are written in place as L('中文', 'English').

export type Lang = 'zh-CN' | 'en';

const LANG_KEY = 'urbis.lang';
let current: Lang = (localStorage.getItem(LANG_KEY) as Lang) === 'en' ? 'en' : 'zh-CN';

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l;
}

export function L(zh: string, en: string): string {
  return current === 'en' ? en : zh;
}

const STATES: Record<string, [string, string]> = {
  received: ['受理', 'Received'],
  registered: ['立案', 'Registered'],
  dispatched: ['派遣', 'Dispatched'],
  handling: ['处置', 'Handling'],
  feedback: ['反馈', 'Fed back'],
  checked: ['核查通过', 'Checked'],
  closed: ['结案', 'Closed'],
  evaluated: ['回访评价', 'Rated'],
  parked: ['挂账', 'Parked'],
  voided: ['作废', 'Void'],
};

export function stateName(state: string): string {
  const s = STATES[state];
  return s ? L(s[0], s[1]) : state;
}

export const ALL_STATES = Object.keys(STATES);

const ROLES: Record<string, [string, string]> = {
  resident: ['市民', 'Resident'],
  operator: ['受理员', 'Hotline operator'],
  shift_lead: ['值班长', 'Shift lead'],
  dispatcher: ['派遣员', 'Dispatcher'],
  dept_handler: ['部门处置人员', 'Department handler'],
  grid_supervisor: ['监督员', 'Grid supervisor'],
  leader: ['领导', 'Leader'],
  admin: ['管理员', 'Administrator'],
  data_officer: ['数据专员', 'Data officer'],
  partner: ['合作单位', 'Partner organisation'],
};

export function roleName(role: string): string {
  const r = ROLES[role];
  return r ? L(r[0], r[1]) : role;
}

export const ALL_ROLES = Object.keys(ROLES);

const LEVELS: Record<string, [string, string]> = {
  urgent: ['紧急', 'Urgent'],
  high: ['高', 'High'],
  normal: ['一般', 'Normal'],
  low: ['低', 'Low'],
};

export function levelName(level: string): string {
  const r = LEVELS[level];
  return r ? L(r[0], r[1]) : level;
}

const ACTIONS: Record<string, [string, string]> = {
  receive: ['受理', 'Received'],
  attach: ['上传照片', 'Photo added'],
  bulk_load: ['批量导入', 'Bulk import'],
  submit: ['新诉求', 'New appeal'],
  create: ['新诉求', 'New appeal'],
  intake: ['新诉求', 'New appeal'],
  merge_repeat: ['重复诉求合并', 'Repeat report merged'],
  split_repeat: ['拆分重复诉求', 'Merged appeal split off'],
  register: ['立案', 'Registered'],
  dispatch: ['派遣', 'Dispatched'],
  accept: ['签收', 'Accepted'],
  return: ['回退', 'Returned'],
  feedback: ['反馈', 'Fed back'],
  check_pass: ['核查通过', 'Check passed'],
  check_fail: ['核查不通过', 'Check failed'],
  close: ['结案', 'Closed'],
  rate: ['评价', 'Rated'],
  reopen: ['重新办理', 'Reopened'],
  request_extension: ['延期申请', 'Extension requested'],
  request_park: ['挂账申请', 'Parking requested'],
  decide: ['审批', 'Decided'],
  unpark: ['解除挂账', 'Unparked'],
  supervise: ['督办', 'Supervised'],
  escalate: ['超时督办', 'Escalated'],
  void: ['作废', 'Voided'],
  self_resolve: ['自行处置', 'Fixed on the spot'],
  overdue: ['超期', 'Overdue'],
  remind: ['到期提醒', 'Due soon'],
  reclassify: ['改类', 'Reclassified'],
  followup: ['居民回访', 'Resident follow-up'],
  join_case: ['居民加入关注', 'A resident joined'],
};

const APPEAL_TYPES: Record<string, [string, string]> = {
  complaint: ['投诉', 'Complaint'],
  help: ['求助', 'Request for help'],
  enquiry: ['咨询', 'Enquiry'],
  suggestion: ['建议', 'Suggestion'],
  report: ['举报', 'Report of wrongdoing'],
};

/** The appeal types in the order the hotline offers them, and their names. */
export const APPEAL_TYPE_CODES = Object.keys(APPEAL_TYPES);

export function appealTypeName(kind: string): string {
  const a = APPEAL_TYPES[kind];
  return a ? L(a[0], a[1]) : kind;
}

export function actionName(action: string): string {
  const a = ACTIONS[action];
  return a ? L(a[0], a[1]) : action;
}

const CHANNELS: Record<string, [string, string]> = {
  web: ['网站', 'Web'],
  hotline: ['热线', 'Hotline'],
  grid: ['网格', 'Grid'],
  api: ['接口', 'API'],
  sensor: ['感知', 'Sensor'],
};

export function channelName(c: string): string {
  const a = CHANNELS[c];
  return a ? L(a[0], a[1]) : c;
}

const SATISFACTION: Record<string, [string, string]> = {
  satisfied: ['满意', 'Satisfied'],
  basically_satisfied: ['基本满意', 'Basically satisfied'],
  dissatisfied: ['不满意', 'Dissatisfied'],
};

export function satisfactionName(s: string): string {
  const a = SATISFACTION[s];
  return a ? L(a[0], a[1]) : s;
}

export function clockName(c: string | null): string {
  switch (c) {
    case 'urgent_hour':
      return L('紧急小时', 'urgent hours');
    case 'working_hour':
      return L('工作小时', 'working hours');
    case 'working_day':
      return L('工作日', 'working days');
    case 'natural_day':
      return L('自然日', 'calendar days');
    default:
      return c ?? '';
  }
}
