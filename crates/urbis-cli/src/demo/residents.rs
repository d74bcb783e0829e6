//! The demo city's one-stop answers (a few policy answers for the hotline's knowledge base,
//! written for the demo; no real policy text) and one open opinion poll.

use urbis_service::Services;
use urbis_service::residents::answers::NewAnswer;
use urbis_service::residents::polls::NewPoll;

/// Adds the sample policy answers; returns a line for the log.
pub(super) async fn seed(services: &Services) -> anyhow::Result<String> {
    let e = |err: urbis_service::ServiceError| anyhow::format_err!("{err}");
    let admin = services.actor_by_username("admin").await.map_err(e)?;
    let answers: [(&str, &str, &[&str]); 5] = [
        (
            "居住证怎么办理？",
            "携带身份证、租赁合同或住所证明，到居住地社区服务站申请；材料齐全的，15 个工作日内领证。",
            &["居住证", "办理", "材料"],
        ),
        (
            "生活垃圾分几类、什么时间投放？",
            "分为可回收物、有害垃圾、厨余垃圾和其他垃圾四类；小区定时投放时间一般为早 7:00–9:00、晚 18:00–20:00，以小区公示为准。",
            &["垃圾分类", "投放", "垃圾"],
        ),
        (
            "路边临时停车怎么收费？",
            "道路临时泊位白天首小时 5 元，之后每半小时 2 元；夜间 20:00 至次日 7:00 每次 5 元。残疾人专用车免费。",
            &["停车", "收费", "泊位"],
        ),
        (
            "房屋装修噪音有时间限制吗？",
            "住宅装修施工时间为工作日 8:00–12:00、14:00–18:00，节假日不得进行产生噪声的施工。违反的可向街道综合执法队反映。",
            &["装修", "噪音", "施工时间"],
        ),
        (
            "老年人乘公交车有优惠吗？",
            "年满 65 周岁的常住居民可凭身份证到公交卡服务网点办理敬老卡，免费乘坐市内公交。",
            &["老年人", "公交", "敬老卡"],
        ),
    ];
    for (question, answer, keywords) in answers {
        services
            .add_answer(
                &admin,
                &NewAnswer {
                    question: question.into(),
                    answer: answer.into(),
                    dept_id: None,
                    keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
                    valid_from: None,
                    valid_to: None,
                },
            )
            .await
            .map_err(e)?;
    }
    services
        .create_poll(
            &admin,
            &NewPoll {
                area_id: None,
                title: "滨河公园改造征集意见".into(),
                question: "滨河公园明年改造，您最希望增加哪项设施？".into(),
                options: vec![
                    "夜间照明的健身步道".into(),
                    "儿童游乐场".into(),
                    "公共厕所".into(),
                ],
                allow_text: true,
                min_cell: Some(5),
                opens_at: None,
                closes_at: services.now() + chrono::Duration::days(14),
            },
        )
        .await
        .map_err(e)?;
    Ok(format!("{} policy answers, one open poll", answers.len()))
}
