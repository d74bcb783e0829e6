//! Community deliberation (协商议事, migration `0017_residents.sql`): proposals, one support per
//! resident, comments, and the outcome; opinion polls (征集意见) and their answers.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result, StorageError};

/// A proposal with its case's state when it was accepted.
#[derive(Debug, Clone, FromRow)]
pub struct ProposalRow {
    pub id: i64,
    pub community_id: i64,
    pub author_id: i64,
    pub title: String,
    pub body: String,
    pub state: String,
    pub supports: i64,
    pub threshold: i64,
    pub outcome_reason: Option<String>,
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
    pub case_state: Option<String>,
    pub created_at: DateTime<Utc>,
    pub agenda_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
}

const PROPOSAL_SELECT: &str = "SELECT p.id, p.community_id, p.author_id, p.title, p.body, p.state,
     p.supports, p.threshold, p.outcome_reason, p.case_id, c.number AS case_number,
     c.state AS case_state, p.created_at, p.agenda_at, p.decided_at
     FROM proposals p LEFT JOIN cases c ON c.id = p.case_id";

/// A proposal to insert.
#[derive(Debug, Clone)]
pub struct NewProposal<'a> {
    pub community_id: i64,
    pub author_id: i64,
    pub title: &'a str,
    pub body: &'a str,
    pub threshold: i64,
    pub at: DateTime<Utc>,
}

/// Inserts an open proposal and returns its id.
pub async fn insert_proposal(conn: &mut Conn, new: &NewProposal<'_>) -> Result<i64> {
    sql::query(
        "INSERT INTO proposals (community_id, author_id, title, body, state, supports, threshold, created_at)
         VALUES (?, ?, ?, ?, 'open', 0, ?, ?) RETURNING id",
    )
    .bind(new.community_id)
    .bind(new.author_id)
    .bind(new.title)
    .bind(new.body)
    .bind(new.threshold)
    .bind(new.at)
    .scalar(conn)
    .await
}

/// Returns one proposal.
pub async fn get_proposal(conn: &mut Conn, id: i64) -> Result<ProposalRow> {
    sql::query(format!("{PROPOSAL_SELECT} WHERE p.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("proposal"))
}

/// Lists proposals, newest first, of one community or of all.
pub async fn list_proposals(
    conn: &mut Conn,
    community_id: Option<i64>,
    limit: i64,
) -> Result<Vec<ProposalRow>> {
    sql::query(format!(
        "{PROPOSAL_SELECT} WHERE (? IS NULL OR p.community_id = ?) ORDER BY p.id DESC LIMIT ?"
    ))
    .bind(community_id)
    .bind(community_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Adds a support; returns false when this user already supported the proposal.
pub async fn add_support(
    conn: &mut Conn,
    proposal_id: i64,
    user_id: i64,
    at: DateTime<Utc>,
) -> Result<bool> {
    let n = sql::query(
        "INSERT INTO proposal_supports (proposal_id, user_id, created_at) VALUES (?, ?, ?)
         ON CONFLICT (proposal_id, user_id) DO NOTHING",
    )
    .bind(proposal_id)
    .bind(user_id)
    .bind(at)
    .execute(conn)
    .await?;
    if n == 0 {
        return Ok(false);
    }
    sql::query("UPDATE proposals SET supports = supports + 1 WHERE id = ?")
        .bind(proposal_id)
        .execute(conn)
        .await?;
    Ok(true)
}

/// Puts an open proposal on the agenda.
pub async fn put_on_agenda(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<()> {
    sql::query(
        "UPDATE proposals SET state = 'agenda', agenda_at = ? WHERE id = ? AND state = 'open'",
    )
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the outcome of a proposal on the agenda.
pub async fn decide(
    conn: &mut Conn,
    id: i64,
    state: &str,
    reason: &str,
    case_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<bool> {
    let n = sql::query(
        "UPDATE proposals SET state = ?, outcome_reason = ?, case_id = ?, decided_at = ?
         WHERE id = ? AND state = 'agenda'",
    )
    .bind(state)
    .bind(reason)
    .bind(case_id)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(n > 0)
}

/// A comment on a proposal.
#[derive(Debug, Clone, FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub proposal_id: i64,
    pub user_id: i64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Adds a comment.
pub async fn insert_comment(
    conn: &mut Conn,
    proposal_id: i64,
    user_id: i64,
    body: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    sql::query(
        "INSERT INTO proposal_comments (proposal_id, user_id, body, created_at) VALUES (?, ?, ?, ?)
         RETURNING id",
    )
    .bind(proposal_id)
    .bind(user_id)
    .bind(body)
    .bind(at)
    .scalar(conn)
    .await
}

/// Lists a proposal's comments, oldest first, with the author's display name.
pub async fn list_comments(conn: &mut Conn, proposal_id: i64) -> Result<Vec<CommentRow>> {
    sql::query(
        "SELECT m.id, m.proposal_id, m.user_id, u.display_name AS author, m.body, m.created_at
         FROM proposal_comments m JOIN users u ON u.id = m.user_id
         WHERE m.proposal_id = ? ORDER BY m.id LIMIT 500",
    )
    .bind(proposal_id)
    .fetch_all(conn)
    .await
}

/// An opinion poll; `options` holds one option per line.
#[derive(Debug, Clone, FromRow)]
pub struct PollRow {
    pub id: i64,
    pub area_id: Option<i64>,
    pub title: String,
    pub question: String,
    pub options: String,
    pub allow_text: bool,
    pub min_cell: i64,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const POLL_COLUMNS: &str = "id, area_id, title, question, options, allow_text, min_cell, opens_at, \
     closes_at, created_by, created_at";

/// Inserts a poll and returns it.
pub async fn insert_poll(conn: &mut Conn, poll: &PollRow) -> Result<PollRow> {
    sql::query(format!(
        "INSERT INTO opinion_polls (area_id, title, question, options, allow_text, min_cell, opens_at,
             closes_at, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {POLL_COLUMNS}"
    ))
    .bind(poll.area_id)
    .bind(&poll.title)
    .bind(&poll.question)
    .bind(&poll.options)
    .bind(poll.allow_text)
    .bind(poll.min_cell)
    .bind(poll.opens_at)
    .bind(poll.closes_at)
    .bind(poll.created_by)
    .bind(poll.created_at)
    .fetch_one(conn)
    .await
}

/// Returns one poll.
pub async fn get_poll(conn: &mut Conn, id: i64) -> Result<PollRow> {
    sql::query(format!(
        "SELECT {POLL_COLUMNS} FROM opinion_polls WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("poll"))
}

/// Lists polls, newest first.
pub async fn list_polls(conn: &mut Conn, limit: i64) -> Result<Vec<PollRow>> {
    sql::query(format!(
        "SELECT {POLL_COLUMNS} FROM opinion_polls ORDER BY id DESC LIMIT ?"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Records one answer; returns false when this user already answered.
pub async fn insert_answer(
    conn: &mut Conn,
    poll_id: i64,
    user_id: i64,
    option_idx: Option<i64>,
    text: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let n = sql::query(
        "INSERT INTO opinion_answers (poll_id, user_id, option_idx, text, created_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (poll_id, user_id) DO NOTHING",
    )
    .bind(poll_id)
    .bind(user_id)
    .bind(option_idx)
    .bind(text)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(n > 0)
}

/// Counts a poll's answers per option (`None`: free text only) and returns (option, count).
pub async fn count_answers(conn: &mut Conn, poll_id: i64) -> Result<Vec<(Option<i64>, i64)>> {
    sql::query(
        "SELECT option_idx, CAST(COUNT(*) AS BIGINT) FROM opinion_answers WHERE poll_id = ?
         GROUP BY option_idx ORDER BY option_idx",
    )
    .bind(poll_id)
    .fetch_all(conn)
    .await
}
