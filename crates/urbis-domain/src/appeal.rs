//! Appeals (诉求) as they arrive from a channel, and the bounds every input must respect.

use crate::ids::{AreaId, CategoryId};

/// Where an appeal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The citizen portal or app.
    Web,
    /// The 12345 hotline, recorded by an operator.
    Hotline,
    /// A grid supervisor's own report.
    Grid,
    /// Another system through the API (including Open311 clients).
    Api,
    /// An IoT alarm confirmed into an appeal.
    Sensor,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [
        Channel::Web,
        Channel::Hotline,
        Channel::Grid,
        Channel::Api,
        Channel::Sensor,
    ];

    /// Returns the stable storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Hotline => "hotline",
            Channel::Grid => "grid",
            Channel::Api => "api",
            Channel::Sensor => "sensor",
        }
    }

    /// Parses the name written by [`Channel::as_str`].
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|channel| channel.as_str() == s)
    }
}

/// Hard bounds on appeal input; anything larger is refused, never truncated silently.
pub mod limits {
    pub const TITLE_MAX_CHARS: usize = 200;
    pub const TEXT_MAX_CHARS: usize = 5_000;
    pub const NAME_MAX_CHARS: usize = 50;
    pub const PHONE_MAX_CHARS: usize = 30;
    pub const ADDRESS_MAX_CHARS: usize = 300;
    pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 128;
    pub const NOTE_MAX_CHARS: usize = 2_000;
    pub const PHOTOS_MAX: usize = 9;
    pub const PHOTO_URL_MAX_CHARS: usize = 500;
}

/// What a resident wants (诉求类型), told apart at intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealType {
    /// 投诉: something is wrong and someone is responsible.
    Complaint,
    /// 求助: the caller needs help.
    Help,
    /// 咨询: a question (often answered at once from the knowledge base).
    Enquiry,
    /// 建议: a suggestion.
    Suggestion,
    /// 举报: a report of wrongdoing.
    Report,
}

impl AppealType {
    /// Every type.
    pub const ALL: [AppealType; 5] = [
        AppealType::Complaint,
        AppealType::Help,
        AppealType::Enquiry,
        AppealType::Suggestion,
        AppealType::Report,
    ];

    /// Returns the stable storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppealType::Complaint => "complaint",
            AppealType::Help => "help",
            AppealType::Enquiry => "enquiry",
            AppealType::Suggestion => "suggestion",
            AppealType::Report => "report",
        }
    }

    /// Returns the Chinese name.
    pub fn title_zh(self) -> &'static str {
        match self {
            AppealType::Complaint => "投诉",
            AppealType::Help => "求助",
            AppealType::Enquiry => "咨询",
            AppealType::Suggestion => "建议",
            AppealType::Report => "举报",
        }
    }

    /// Parses the wire name or the Chinese name.
    pub fn parse(s: &str) -> Option<AppealType> {
        AppealType::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.title_zh() == s)
    }
}

/// A validated appeal, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAppeal {
    pub channel: Channel,
    pub title: String,
    pub text: String,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub address: String,
    pub location: Option<(f64, f64)>,
    pub category_id: Option<CategoryId>,
    pub area_id: Option<AreaId>,
    pub urgent: bool,
    pub appeal_type: Option<AppealType>,
}

/// Raw appeal fields before validation.
#[derive(Debug, Clone, Default)]
pub struct AppealInput {
    pub channel: Option<String>,
    pub title: Option<String>,
    pub text: String,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub category_id: Option<i64>,
    pub area_id: Option<i64>,
    pub urgent: Option<bool>,
    /// 投诉/求助/咨询/建议/举报, by wire or Chinese name.
    pub appeal_type: Option<String>,
}

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidField {
    pub field: &'static str,
    pub problem: String,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> InvalidField {
    InvalidField {
        field,
        problem: problem.into(),
    }
}

/// Trims a text field and checks its length in characters.
pub fn bounded_text(
    field: &'static str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<String, InvalidField> {
    let text = value.unwrap_or("").trim();
    if text.chars().count() > max_chars {
        return Err(invalid(
            field,
            format!("longer than {max_chars} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(text.to_owned())
}

impl AppealInput {
    /// Validates every field; `default_channel` applies when the input names none.
    pub fn validate(&self, default_channel: Channel) -> Result<NewAppeal, InvalidField> {
        let channel = match self.channel.as_deref() {
            None | Some("") => default_channel,
            Some(name) => Channel::parse(name)
                .ok_or_else(|| invalid("channel", format!("unknown channel {name:?}")))?,
        };
        let text = bounded_text("text", Some(&self.text), limits::TEXT_MAX_CHARS)?;
        if text.is_empty() {
            return Err(invalid("text", "must not be empty"));
        }
        let title = bounded_text("title", self.title.as_deref(), limits::TITLE_MAX_CHARS)?;
        let reporter_name = bounded_text(
            "reporter_name",
            self.reporter_name.as_deref(),
            limits::NAME_MAX_CHARS,
        )?;
        let reporter_phone = bounded_text(
            "reporter_phone",
            self.reporter_phone.as_deref(),
            limits::PHONE_MAX_CHARS,
        )?;
        if !reporter_phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
        {
            return Err(invalid("reporter_phone", "only digits, +, - and spaces"));
        }
        let address = bounded_text(
            "address",
            self.address.as_deref(),
            limits::ADDRESS_MAX_CHARS,
        )?;
        let location = match (self.lat, self.lon) {
            (None, None) => None,
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) || !lat.is_finite() {
                    return Err(invalid("lat", "must be between -90 and 90"));
                }
                if !(-180.0..=180.0).contains(&lon) || !lon.is_finite() {
                    return Err(invalid("lon", "must be between -180 and 180"));
                }
                Some((lat, lon))
            }
            _ => return Err(invalid("lat", "lat and lon go together")),
        };
        let appeal_type = match self.appeal_type.as_deref() {
            None | Some("") => None,
            Some(name) => Some(AppealType::parse(name).ok_or_else(|| {
                invalid(
                    "appeal_type",
                    "one of complaint, help, enquiry, suggestion, report (投诉/求助/咨询/建议/举报)",
                )
            })?),
        };
        Ok(NewAppeal {
            appeal_type,
            channel,
            title,
            text,
            reporter_name,
            reporter_phone,
            address,
            location,
            category_id: self.category_id.map(CategoryId),
            area_id: self.area_id.map(AreaId),
            urgent: self.urgent.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appeal_types_parse_by_wire_or_chinese_name() {
        for kind in AppealType::ALL {
            assert_eq!(AppealType::parse(kind.as_str()), Some(kind));
            assert_eq!(AppealType::parse(kind.title_zh()), Some(kind));
        }
        assert_eq!(AppealType::parse("闲聊"), None);
        let input = AppealInput {
            text: "路灯不亮".into(),
            appeal_type: Some("闲聊".into()),
            ..AppealInput::default()
        };
        assert_eq!(
            input.validate(Channel::Web).map_err(|e| e.field),
            Err("appeal_type")
        );
        let input = AppealInput {
            appeal_type: Some("咨询".into()),
            ..input
        };
        assert_eq!(
            input.validate(Channel::Web).map(|a| a.appeal_type),
            Ok(Some(AppealType::Enquiry))
        );
    }
}
