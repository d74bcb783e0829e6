//! One-stop answers (一次性答复): the knowledge base of policy answers, searched while the
//! operator types, and consultations (咨询) answered from it at intake — recorded and closed at
//! once with the answer, in their own table, so they are counted apart from cases.

use chrono::{DateTime, Utc};
use urbis_domain::appeal::AppealType;
use urbis_domain::role::{Actor, Role};
use urbis_storage::kb::{self, AnswerRow, ConsultationRow};

use crate::{Result, ServiceError, Services};

/// An answer to store.
#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub question: String,
    pub answer: String,
    pub dept_id: Option<i64>,
    pub keywords: Vec<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
}

/// A consultation to record.
#[derive(Debug, Clone)]
pub struct NewConsultation {
    pub kb_id: Option<i64>,
    pub appeal_type: String,
    pub question: String,
    pub answer: Option<String>,
    pub channel: String,
}

/// Returns how well an answer matches typed text: each keyword found counts 3, each character
/// pair of the question found counts 1.
pub fn match_score(answer: &AnswerRow, text: &str) -> u32 {
    let mut score = 0u32;
    for keyword in answer.keywords.split(',').map(str::trim) {
        if !keyword.is_empty() && text.contains(keyword) {
            score += 3;
        }
    }
    let chars: Vec<char> = answer.question.chars().collect();
    let mut seen = std::collections::HashSet::new();
    for pair in chars.windows(2) {
        if pair
            .iter()
            .all(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
            && seen.insert((pair[0], pair[1]))
        {
            let needle: String = pair.iter().collect();
            if text.contains(&needle) {
                score += 1;
            }
        }
    }
    score
}

fn bounded(field: &'static str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(ServiceError::invalid(
            "invalid_field",
            format!("{field}: 1–{max} characters"),
        ));
    }
    Ok(text.to_owned())
}

const ANSWER_ROLES: &[Role] = &[Role::Operator, Role::ShiftLead, Role::Admin];
const COUNT_ROLES: &[Role] = &[Role::Operator, Role::ShiftLead, Role::Admin, Role::Leader];

impl Services {
    /// Adds a policy answer (admins).
    pub async fn add_answer(&self, actor: &Actor, new: &NewAnswer) -> Result<AnswerRow> {
        crate::auth::require_role(actor, &[Role::Admin])?;
        let question = bounded("question", &new.question, 200)?;
        let answer = bounded("answer", &new.answer, 4000)?;
        if new.keywords.len() > 20 || new.keywords.iter().any(|k| k.chars().count() > 20) {
            return Err(ServiceError::invalid(
                "invalid_field",
                "keywords: at most 20 of at most 20 characters",
            ));
        }
        let keywords = new
            .keywords
            .iter()
            .map(|k| k.trim().replace(',', ""))
            .filter(|k| !k.is_empty())
            .collect::<Vec<_>>()
            .join(",");
        let now = self.now();
        let valid_from = new.valid_from.unwrap_or(now);
        if new.valid_to.is_some_and(|to| to <= valid_from) {
            return Err(ServiceError::invalid(
                "invalid_field",
                "valid_to: after valid_from",
            ));
        }
        let mut tx = self.db().begin_write().await?;
        if let Some(dept) = new.dept_id {
            urbis_storage::reference::get_dept(&mut tx, dept).await?;
        }
        let row = kb::insert_answer(
            &mut tx,
            &AnswerRow {
                id: 0,
                question,
                answer,
                dept_id: new.dept_id,
                keywords,
                valid_from,
                valid_to: new.valid_to,
                created_at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "kb_answer_added",
            "kb_answer",
            row.id,
            "",
            "",
            &serde_json::json!({ "question": row.question }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Searches the answers valid now for typed text, best first (operators, shift leads, admins).
    pub async fn search_answers(
        &self,
        actor: &Actor,
        text: &str,
        limit: usize,
    ) -> Result<Vec<(AnswerRow, u32)>> {
        crate::auth::require_role(actor, ANSWER_ROLES)?;
        if text.chars().count() > 500 {
            return Err(ServiceError::invalid(
                "invalid_field",
                "q: at most 500 characters",
            ));
        }
        let mut conn = self.db().read().await?;
        let answers = kb::valid_answers(&mut conn, self.now()).await?;
        let mut scored: Vec<(AnswerRow, u32)> = answers
            .into_iter()
            .map(|a| {
                let score = match_score(&a, text);
                (a, score)
            })
            .filter(|(_, score)| *score > 0)
            .collect();
        scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
        scored.truncate(limit.clamp(1, 20));
        Ok(scored)
    }

    /// Records a consultation answered at intake and closes it with the answer (the knowledge
    /// base's, when `kb_id` is given and still valid, else the operator's own words).
    pub async fn record_consultation(
        &self,
        actor: &Actor,
        new: &NewConsultation,
    ) -> Result<ConsultationRow> {
        crate::auth::require_role(actor, ANSWER_ROLES)?;
        let Some(appeal_type) = AppealType::parse(&new.appeal_type) else {
            return Err(ServiceError::invalid(
                "invalid_appeal_type",
                "appeal_type: enquiry, suggestion, complaint, help or report (咨询/建议/投诉/求助/举报)",
            ));
        };
        if !matches!(appeal_type, AppealType::Enquiry | AppealType::Suggestion) {
            return Err(ServiceError::invalid(
                "needs_case",
                "only 咨询 and 建议 close at intake; file the others as appeals",
            ));
        }
        let question = bounded("question", &new.question, 2000)?;
        if urbis_domain::appeal::Channel::parse(&new.channel).is_none() {
            return Err(ServiceError::invalid("invalid_channel", "unknown channel"));
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let answer = match (new.kb_id, &new.answer) {
            (Some(id), _) => {
                let row = kb::get_answer(&mut tx, id).await?;
                if row.valid_from > now || row.valid_to.is_some_and(|to| to <= now) {
                    return Err(ServiceError::invalid(
                        "answer_not_valid",
                        "that answer is not in force",
                    ));
                }
                row.answer
            }
            (None, Some(text)) => bounded("answer", text, 4000)?,
            (None, None) => {
                return Err(ServiceError::invalid(
                    "invalid_field",
                    "answer: give kb_id or the answer",
                ));
            }
        };
        let row = kb::insert_consultation(
            &mut tx,
            &ConsultationRow {
                id: 0,
                kb_id: new.kb_id,
                appeal_type: appeal_type.as_str().to_owned(),
                question,
                answer,
                channel: new.channel.clone(),
                operator_id: Some(actor.user_id.0),
                created_at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "consultation_answered",
            "consultation",
            row.id,
            "",
            "closed",
            &serde_json::json!({ "kb_id": row.kb_id, "appeal_type": row.appeal_type }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Counts consultations answered at intake since `since`, per appeal type.
    pub async fn consultation_counts(
        &self,
        actor: &Actor,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>> {
        crate::auth::require_role(actor, COUNT_ROLES)?;
        let mut conn = self.db().read().await?;
        Ok(kb::count_consultations(&mut conn, since).await?)
    }

    /// Counts appeals since `since` per appeal type: cases (filed with a type) and consultations
    /// closed at intake, apart; every type is listed.
    pub async fn appeal_type_counts(
        &self,
        actor: &Actor,
        since: DateTime<Utc>,
    ) -> Result<Vec<(AppealType, i64, i64)>> {
        crate::auth::require_role(actor, COUNT_ROLES)?;
        let mut conn = self.db().read().await?;
        let cases = urbis_storage::residents::count_case_types(&mut conn, since).await?;
        let consultations = kb::count_consultations(&mut conn, since).await?;
        let count = |rows: &[(String, i64)], kind: AppealType| {
            rows.iter()
                .find(|(name, _)| name == kind.as_str())
                .map_or(0, |(_, n)| *n)
        };
        Ok(AppealType::ALL
            .into_iter()
            .map(|kind| (kind, count(&cases, kind), count(&consultations, kind)))
            .collect())
    }
}
