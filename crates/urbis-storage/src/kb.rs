//! One-stop answers (migration `0017_residents.sql`): the knowledge base of policy answers and
//! the consultations answered from it at intake (counted apart from cases).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result, StorageError};

/// A policy answer.
#[derive(Debug, Clone, FromRow)]
pub struct AnswerRow {
    pub id: i64,
    pub question: String,
    pub answer: String,
    pub dept_id: Option<i64>,
    pub keywords: String,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const ANSWER_COLUMNS: &str =
    "id, question, answer, dept_id, keywords, valid_from, valid_to, created_at";

/// Inserts an answer.
pub async fn insert_answer(conn: &mut Conn, row: &AnswerRow) -> Result<AnswerRow> {
    sql::query(format!(
        "INSERT INTO kb_answers (question, answer, dept_id, keywords, valid_from, valid_to, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {ANSWER_COLUMNS}"
    ))
    .bind(&row.question)
    .bind(&row.answer)
    .bind(row.dept_id)
    .bind(&row.keywords)
    .bind(row.valid_from)
    .bind(row.valid_to)
    .bind(row.created_at)
    .fetch_one(conn)
    .await
}

/// Returns the answers valid at `at` (the knowledge base is small: a city's policy answers).
pub async fn valid_answers(conn: &mut Conn, at: DateTime<Utc>) -> Result<Vec<AnswerRow>> {
    sql::query(format!(
        "SELECT {ANSWER_COLUMNS} FROM kb_answers
         WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) ORDER BY id LIMIT 5000"
    ))
    .bind(at)
    .bind(at)
    .fetch_all(conn)
    .await
}

/// Returns one answer.
pub async fn get_answer(conn: &mut Conn, id: i64) -> Result<AnswerRow> {
    sql::query(format!(
        "SELECT {ANSWER_COLUMNS} FROM kb_answers WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("answer"))
}

/// A consultation answered at intake.
#[derive(Debug, Clone, FromRow)]
pub struct ConsultationRow {
    pub id: i64,
    pub kb_id: Option<i64>,
    pub appeal_type: String,
    pub question: String,
    pub answer: String,
    pub channel: String,
    pub operator_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// Records a consultation.
pub async fn insert_consultation(
    conn: &mut Conn,
    row: &ConsultationRow,
) -> Result<ConsultationRow> {
    sql::query(
        "INSERT INTO consultations (kb_id, appeal_type, question, answer, channel, operator_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         RETURNING id, kb_id, appeal_type, question, answer, channel, operator_id, created_at",
    )
    .bind(row.kb_id)
    .bind(&row.appeal_type)
    .bind(&row.question)
    .bind(&row.answer)
    .bind(&row.channel)
    .bind(row.operator_id)
    .bind(row.created_at)
    .fetch_one(conn)
    .await
}

/// Counts consultations since `since`, per appeal type.
pub async fn count_consultations(
    conn: &mut Conn,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>> {
    sql::query(
        "SELECT appeal_type, CAST(COUNT(*) AS BIGINT) FROM consultations WHERE created_at >= ?
         GROUP BY appeal_type ORDER BY appeal_type",
    )
    .bind(since)
    .fetch_all(conn)
    .await
}
