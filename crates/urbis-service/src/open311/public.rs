//! What Open311 may show of a case: statuses (GeoReport's open/closed and mySociety's extended
//! statuses), the public trail in plain words, masked descriptions, and places no finer than a
//! unit grid. Nothing here ever reads a reporter column.
//!
//! Extended statuses follow the case's state: 受理 OPEN, 立案 INVESTIGATING, 派遣 and 挂账
//! ACTION_SCHEDULED, 处置/反馈/核查 IN_PROGRESS; a closed case is FIXED (正常/超时结案),
//! NO_FURTHER_ACTION (特殊结案: cannot be handled) or CLOSED (差错结案); a voided case is
//! DUPLICATE, INTERNAL_REFERRAL or NOT_COUNCILS_RESPONSIBILITY when its reason says it repeats
//! another case (重复), was handed to another body (转办, 移交, 转交) or is not the city's
//! responsibility (不属于, 非本, 职责, 管辖), else CLOSED. A request that intake attached to an
//! open case starts as DUPLICATE and then follows the case.

use chrono::{DateTime, Utc};
use urbis_domain::workflow::{CaseState, ClosureType};
use urbis_storage::open311::{PublicRequestRow, TrailRow};

use super::DESCRIPTION_MAX_CHARS;
use crate::{Result, ServiceError};

/// mySociety's extended status of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStatus {
    Open,
    Investigating,
    ActionScheduled,
    InProgress,
    Fixed,
    Duplicate,
    NotCouncilsResponsibility,
    NoFurtherAction,
    InternalReferral,
    Closed,
}

impl UpdateStatus {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Open => "OPEN",
            UpdateStatus::Investigating => "INVESTIGATING",
            UpdateStatus::ActionScheduled => "ACTION_SCHEDULED",
            UpdateStatus::InProgress => "IN_PROGRESS",
            UpdateStatus::Fixed => "FIXED",
            UpdateStatus::Duplicate => "DUPLICATE",
            UpdateStatus::NotCouncilsResponsibility => "NOT_COUNCILS_RESPONSIBILITY",
            UpdateStatus::NoFurtherAction => "NO_FURTHER_ACTION",
            UpdateStatus::InternalReferral => "INTERNAL_REFERRAL",
            UpdateStatus::Closed => "CLOSED",
        }
    }

    /// Parses a client's status (case-insensitive; `REOPEN` counts as OPEN).
    pub fn parse(s: &str) -> Option<UpdateStatus> {
        let upper = s.trim().to_ascii_uppercase().replace(' ', "_");
        if upper == "REOPEN" {
            return Some(UpdateStatus::Open);
        }
        [
            UpdateStatus::Open,
            UpdateStatus::Investigating,
            UpdateStatus::ActionScheduled,
            UpdateStatus::InProgress,
            UpdateStatus::Fixed,
            UpdateStatus::Duplicate,
            UpdateStatus::NotCouncilsResponsibility,
            UpdateStatus::NoFurtherAction,
            UpdateStatus::InternalReferral,
            UpdateStatus::Closed,
        ]
        .into_iter()
        .find(|status| status.as_str() == upper)
    }

    /// Whether GeoReport calls it open.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            UpdateStatus::Open
                | UpdateStatus::Investigating
                | UpdateStatus::ActionScheduled
                | UpdateStatus::InProgress
        )
    }
}

/// The extended status of a case in `state`; `detail` is the audit detail of the change into it
/// (closure type, void reason), when known.
pub(crate) fn status_of(
    state: CaseState,
    closure: Option<ClosureType>,
    void_reason: &str,
) -> UpdateStatus {
    match state {
        CaseState::Received => UpdateStatus::Open,
        CaseState::Registered => UpdateStatus::Investigating,
        CaseState::Dispatched | CaseState::Parked => UpdateStatus::ActionScheduled,
        CaseState::Handling | CaseState::Feedback | CaseState::Checked => UpdateStatus::InProgress,
        CaseState::Closed | CaseState::Evaluated => match closure {
            Some(ClosureType::Special) => UpdateStatus::NoFurtherAction,
            Some(ClosureType::Error) => UpdateStatus::Closed,
            _ => UpdateStatus::Fixed,
        },
        CaseState::Voided => {
            let has = |words: &[&str]| words.iter().any(|w| void_reason.contains(w));
            let lower = void_reason.to_lowercase();
            if has(&["重复"]) || lower.contains("duplicate") {
                UpdateStatus::Duplicate
            } else if has(&["转办", "移交", "转交"]) || lower.contains("referr") {
                UpdateStatus::InternalReferral
            } else if has(&["不属于", "非本", "职责", "管辖"]) || lower.contains("responsib")
            {
                UpdateStatus::NotCouncilsResponsibility
            } else {
                UpdateStatus::Closed
            }
        }
    }
}

fn detail_text<'a>(detail: &'a serde_json::Value, key: &str) -> &'a str {
    detail.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// One public step of a request's history, in plain words.
#[derive(Debug, Clone)]
pub struct PublicNote {
    pub at: DateTime<Utc>,
    /// The extended status after the step.
    pub status: UpdateStatus,
    /// True for the step that filed the request.
    pub submitted: bool,
    /// What happened, in plain words (a department's reply is masked).
    pub summary: String,
}

/// Turns one state change into its public note.
pub(crate) fn note_of(row: &TrailRow) -> Result<Option<PublicNote>> {
    let Some(state) = CaseState::parse(&row.to_state) else {
        return Ok(None);
    };
    let detail: serde_json::Value = serde_json::from_str(&row.detail).unwrap_or_default();
    let closure = ClosureType::parse(detail_text(&detail, "closure_type"));
    let status = status_of(state, closure, detail_text(&detail, "text"));
    let reply = || {
        let text = detail_text(&detail, "text").trim();
        (!text.is_empty()).then(|| urbis_text::pii::mask(text))
    };
    let mut summary = match row.action.as_str() {
        "receive" => "诉求已受理 Received".to_owned(),
        "register" => "已立案，等待派遣 Registered, waiting to be sent to a department".to_owned(),
        "dispatch" => "已派遣给责任部门 Sent to the responsible department".to_owned(),
        "accept" => "责任部门已签收，正在处置 The department is working on it".to_owned(),
        "return" => {
            "责任部门退回，将重新派遣 Returned by the department, to be sent again".to_owned()
        }
        "feedback" => "责任部门已反馈处置结果 The department reported the work done".to_owned(),
        "self_resolve" => {
            "网格监督员已现场处置 Fixed on the spot by the grid supervisor".to_owned()
        }
        "check_pass" => "现场核查通过 The fix was checked on site".to_owned(),
        "check_fail" => "核查未通过，责任部门返工 The check failed; the work is redone".to_owned(),
        "close" => match status {
            UpdateStatus::NoFurtherAction => {
                "已结案：暂无法处置 Closed: it cannot be dealt with".to_owned()
            }
            _ => "已结案 Closed".to_owned(),
        },
        "reopen" => "重新办理 Reopened".to_owned(),
        "decide" if state == CaseState::Parked => {
            "已挂账，待条件具备后处置 Put on the list for later work".to_owned()
        }
        "unpark" => "解除挂账，继续处置 Work resumed".to_owned(),
        "void" => match status {
            UpdateStatus::Duplicate => "与已有诉求重复 Duplicate of an earlier report".to_owned(),
            UpdateStatus::InternalReferral => "已转交其他机构 Referred to another body".to_owned(),
            UpdateStatus::NotCouncilsResponsibility => {
                "不属于本市职责范围 Not the city's responsibility".to_owned()
            }
            _ => "已作废 Closed without action".to_owned(),
        },
        _ => format!("{} {}", state.title_zh(), status.as_str()),
    };
    if matches!(row.action.as_str(), "feedback" | "self_resolve")
        && let Some(reply) = reply()
    {
        summary.push('：');
        summary.push_str(&reply);
    }
    Ok(Some(PublicNote {
        at: row.at,
        status,
        submitted: row.action == "receive",
        summary,
    }))
}

/// A request as Open311 shows it: no reporter name, phone, account or address, ever; the
/// description masked; the place no finer than a unit grid.
#[derive(Debug, Clone)]
pub struct PublicRequest {
    pub number: String,
    /// The case the request belongs to (its own number unless intake attached it to a case).
    pub case_number: String,
    pub status: UpdateStatus,
    pub status_notes: String,
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    pub requested_at: DateTime<Utc>,
    /// The last public status change.
    pub updated_at: DateTime<Utc>,
    pub expected_at: Option<DateTime<Utc>>,
    /// The names of the case's areas, most specific first.
    pub address: String,
    /// The code of the case's area (its unit grid where there is one).
    pub address_id: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub media_url: Option<String>,
    pub state: String,
    pub channel: String,
    pub closure_type: Option<String>,
    /// The public trail (shown only with `extensions=true`).
    pub notes: Vec<PublicNote>,
}

/// Cuts a text to `max` characters, ending with "…" when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The masked description: personal data masked, and the address the reporter gave for the
/// case (often a home address) taken out wherever the text repeats it.
pub(crate) fn public_description(text: &str, address: &str) -> String {
    let address = address.trim();
    let text = if address.chars().count() >= 4 && text.contains(address) {
        text.replace(address, "***")
    } else {
        text.to_owned()
    };
    cut(&urbis_text::pii::mask(&text), DESCRIPTION_MAX_CHARS)
}

/// Side of the fallback grid, in degrees of latitude (about 100 m).
const CELL_DEG: f64 = 0.0009;

/// Returns the point Open311 shows: the centre of the case's unit grid, or — when the case lies
/// in no unit grid — the centre of the ~100 m cell around its point; without a point, the centre
/// of its area.
pub(crate) fn coarse_point(row: &PublicRequestRow) -> Option<(f64, f64)> {
    let center = row.center_lat.zip(row.center_lon);
    let round = |v: f64| (v * 1e6).round() / 1e6;
    match (row.area_level.as_str(), center, row.lat.zip(row.lon)) {
        ("grid", Some((lat, lon)), _) => Some((round(lat), round(lon))),
        (_, _, Some((lat, lon))) => {
            let lat_c = ((lat / CELL_DEG).floor() + 0.5) * CELL_DEG;
            let lon_cell = CELL_DEG / lat_c.to_radians().cos().abs().max(0.01);
            let lon_c = ((lon / lon_cell).floor() + 0.5) * lon_cell;
            Some((round(lat_c), round(lon_c)))
        }
        (_, Some((lat, lon)), None) => Some((round(lat), round(lon))),
        _ => None,
    }
}

/// Parses a stored state; an unknown one is an internal error.
pub(crate) fn state_of(row: &PublicRequestRow) -> Result<CaseState> {
    CaseState::parse(&row.state).ok_or_else(|| {
        tracing::error!(case_id = row.case_id, state = %row.state, "unknown stored state");
        ServiceError::internal()
    })
}

/// The status notes: the state in words, with the closure type.
pub(crate) fn status_notes(state: CaseState, closure: Option<ClosureType>) -> String {
    let closure_zh = closure.map(|c| match c {
        ClosureType::Normal => "正常结案",
        ClosureType::Overdue => "超时结案",
        ClosureType::Error => "差错结案",
        ClosureType::Special => "特殊结案",
    });
    match closure_zh {
        Some(closure) => format!("{}（{closure}）", state.title_zh()),
        None => state.title_zh().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(level: &str, center: Option<(f64, f64)>, point: Option<(f64, f64)>) -> PublicRequestRow {
        PublicRequestRow {
            number: "1".into(),
            case_id: 1,
            case_number: "1".into(),
            merged: false,
            text: String::new(),
            address: String::new(),
            requested_at: chrono::DateTime::UNIX_EPOCH,
            media_urls: String::new(),
            state: "received".into(),
            closure_type: None,
            due_at: None,
            category_id: None,
            lead_dept_name: None,
            area_id: 1,
            area_code: "1".into(),
            area_level: level.into(),
            area_path: "/1/".into(),
            center_lat: center.map(|c| c.0),
            center_lon: center.map(|c| c.1),
            lat: point.map(|p| p.0),
            lon: point.map(|p| p.1),
            channel: "api".into(),
        }
    }

    #[test]
    fn points_are_never_finer_than_a_grid() {
        let exact = (39.912_345_6, 116.401_234_5);
        assert_eq!(
            coarse_point(&row("grid", Some((39.91, 116.4)), Some(exact))),
            Some((39.91, 116.4))
        );
        let (lat, lon) = coarse_point(&row("community", Some((39.0, 116.0)), Some(exact))).unwrap();
        assert!((lat - exact.0).abs() <= CELL_DEG / 2.0 + 1e-9 && (lat, lon) != exact);
        // Two points in the same ~100 m cell come out the same.
        let near = coarse_point(&row("community", None, Some((39.9124, 116.4013)))).unwrap();
        assert_eq!(near, (lat, lon));
        assert_eq!(coarse_point(&row("community", None, None)), None);
    }

    #[test]
    fn voids_and_closures_map_to_extended_statuses() {
        let s = |state, closure, reason| status_of(state, closure, reason).as_str();
        assert_eq!(
            s(CaseState::Voided, None, "与2026112800001重复"),
            "DUPLICATE"
        );
        assert_eq!(
            s(CaseState::Voided, None, "不属于本市管辖"),
            "NOT_COUNCILS_RESPONSIBILITY"
        );
        assert_eq!(
            s(CaseState::Voided, None, "已转办供电公司"),
            "INTERNAL_REFERRAL"
        );
        assert_eq!(s(CaseState::Voided, None, "测试"), "CLOSED");
        assert_eq!(
            s(CaseState::Evaluated, Some(ClosureType::Normal), ""),
            "FIXED"
        );
        assert_eq!(
            s(CaseState::Closed, Some(ClosureType::Special), ""),
            "NO_FURTHER_ACTION"
        );
        assert_eq!(s(CaseState::Parked, None, ""), "ACTION_SCHEDULED");
        assert_eq!(
            UpdateStatus::parse("in progress"),
            Some(UpdateStatus::InProgress)
        );
        assert_eq!(UpdateStatus::parse("REOPEN"), Some(UpdateStatus::Open));
        assert_eq!(UpdateStatus::parse("nonsense"), None);
    }
}
