//! Notifications a workflow step leaves for departments and reporters.

use super::*;

pub(super) async fn notify(
    conn: &mut Conn,
    case_id: i64,
    dept_id: Option<i64>,
    kind: &str,
    message: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    if dept_id.is_none() {
        return Ok(());
    }
    cases::insert_notification(
        conn,
        &NotificationRow {
            id: 0,
            case_id,
            dept_id,
            user_id: None,
            kind: kind.to_owned(),
            message: message.to_owned(),
            created_at: at,
        },
    )
    .await?;
    Ok(())
}

/// What the reporters of a case hear about an action, if anything.
pub(super) fn reporter_message(action: &Action, case: &CaseRow) -> Option<(&'static str, String)> {
    let number = &case.number;
    Some(match action {
        Action::Dispatch { .. } => (
            "progress",
            format!("您反映的问题（案件 {number}）已派遣至责任部门办理"),
        ),
        Action::Close { .. } | Action::SelfResolve { .. } => (
            "closed",
            format!("您反映的问题（案件 {number}）已办结，欢迎评价"),
        ),
        Action::Void { reason } => ("voided", format!("案件 {number} 已作废：{reason}")),
        Action::Reopen { .. } => (
            "progress",
            format!("您反映的问题（案件 {number}）已重新办理"),
        ),
        _ => return None,
    })
}

/// Tells every resident who reported the case (first or as a repeat).
pub(super) async fn notify_reporters(
    conn: &mut Conn,
    case: &CaseRow,
    kind: &str,
    message: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut users: Vec<i64> = case.reporter_user_id.into_iter().collect();
    users.extend(parse_ids(&case.co_reporters));
    users.dedup();
    // "Was it fixed?" goes to everyone who reported or follows a closed case and has not answered.
    let answered = if kind == "closed" {
        crate::residents::followup::answered_users(conn, case.id).await?
    } else {
        Vec::new()
    };
    for user in users {
        if kind == "closed" && !answered.contains(&user) {
            let ask = format!(
                "案件 {} 已办结。问题真的解决了吗？请在“我的诉求”或案件公开页回答：已解决 / 未解决",
                case.number
            );
            crate::residents::notify_user(conn, user, "followup", case.id, &ask, at).await?;
        }
        crate::residents::notify_user(conn, user, kind, case.id, message, at).await?;
        // Only the first reporter rates; a closed case asks them to.
        if kind == "closed" && Some(user) == case.reporter_user_id {
            let ask = format!("请对案件 {} 的办理结果进行评价", case.number);
            crate::residents::notify_user(conn, user, "rate", case.id, &ask, at).await?;
        }
        cases::insert_notification(
            conn,
            &NotificationRow {
                id: 0,
                case_id: case.id,
                dept_id: None,
                user_id: Some(user),
                kind: kind.to_owned(),
                message: message.to_owned(),
                created_at: at,
            },
        )
        .await?;
    }
    Ok(())
}
