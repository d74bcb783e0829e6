//! Training examples that people's corrections and returns leave for the next `urbis train`.

use super::*;

async fn category_code(conn: &mut Conn, id: Option<i64>) -> Result<String> {
    let Some(id) = id else {
        return Ok(String::new());
    };
    Ok(urbis_storage::lookups::category_code(&mut *conn, id)
        .await?
        .unwrap_or_default())
}

/// Keeps a person's category correction as a training example; the previous label is what the
/// case had, or else the classifier's suggestion.
pub(super) async fn keep_correction_example(
    conn: &mut Conn,
    before: &CaseRow,
    category_id: i64,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let label = category_code(conn, Some(category_id)).await?;
    let previous = category_code(conn, before.category_id.or(before.suggested_category_id)).await?;
    cases::insert_training_example(
        conn,
        &cases::TrainingExample {
            id: 0,
            case_id: before.id,
            source: "correction".into(),
            text: format!("{} {}", before.title, before.text),
            label,
            previous,
            note: String::new(),
            actor_id: Some(actor.user_id.0),
            created_at: at,
        },
    )
    .await?;
    Ok(())
}

/// Keeps a department's return of a wrong dispatch: the case's category, the department that
/// returned it, and its reason.
pub(super) async fn keep_return_example(
    conn: &mut Conn,
    before: &CaseRow,
    actor: &Actor,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let label = category_code(conn, before.category_id).await?;
    let previous = match before.lead_dept_id {
        Some(dept) => reference::get_dept(conn, dept).await?.code,
        None => String::new(),
    };
    cases::insert_training_example(
        conn,
        &cases::TrainingExample {
            id: 0,
            case_id: before.id,
            source: "return".into(),
            text: format!("{} {}", before.title, before.text),
            label,
            previous,
            note: reason.to_owned(),
            actor_id: Some(actor.user_id.0),
            created_at: at,
        },
    )
    .await?;
    Ok(())
}
