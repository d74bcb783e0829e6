//! The demo city's data-sharing exchange: the platform's data officer, a data officer of
//! 青山区城管执法局 with one pending request for case records, and the first open-data release.

use urbis_domain::role::Role;
use urbis_service::Services;
use urbis_service::auth::NewUser;
use urbis_service::sharing::NewSharingRequest;

use super::DEMO_PASSWORD;

/// Adds the data officers, files a sample request and publishes the open datasets; returns a
/// line for the log.
pub(super) async fn seed(services: &Services) -> anyhow::Result<String> {
    let e = |err: urbis_service::ServiceError| anyhow::format_err!("{err}");
    let handler = services.actor_by_username("handler").await.map_err(e)?;
    for (username, display, dept) in [
        ("dataofficer", "平台数据专员", None),
        (
            "dataofficer-qs",
            "青山区城管数据专员",
            handler.dept_id.map(|d| d.0),
        ),
    ] {
        services
            .insert_user(&NewUser {
                username: username.into(),
                display_name: display.into(),
                password: DEMO_PASSWORD.into(),
                role: Role::DataOfficer,
                area_id: None,
                dept_id: dept,
            })
            .await
            .map_err(e)?;
    }
    let officer = services
        .actor_by_username("dataofficer-qs")
        .await
        .map_err(e)?;
    services
        .request_sharing(
            &officer,
            &NewSharingRequest {
                resource_code: "case_records".into(),
                purpose: "核对青山区诉求的办理情况并回访群众".into(),
                fields: ["number", "category_name", "state", "text", "reporter_phone"]
                    .map(String::from)
                    .to_vec(),
                area_id: handler.area_scope.as_ref().map(|s| s.area_id.0),
                period_days: 30,
            },
        )
        .await
        .map_err(e)?;
    let platform = services.actor_by_username("dataofficer").await.map_err(e)?;
    let generated = services
        .publish_open_data(Some(&platform), urbis_service::opendata::DEFAULT_K)
        .await
        .map_err(e)?;
    Ok(generated
        .iter()
        .map(|g| {
            format!(
                "{} v{}: {} rows, {} suppressed",
                g.dataset, g.version, g.rows, g.suppressed
            )
        })
        .collect::<Vec<_>>()
        .join("; "))
}
