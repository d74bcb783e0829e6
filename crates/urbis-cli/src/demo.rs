//! `urbis demo`: a fresh sample city — districts, streets, communities and grids, about twenty
//! departments, a taxonomy with time limits, a responsibility list, one user per role, and a few
//! hundred cases over recent weeks in every state, replayed through the real services in time
//! order — then serves it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use urbis_domain::appeal::AppealInput;
use urbis_domain::ids::DeptId;
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::{Action, Satisfaction};
use urbis_service::auth::NewUser;
use urbis_service::reference::TaxonomyPath;
use urbis_service::rows::{CalendarDayRow, RuleRow};
use urbis_service::store::{Durability, Location};
use urbis_service::{Clock, ServiceConfig, Services};

mod map;
mod sharing;

/// Options of `urbis demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// The demo store, replaced if it exists: a SQLite file, or a PostgreSQL database URL
    /// (`postgres://postgres@127.0.0.1/urbis_demo`; the database is dropped and made anew).
    #[arg(long, default_value = "urbis-demo.sqlite")]
    pub db: Location,
    /// Address to listen on.
    #[arg(long, env = "URBIS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL, used in Open311 discovery and media URLs; defaults to http://LISTEN.
    #[arg(long, env = "URBIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Number of sample cases.
    #[arg(long, default_value_t = 400)]
    pub cases: usize,
    /// Days of history the cases spread over.
    #[arg(long, default_value_t = 42)]
    pub days: i64,
    /// Seed the database and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "urbis-demo-2026";

const DISTRICTS: [(&str, &str); 4] = [
    ("01", "青山区"),
    ("02", "清河区"),
    ("03", "东湖区"),
    ("04", "西岭区"),
];
const STREETS: [&str; 3] = ["中心街道", "新华街道", "滨江街道"];
const COMMUNITIES: [&str; 2] = ["阳光社区", "幸福社区"];

/// (level-1 name, [(level-2 name, lead dept code, supporting dept codes, district-level?)], clock, amount)
type CategorySpec = (
    &'static str,
    &'static [(&'static str, &'static str, &'static [&'static str], bool)],
    &'static str,
    i64,
);

/// Severity (0–1) of the categories that differ from the default 0.5.
const SEVERITY: [(&str, f64); 10] = [
    ("井盖缺损", 0.95),
    ("树木倒伏", 0.85),
    ("交通信号设施", 0.8),
    ("供水问题", 0.75),
    ("供暖问题", 0.75),
    ("路面破损", 0.7),
    ("施工扬尘", 0.6),
    ("违规广告", 0.25),
    ("共享单车乱停放", 0.3),
    ("违章停车", 0.35),
];

const TAXONOMY: [CategorySpec; 8] = [
    (
        "市容环境",
        &[
            ("暴露垃圾", "HJWS", &[], false),
            ("乱堆物料", "CGZF", &[], true),
            ("违规广告", "CGZF", &[], true),
            ("道路不洁", "HJWS", &[], false),
        ],
        "working_day",
        2,
    ),
    (
        "道路交通",
        &[
            ("路面破损", "SZGL", &["JTW"], false),
            ("违章停车", "JGJ", &[], false),
            ("交通信号设施", "JGJ", &["JTW"], false),
            ("共享单车乱停放", "JTW", &["CGW"], false),
        ],
        "working_day",
        3,
    ),
    (
        "公用设施",
        &[
            ("井盖缺损", "SZGL", &["SWJ"], false),
            ("路灯故障", "LDGL", &[], false),
            ("供水问题", "SWJ", &[], false),
            ("供暖问题", "GRB", &[], false),
        ],
        "working_hour",
        8,
    ),
    (
        "园林绿化",
        &[
            ("树木倒伏", "YLJ", &[], false),
            ("绿地破坏", "YLJ", &["CGW"], false),
        ],
        "working_day",
        3,
    ),
    (
        "施工管理",
        &[
            ("施工扰民", "ZJW", &["STHJ"], false),
            ("施工扬尘", "STHJ", &["ZJW"], false),
            ("占道施工", "SZGL", &["JGJ"], false),
        ],
        "working_day",
        2,
    ),
    (
        "街面秩序",
        &[
            ("占道经营", "CGZF", &[], true),
            ("无照经营", "SCJG", &[], false),
            ("噪声扰民", "STHJ", &["CGW"], false),
        ],
        "working_hour",
        6,
    ),
    (
        "社会保障",
        &[
            ("工资拖欠", "RSJ", &[], false),
            ("社保医保", "YBJ", &["RSJ"], false),
        ],
        "working_day",
        10,
    ),
    (
        "教育卫生",
        &[
            ("学校教育", "JYW", &[], false),
            ("医疗卫生", "WJW", &[], false),
        ],
        "working_day",
        5,
    ),
];

const CITY_DEPTS: [(&str, &str); 16] = [
    ("CGW", "市城市管理委员会"),
    ("HJWS", "市环境卫生服务中心"),
    ("SZGL", "市市政设施管理处"),
    ("JTW", "市交通委员会"),
    ("JGJ", "市公安局交通管理局"),
    ("SWJ", "市水务局"),
    ("LDGL", "市路灯管理所"),
    ("GRB", "市供热管理办公室"),
    ("YLJ", "市园林绿化局"),
    ("ZJW", "市住房和城乡建设委员会"),
    ("STHJ", "市生态环境局"),
    ("SCJG", "市市场监督管理局"),
    ("RSJ", "市人力资源和社会保障局"),
    ("YBJ", "市医疗保障局"),
    ("JYW", "市教育委员会"),
    ("WJW", "市卫生健康委员会"),
];

/// Sample appeal texts per level-2 category (our own wording).
fn sample_texts(category: &str) -> &'static [&'static str] {
    match category {
        "暴露垃圾" => &[
            "{place}路边垃圾桶满了好几天没人清运，味道很大，请尽快处理。",
            "{place}小区门口有一堆生活垃圾堆在路边，招了很多苍蝇。",
        ],
        "乱堆物料" => &[
            "{place}人行道上堆了大量建筑材料，行人只能走机动车道，很危险。",
            "有人在{place}楼道外长期堆放杂物，影响通行和消防安全。",
        ],
        "违规广告" => &[
            "{place}电线杆和墙上贴满了小广告，屡清屡贴，请管一管。",
            "{place}商铺门前私自立了大型广告牌，挡住了盲道。",
        ],
        "道路不洁" => &[
            "{place}路面上全是泥土和油污，下雨后非常滑。",
            "{place}这段路好几天没有清扫了，落叶和垃圾很多。",
        ],
        "路面破损" => &[
            "{place}路面出现一个大坑，已经有电动车摔倒了，请尽快修补。",
            "{place}人行道砖块松动翘起，老人走路容易绊倒。",
        ],
        "违章停车" => &[
            "{place}每天都有车辆停在消防通道上，出了事消防车进不来。",
            "{place}路口长期有车辆违停，早晚高峰堵得厉害。",
        ],
        "交通信号设施" => &[
            "{place}路口红绿灯坏了两天了，车辆行人乱成一团，非常危险。",
            "{place}的交通标志牌被撞倒在地上，一直没人扶起来。",
        ],
        "共享单车乱停放" => &[
            "{place}地铁站口共享单车堆成山，把盲道和出口都堵住了。",
            "{place}门口共享单车乱停乱放，行人无法通过。",
        ],
        "井盖缺损" => &[
            "{place}路上有个井盖不见了，晚上看不清，很容易掉下去，紧急！",
            "{place}井盖破裂塌陷，车辆经过时响声很大，担心出事故。",
        ],
        "路灯故障" => &[
            "{place}一整排路灯晚上都不亮，居民夜里出行很不安全。",
            "{place}路灯白天一直亮着，晚上反而时亮时灭。",
        ],
        "供水问题" => &[
            "{place}从昨天开始停水，也没有任何通知，家里有老人孩子很不方便。",
            "{place}自来水发黄有异味，不敢饮用，请检测水质。",
        ],
        "供暖问题" => &[
            "{place}暖气一直不热，室内温度只有十几度，家里老人受不了。",
            "{place}供暖管道漏水，楼道里都是水，请尽快维修。",
        ],
        "树木倒伏" => &[
            "{place}昨晚大风把一棵大树刮倒了，压在人行道上，无法通行。",
            "{place}有棵行道树歪得很厉害，随时可能倒下砸到人。",
        ],
        "绿地破坏" => &[
            "{place}的绿地被人圈起来种菜了，破坏了公共绿化。",
            "有车辆长期停在{place}的草坪上，草都被压死了。",
        ],
        "施工扰民" => &[
            "{place}工地每天夜里十二点以后还在施工，噪音太大根本睡不着。",
            "{place}施工单位凌晨运输渣土，声音很大，严重扰民。",
        ],
        "施工扬尘" => &[
            "{place}工地没有任何覆盖，刮风时尘土飞扬，周边居民不敢开窗。",
            "{place}渣土车不密闭，一路撒土，道路上全是灰。",
        ],
        "占道施工" => &[
            "{place}施工围挡占了一半车道，也没有任何提示，很容易出事故。",
            "{place}挖开的路面施工结束后一直没有恢复。",
        ],
        "占道经营" => &[
            "{place}每天晚上都有很多摊贩占道经营，油烟大，道路堵塞。",
            "{place}门口水果摊把货摆到人行道上，行人只能绕行。",
        ],
        "无照经营" => &[
            "{place}有一家没有营业执照的小作坊，卫生条件很差。",
            "{place}有人无证经营黑诊所，存在安全隐患。",
        ],
        "噪声扰民" => &[
            "{place}楼下的商铺每天用大喇叭促销，噪音很大。",
            "{place}广场舞音响声音太大，一直到晚上十点多，影响休息。",
        ],
        "工资拖欠" => &[
            "我在{place}附近的工地干活，老板拖欠了三个月工资，一直不给。",
            "{place}一家公司拖欠员工工资，多次讨要无果，希望劳动监察介入。",
        ],
        "社保医保" => &[
            "我在{place}办理医保转移一直办不下来，来回跑了好几趟。",
            "单位没有给我缴纳社保，在{place}社保窗口咨询也没有结果。",
        ],
        "学校教育" => &[
            "{place}附近小学门口上下学时段没人维持秩序，孩子过马路很危险。",
            "{place}的幼儿园乱收费，家长意见很大。",
        ],
        "医疗卫生" => &[
            "{place}社区卫生服务站经常没有医生值班，老人看病不方便。",
            "{place}附近的药店卖过期药品，请相关部门检查。",
        ],
        _ => &["{place}有问题需要处理。"],
    }
}

const PLACES: [&str; 10] = [
    "幸福路",
    "阳光小区",
    "建设大街",
    "人民公园",
    "滨江路",
    "新华书店",
    "光明菜市场",
    "东湖花园",
    "青山路口",
    "南门地铁站",
];

/// Runs the demo: seed, then serve.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    match &args.db {
        Location::Sqlite(file) => {
            for suffix in ["", "-wal", "-shm"] {
                let path = PathBuf::from(format!("{}{suffix}", file.display()));
                if path.exists() {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("failed to remove {}", path.display()))?;
                }
            }
        }
        // A fresh city on PostgreSQL: the named database is dropped and made anew.
        Location::Postgres(url) => urbis_service::store::recreate_database(url)
            .await
            .map_err(|err| anyhow::format_err!("cannot prepare {}: {err}", args.db))?,
    }
    let started = std::time::Instant::now();
    // Seeding runs with relaxed commits: it is a bulk load that is simply redone on failure.
    let db = crate::serve::open_db(&args.db, Durability::Relaxed).await?;
    let now = Utc::now();
    let clock = Clock::manual(now - Duration::days(args.days + 1));
    let services = Services::start_with_clock(db, ServiceConfig::default(), clock.clone())
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let city = seed_city(&services).await?;
    let n_events = seed_cases(&services, &city, &clock, now, args.cases, args.days).await?;
    clock.set(now);
    services
        .sla_tick(now)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let opened = sharing::seed(&services).await?;
    eprintln!("open data: {opened}");
    services.db().close().await;
    eprintln!(
        "seeded {} cases ({} workflow steps) in {:.1}s",
        args.cases,
        n_events,
        started.elapsed().as_secs_f64()
    );
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    let db = crate::serve::open_db(&args.db, Durability::Full).await?;
    let config = ServiceConfig {
        public_url: crate::serve::public_url(args.public_url.as_deref(), args.listen)?,
        ..ServiceConfig::default()
    };
    let services = Services::start(db, config)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    // The demo ships a classifier trained on the project's own sample messages.
    services
        .set_classifier(urbis_text::demo::demo_model())
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let mut banner =
        String::from("\n城治 Urbis demo city 示范市 is ready.\nAccounts (password for all: ");
    banner.push_str(DEMO_PASSWORD);
    banner.push_str("):\n");
    for (username, role, note) in [
        ("admin", "admin 系统管理员", ""),
        ("operator", "operator 受理员", ""),
        ("shiftlead", "shift_lead 值班长", ""),
        ("dispatcher", "dispatcher 派遣员", ""),
        (
            "handler",
            "dept_handler 部门处置人员",
            " (青山区城管执法局, 青山区 only)",
        ),
        (
            "handler-city",
            "dept_handler 部门处置人员",
            " (市市政设施管理处)",
        ),
        ("supervisor", "grid_supervisor 监督员", " (青山区)"),
        ("leader", "leader 领导", ""),
        ("resident", "resident 市民", ""),
        (
            "dataofficer",
            "data_officer 数据专员",
            " (城市运行管理平台)",
        ),
        (
            "dataofficer-qs",
            "data_officer 数据专员",
            " (青山区城管执法局)",
        ),
    ] {
        banner.push_str(&format!("  {username:<13} {role}{note}\n"));
    }
    banner.push_str("Log in: POST /api/v1/auth/login {\"username\":\"operator\",\"password\":\"");
    banner.push_str(DEMO_PASSWORD);
    banner.push_str("\"}; API description at /api/v1/openapi.json; Ctrl-C stops.");
    crate::serve::serve(services, args.listen, Some(banner)).await?;
    Ok(ExitCode::SUCCESS)
}

/// What the seeding created, for the case simulation.
struct City {
    grids: Vec<(i64, usize)>,
    /// Centre of each unit grid, and the manhole cover in it if any (lat, lon).
    centers: HashMap<i64, (f64, f64)>,
    covers: HashMap<i64, (f64, f64)>,
    categories: Vec<(i64, &'static str)>,
    handler_of_dept: HashMap<i64, Actor>,
    supervisors: Vec<Actor>,
    operator: Actor,
    shiftlead: Actor,
    dispatcher: Actor,
    leader: Actor,
    resident: Actor,
}

async fn seed_city(services: &Services) -> anyhow::Result<City> {
    let e = |err: urbis_service::ServiceError| anyhow::format_err!("{err}");
    let root = services
        .ensure_city_root("990100", "示范市", Some(map::CENTRE))
        .await
        .map_err(e)?
        .ok_or_else(|| anyhow::format_err!("the demo needs an empty store"))?;
    services
        .insert_user(&NewUser {
            username: "admin".into(),
            display_name: "系统管理员".into(),
            password: DEMO_PASSWORD.into(),
            role: Role::Admin,
            area_id: None,
            dept_id: None,
        })
        .await
        .map_err(e)?;
    let admin = services.actor_by_username("admin").await.map_err(e)?;
    // Districts, streets and communities with boundaries of their own making, cut into unit grids.
    let mut map =
        map::seed_areas(services, &admin, &root, &DISTRICTS, &STREETS, &COMMUNITIES).await?;
    let districts = map.districts.clone();
    let mut dept_ids: HashMap<String, i64> = HashMap::new();
    for (code, name) in CITY_DEPTS {
        let dept = services
            .create_dept(&admin, code, name, None)
            .await
            .map_err(e)?;
        dept_ids.insert(code.to_owned(), dept.id);
    }
    let mut district_cgzf = Vec::new();
    for district in &districts {
        let dept = services
            .create_dept(
                &admin,
                &format!("CGZF-{}", district.code),
                &format!("{}城管执法局", district.name),
                Some(district.id),
            )
            .await
            .map_err(e)?;
        district_cgzf.push(dept.id);
    }
    // Taxonomy, time limits and the responsibility list.
    let paths: Vec<TaxonomyPath> = TAXONOMY
        .iter()
        .flat_map(|(l1, l2s, _, _)| {
            l2s.iter().map(move |(l2, ..)| TaxonomyPath {
                names: vec![(*l1).to_owned(), (*l2).to_owned()],
            })
        })
        .collect();
    services.import_taxonomy(&admin, &paths).await.map_err(e)?;
    let categories = services.list_categories().await.map_err(e)?;
    let by_name: HashMap<&str, i64> = categories.iter().map(|c| (c.name.as_str(), c.id)).collect();
    let mut rules = Vec::new();
    let mut leaf_categories = Vec::new();
    for (l1, l2s, clock, amount) in TAXONOMY {
        services
            .set_time_limit(&admin, by_name[l1], clock, amount, 120)
            .await
            .map_err(e)?;
        for (l2, lead, supporting, district_level) in l2s {
            let category_id = by_name[l2];
            leaf_categories.push((category_id, *l2));
            let supporting_ids: Vec<String> = supporting
                .iter()
                .map(|code| dept_ids[*code].to_string())
                .collect();
            if *district_level {
                for (district, dept) in districts.iter().zip(&district_cgzf) {
                    rules.push(RuleRow {
                        id: 0,
                        version_id: 0,
                        category_id,
                        area_id: district.id,
                        lead_dept_id: *dept,
                        supporting: supporting_ids.join(","),
                        legal_basis: "《城市市容和环境卫生管理条例》".into(),
                    });
                }
            } else {
                rules.push(RuleRow {
                    id: 0,
                    version_id: 0,
                    category_id,
                    area_id: root.id,
                    lead_dept_id: dept_ids[*lead],
                    supporting: supporting_ids.join(","),
                    legal_basis: format!("示范市权责清单（{l1}）"),
                });
            }
        }
    }
    services
        .set_time_limit(&admin, by_name["井盖缺损"], "urgent_hour", 4, 60)
        .await
        .map_err(e)?;
    // Hazards to life and limb weigh more in the priority than nuisances.
    for (name, severity) in SEVERITY {
        services
            .set_category_severity(&admin, by_name[name], severity)
            .await
            .map_err(e)?;
    }
    services
        .publish_responsibility(&admin, "示范市权责清单 2026 版", &rules)
        .await
        .map_err(e)?;
    // A sample holiday week with its make-up working days.
    let mut days: Vec<CalendarDayRow> = (1..=7)
        .map(|d| CalendarDayRow {
            day: format!("2026-10-{d:02}"),
            kind: "holiday".into(),
            note: "国庆节（示例）".into(),
        })
        .collect();
    days.push(CalendarDayRow {
        day: "2026-09-27".into(),
        kind: "workday".into(),
        note: "调休上班（示例）".into(),
    });
    days.push(CalendarDayRow {
        day: "2026-10-10".into(),
        kind: "workday".into(),
        note: "调休上班（示例）".into(),
    });
    services
        .update_calendar(&admin, Some("09:00-12:00,13:30-18:00"), &days, &[])
        .await
        .map_err(e)?;
    // Users: one per role, a handler per department, a supervisor per district.
    let add = |username: String,
               display: String,
               role: Role,
               area_id: Option<i64>,
               dept_id: Option<i64>| {
        let services = services.clone();
        async move {
            services
                .insert_user(&NewUser {
                    username: username.clone(),
                    display_name: display,
                    password: DEMO_PASSWORD.into(),
                    role,
                    area_id,
                    dept_id,
                })
                .await?;
            services.actor_by_username(&username).await
        }
    };
    let operator = add(
        "operator".into(),
        "受理员小王".into(),
        Role::Operator,
        None,
        None,
    )
    .await
    .map_err(e)?;
    let shiftlead = add(
        "shiftlead".into(),
        "值班长老李".into(),
        Role::ShiftLead,
        None,
        None,
    )
    .await
    .map_err(e)?;
    let dispatcher = add(
        "dispatcher".into(),
        "派遣员小张".into(),
        Role::Dispatcher,
        None,
        None,
    )
    .await
    .map_err(e)?;
    let leader = add(
        "leader".into(),
        "指挥中心主任".into(),
        Role::Leader,
        None,
        None,
    )
    .await
    .map_err(e)?;
    let resident = add(
        "resident".into(),
        "市民陈先生".into(),
        Role::Resident,
        None,
        None,
    )
    .await
    .map_err(e)?;
    let mut handler_of_dept = HashMap::new();
    for (code, name) in CITY_DEPTS {
        let username = if code == "SZGL" {
            "handler-city".to_owned()
        } else {
            format!("handler-{}", code.to_lowercase())
        };
        let actor = add(
            username,
            format!("{name}处置员"),
            Role::DeptHandler,
            None,
            Some(dept_ids[code]),
        )
        .await
        .map_err(e)?;
        handler_of_dept.insert(dept_ids[code], actor);
    }
    let mut supervisors = Vec::new();
    for (idx, (district, dept)) in districts.iter().zip(&district_cgzf).enumerate() {
        let username = if idx == 0 {
            "handler".to_owned()
        } else {
            format!("handler-d{}", idx + 1)
        };
        let actor = add(
            username,
            format!("{}城管执法队员", district.name),
            Role::DeptHandler,
            Some(district.id),
            Some(*dept),
        )
        .await
        .map_err(e)?;
        handler_of_dept.insert(*dept, actor);
        let username = if idx == 0 {
            "supervisor".to_owned()
        } else {
            format!("supervisor-d{}", idx + 1)
        };
        supervisors.push(
            add(
                username,
                format!("{}监督员", district.name),
                Role::GridSupervisor,
                Some(district.id),
                None,
            )
            .await
            .map_err(e)?,
        );
    }
    map::seed_map_data(services, &admin, &mut map, &supervisors, &by_name, &PLACES).await?;
    Ok(City {
        grids: map.grids,
        centers: map.centers,
        covers: map.covers,
        categories: leaf_categories,
        handler_of_dept,
        supervisors,
        operator,
        shiftlead,
        dispatcher,
        leader,
        resident,
    })
}

/// Who does what next to a case, given where it stands (None: nobody can).
type PlanStep = fn(&City, CaseContext) -> Option<(Actor, Action)>;

/// One step of a simulated case history.
enum Step {
    Submit {
        grid: (i64, usize),
        category: (i64, &'static str),
        by_resident: bool,
    },
    Act(PlanStep),
}

async fn seed_cases(
    services: &Services,
    city: &City,
    clock: &Clock,
    now: DateTime<Utc>,
    n_cases: usize,
    days: i64,
) -> anyhow::Result<usize> {
    let mut rng = StdRng::seed_from_u64(20_261_123);
    let mut events: Vec<(DateTime<Utc>, usize, Step)> = Vec::new();
    for case_idx in 0..n_cases {
        let age_hours = rng.gen_range(1..(days * 24));
        let mut at = now - Duration::hours(age_hours);
        let grid_idx = rng.gen_range(0..city.grids.len());
        let mut grid = city.grids[grid_idx];
        let category = city.categories[rng.gen_range(0..city.categories.len())];
        // A missing cover is reported where a cover is: the next unit grid that has one.
        if category.1 == "井盖缺损"
            && let Some(with_cover) = city.grids[grid_idx..]
                .iter()
                .find(|g| city.covers.contains_key(&g.0))
        {
            grid = *with_cover;
        }
        events.push((
            at,
            case_idx,
            Step::Submit {
                grid,
                category,
                by_resident: rng.gen_bool(0.15),
            },
        ));
        // How far the case got: older cases got further; a few stop at every stage.
        let roll: f64 = rng.gen_range(0.0..1.0);
        let progress = (age_hours as f64 / (days * 24) as f64 + roll).min(1.6);
        let void = rng.gen_bool(0.04);
        let rework = rng.gen_bool(0.12);
        let returned = rng.gen_bool(0.06);
        let park = rng.gen_bool(0.03);
        let extension = rng.gen_bool(0.05);
        let dissatisfied = rng.gen_bool(0.12);
        let mut plan: Vec<PlanStep> = Vec::new();
        if void {
            plan.push(|c, _| {
                Some((
                    c.shiftlead.clone(),
                    Action::Void {
                        reason: "重复诉求，已合并处理".into(),
                    },
                ))
            });
        } else {
            plan.push(|c, _| Some((c.shiftlead.clone(), Action::Register)));
            plan.push(dispatch);
            if returned {
                plan.push(|c, i| {
                    handler_for(c, i).map(|h| {
                        (
                            h,
                            Action::Return {
                                reason: "不属于本部门职责，请重新派遣".into(),
                            },
                        )
                    })
                });
                plan.push(dispatch);
            }
            plan.push(|c, i| handler_for(c, i).map(|h| (h, Action::Accept)));
            if extension {
                plan.push(|c, i| {
                    handler_for(c, i).map(|h| {
                        (
                            h,
                            Action::RequestExtension {
                                amount: 2,
                                reason: "需要协调物资，申请延期".into(),
                            },
                        )
                    })
                });
                plan.push(|c, _| {
                    Some((
                        c.shiftlead.clone(),
                        Action::Decide {
                            approve: true,
                            note: "同意延期".into(),
                        },
                    ))
                });
            }
            if park {
                plan.push(|c, i| {
                    handler_for(c, i).map(|h| {
                        (
                            h,
                            Action::RequestPark {
                                reason: "涉及历史遗留问题，需长期协调".into(),
                            },
                        )
                    })
                });
                plan.push(|c, _| {
                    Some((
                        c.shiftlead.clone(),
                        Action::Decide {
                            approve: true,
                            note: "同意挂账".into(),
                        },
                    ))
                });
            } else {
                plan.push(|c, i| {
                    handler_for(c, i).map(|h| {
                        (
                            h,
                            Action::Feedback {
                                note: "已安排人员到场处理完毕".into(),
                            },
                        )
                    })
                });
                if rework {
                    plan.push(|c, i| {
                        supervisor_for(c, i).map(|s| {
                            (
                                s,
                                Action::CheckFail {
                                    reason: "现场核查问题仍然存在".into(),
                                },
                            )
                        })
                    });
                    plan.push(|c, i| {
                        handler_for(c, i).map(|h| {
                            (
                                h,
                                Action::Feedback {
                                    note: "已返工，问题解决".into(),
                                },
                            )
                        })
                    });
                }
                plan.push(|c, i| {
                    supervisor_for(c, i).map(|s| {
                        (
                            s,
                            Action::CheckPass {
                                note: "现场核查已解决".into(),
                            },
                        )
                    })
                });
                plan.push(|c, _| Some((c.shiftlead.clone(), Action::Close { closure: None })));
                if dissatisfied {
                    plan.push(|c, _| {
                        Some((
                            c.operator.clone(),
                            Action::Rate {
                                satisfaction: Satisfaction::Dissatisfied,
                                resolved: false,
                                comment: "问题没有彻底解决".into(),
                            },
                        ))
                    });
                } else {
                    plan.push(|c, _| {
                        Some((
                            c.operator.clone(),
                            Action::Rate {
                                satisfaction: Satisfaction::Satisfied,
                                resolved: true,
                                comment: "处理及时".into(),
                            },
                        ))
                    });
                }
            }
        }
        let steps_done = ((progress / 1.2) * plan.len() as f64).round() as usize;
        let mut supervised = false;
        for step in plan.into_iter().take(steps_done) {
            at += Duration::minutes(rng.gen_range(20..60 * 30));
            if at >= now {
                break;
            }
            events.push((at, case_idx, Step::Act(step)));
            if !supervised && rng.gen_bool(0.02) {
                supervised = true;
                events.push((
                    at + Duration::minutes(5),
                    case_idx,
                    Step::Act(|c, _| {
                        Some((
                            c.leader.clone(),
                            Action::Supervise {
                                note: "请加快办理".into(),
                            },
                        ))
                    }),
                ));
            }
        }
    }
    events.sort_by_key(|(at, idx, _)| (*at, *idx));
    let mut case_ids: HashMap<usize, i64> = HashMap::new();
    let mut case_meta: HashMap<usize, (usize, i64)> = HashMap::new();
    let mut done = 0;
    let mut next_tick = events.first().map(|e| e.0).unwrap_or(now);
    let progress = indicatif::ProgressBar::new(events.len() as u64);
    for (at, case_idx, step) in events {
        while next_tick <= at {
            clock.set(next_tick);
            services
                .sla_tick(next_tick)
                .await
                .map_err(|err| anyhow::format_err!("{err}"))?;
            next_tick += Duration::hours(2);
        }
        clock.set(at);
        progress.inc(1);
        match step {
            Step::Submit {
                grid,
                category,
                by_resident,
            } => {
                let texts = sample_texts(category.1);
                let text = texts[case_idx % texts.len()]
                    .replace("{place}", PLACES[case_idx % PLACES.len()]);
                // Reported where it is: a missing cover 3 m from the cover, anything else at the grid's centre.
                let point = match category.1 {
                    "井盖缺损" => city.covers.get(&grid.0).map(|p| (p.0 + 0.000_027, p.1)),
                    _ => None,
                }
                .or_else(|| city.centers.get(&grid.0).copied());
                let reporter = if by_resident {
                    &city.resident
                } else {
                    &city.operator
                };
                let input = AppealInput {
                    channel: Some(if by_resident { "web" } else { "hotline" }.into()),
                    title: Some(format!(
                        "{}：{}",
                        category.1,
                        PLACES[case_idx % PLACES.len()]
                    )),
                    text,
                    reporter_name: Some(
                        ["张先生", "李女士", "王阿姨", "刘师傅"][case_idx % 4].into(),
                    ),
                    reporter_phone: Some(format!("139{:08}", (case_idx * 7_919) % 100_000_000)),
                    address: Some(format!("示范市{}", PLACES[case_idx % PLACES.len()])),
                    lat: point.map(|p| p.0),
                    lon: point.map(|p| p.1),
                    category_id: Some(category.0),
                    area_id: Some(grid.0),
                    urgent: Some(category.1 == "井盖缺损"),
                };
                let outcome = services
                    .submit_appeal(Some(reporter), &input, None)
                    .await
                    .map_err(|err| anyhow::format_err!("{err}"))?;
                case_ids.insert(case_idx, outcome.case_id);
                case_meta.insert(case_idx, (grid.1, outcome.case_id));
            }
            Step::Act(step) => {
                let Some(case_id) = case_ids.get(&case_idx).copied() else {
                    continue;
                };
                let case = services
                    .get_case(&city.shiftlead, case_id)
                    .await
                    .map_err(|err| anyhow::format_err!("{err}"))?;
                let context = CaseContext {
                    district: case_meta[&case_idx].0,
                    lead: case.lead_dept_id,
                };
                if let Some((actor, action)) = step(city, context) {
                    let action = match action {
                        Action::Dispatch { .. } => services
                            .dispatch_action(&actor, case_id, None, Vec::new())
                            .await
                            .map_err(|err| anyhow::format_err!("{err}"))?,
                        other => other,
                    };
                    if let Err(err) = services.act(&actor, case_id, action).await {
                        // A plan step that no longer fits (e.g. the clock moved it) is skipped, as a person would.
                        tracing::debug!(case_id, error = %err, "demo step skipped");
                    }
                }
                done += 1;
            }
        }
    }
    progress.finish_and_clear();
    Ok(done)
}

#[derive(Clone, Copy)]
struct CaseContext {
    district: usize,
    lead: Option<i64>,
}

fn dispatch(city: &City, _: CaseContext) -> Option<(Actor, Action)> {
    Some((
        city.dispatcher.clone(),
        Action::Dispatch {
            lead: DeptId(0),
            supporting: Vec::new(),
        },
    ))
}

fn handler_for(city: &City, context: CaseContext) -> Option<Actor> {
    city.handler_of_dept.get(&context.lead?).cloned()
}

fn supervisor_for(city: &City, context: CaseContext) -> Option<Actor> {
    city.supervisors.get(context.district).cloned()
}
