//! A running Urbis for tests: a fresh SQLite file in a temporary directory, the HTTP app served on
//! `127.0.0.1:0`, and a fixture city with two districts and one user per role. Talk to it with
//! the request helpers; reach the services directly for setup that has no endpoint.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;
use urbis_domain::area::AreaLevel;
use urbis_domain::role::Role;
use urbis_service::auth::NewUser;
use urbis_service::reference::TaxonomyPath;
use urbis_service::{Clock, ServiceConfig, Services};
use urbis_storage::reference::RuleRow;
use urbis_storage::{Db, DbOptions, Location};

mod store;
pub use store::{
    TestBackend, backend, fresh_postgres_database, on_postgres, postgres_available,
    postgres_server, sqlite_only,
};

/// A new store for one test: a file in `dir` on the SQLite run, a new database on the
/// PostgreSQL run. With no PostgreSQL server (and `URBIS_REQUIRE_POSTGRES` unset) the
/// PostgreSQL run ends here, successfully, saying why.
pub async fn test_store(dir: &std::path::Path) -> Location {
    match backend() {
        TestBackend::Sqlite => Location::Sqlite(dir.join("test.sqlite")),
        TestBackend::Postgres => {
            if !postgres_available().await {
                eprintln!(
                    "skipping the PostgreSQL run: no server answers at {} (set URBIS_TEST_POSTGRES)",
                    postgres_server()
                );
                std::process::exit(0);
            }
            fresh_postgres_database().await
        }
    }
}

/// A time on the fixture city's clock (UTC+8, no daylight saving) as UTC.
pub fn city_time(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::FixedOffset::east_opt(8 * 3600)
        .expect("offset")
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("time")
        .with_timezone(&chrono::Utc)
}

/// The password of every fixture user.
pub const PASSWORD: &str = "test-password-1";

/// Ids of the fixture city.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    pub city: i64,
    /// District A and district B.
    pub district_a: i64,
    pub district_b: i64,
    pub grid_a: i64,
    pub grid_b: i64,
    pub dept_a: i64,
    pub dept_b: i64,
    pub dept_city: i64,
    /// Level-1 and level-2 categories.
    pub category_l1: i64,
    pub category: i64,
    pub other_category: i64,
    /// A partner organisation (物业) granted unit grid A, every category; its user is `partner_a`.
    pub partner_a: i64,
}

/// A running server on a temporary database.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub services: Services,
    pub fixture: Fixture,
    /// The store's `--db` argument: the SQLite file, or the PostgreSQL URL.
    pub db_path: std::path::PathBuf,
    pub location: Location,
    tokens: tokio::sync::Mutex<HashMap<String, String>>,
    _server: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

/// The fixture users: username → (role, scope, department).
pub const USERS: [&str; 15] = [
    "admin",
    "operator",
    "shiftlead",
    "dispatcher",
    "handler_a",
    "handler_b",
    "handler_city",
    "supervisor_a",
    "supervisor_b",
    "leader",
    "resident",
    "resident2",
    "dataofficer",
    "dataofficer_a",
    "partner_a",
];

impl TestApp {
    /// Starts a server with the fixture city and the system clock.
    pub async fn start() -> TestApp {
        Self::start_with_clock(Clock::System).await
    }

    /// Starts a server with the fixture city and the given clock.
    pub async fn start_with_clock(clock: Clock) -> TestApp {
        Self::start_with(clock, |_| {}).await
    }

    /// Starts a server with the fixture city, the given clock and an adjusted configuration.
    pub async fn start_with(clock: Clock, adjust: impl FnOnce(&mut ServiceConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let location = test_store(dir.path()).await;
        let db_path = std::path::PathBuf::from(location.to_arg());
        let db = Db::open(&DbOptions {
            read_connections: 4,
            ..DbOptions::writer(location.clone())
        })
        .await
        .expect("open db");
        // Sessions outlive the simulated days of clock-driven tests.
        let config = ServiceConfig {
            argon2_memory_kib: 1024,
            // Every test calls from 127.0.0.1; tests of the limits set their own.
            security: urbis_service::guard::SecurityLimits::relaxed(),
            session_ttl: std::time::Duration::from_secs(60 * 86_400),
            ..ServiceConfig::default()
        };
        let mut config = config;
        adjust(&mut config);
        let services = Services::start_with_clock(db, config, clock)
            .await
            .expect("services");
        let fixture = seed(&services).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = urbis_http::AppState {
            services: services.clone(),
            metrics: urbis_http::metrics_handle(),
        };
        let server = tokio::spawn(async move {
            urbis_http::serve(listener, urbis_http::app(state), std::future::pending())
                .await
                .expect("serve");
        });
        TestApp {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            services,
            fixture,
            db_path,
            location,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
            _server: server,
            _dir: dir,
        }
    }

    /// Logs a fixture user in (once) and returns the bearer token.
    pub async fn token(&self, username: &str) -> String {
        let mut tokens = self.tokens.lock().await;
        if let Some(token) = tokens.get(username) {
            return token.clone();
        }
        let (status, body) = self
            .send(
                None,
                reqwest::Method::POST,
                "/api/v1/auth/login",
                Some(serde_json::json!({ "username": username, "password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        let token = body["token"].as_str().expect("token").to_owned();
        tokens.insert(username.to_owned(), token.clone());
        token
    }

    /// Sends a request as `user` (None: anonymous) and returns status and JSON body (Null if none).
    pub async fn send(
        &self,
        user_token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = user_token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// GET as a fixture user.
    pub async fn get(&self, user: &str, path: &str) -> (StatusCode, Value) {
        let token = self.token(user).await;
        self.send(Some(&token), reqwest::Method::GET, path, None)
            .await
    }

    /// POST as a fixture user.
    pub async fn post(&self, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let token = self.token(user).await;
        self.send(Some(&token), reqwest::Method::POST, path, Some(body))
            .await
    }

    /// Files an appeal as `user` in a grid and returns the case id.
    pub async fn file_appeal(&self, user: &str, grid: i64, category: i64, text: &str) -> i64 {
        let (status, body) = self
            .post(user, "/api/v1/appeals", serde_json::json!({ "text": text, "area_id": grid, "category_id": category, "reporter_name": "张三", "reporter_phone": "13812345678" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["case_id"].as_i64().expect("case id")
    }

    /// Applies a workflow action as `user` and returns (status, body).
    pub async fn act(&self, user: &str, case_id: i64, action: Value) -> (StatusCode, Value) {
        self.post(user, &format!("/api/v1/cases/{case_id}/actions"), action)
            .await
    }
}

async fn seed(services: &Services) -> Fixture {
    let city = services
        .ensure_city_root("990100", "测试市", None)
        .await
        .expect("city")
        .expect("a fresh store has no areas");
    services
        .insert_user(&NewUser {
            username: "admin".into(),
            display_name: "管理员".into(),
            password: PASSWORD.into(),
            role: Role::Admin,
            area_id: None,
            dept_id: None,
        })
        .await
        .expect("admin");
    let admin = services
        .actor_by_username("admin")
        .await
        .expect("admin actor");
    let mut f = Fixture {
        city: city.id,
        ..Fixture::default()
    };
    let mut grids = Vec::new();
    let mut districts = Vec::new();
    for (code, name) in [("990101", "甲区"), ("990102", "乙区")] {
        let district = services
            .create_area(&admin, code, name, AreaLevel::District, Some(city.id), None)
            .await
            .expect("district");
        let street = services
            .create_area(
                &admin,
                &format!("{code}001"),
                "一街道",
                AreaLevel::Street,
                Some(district.id),
                None,
            )
            .await
            .expect("street");
        let community = services
            .create_area(
                &admin,
                &format!("{code}001001"),
                "一社区",
                AreaLevel::Community,
                Some(street.id),
                None,
            )
            .await
            .expect("community");
        let grid = services
            .create_area(
                &admin,
                &format!("{code}001001001"),
                "一网格",
                AreaLevel::Grid,
                Some(community.id),
                None,
            )
            .await
            .expect("grid");
        districts.push(district.id);
        grids.push(grid.id);
    }
    (f.district_a, f.district_b, f.grid_a, f.grid_b) =
        (districts[0], districts[1], grids[0], grids[1]);
    f.dept_a = services
        .create_dept(&admin, "CG-A", "甲区城管", Some(f.district_a))
        .await
        .expect("dept")
        .id;
    f.dept_b = services
        .create_dept(&admin, "CG-B", "乙区城管", Some(f.district_b))
        .await
        .expect("dept")
        .id;
    f.dept_city = services
        .create_dept(&admin, "SZ", "市市政", None)
        .await
        .expect("dept")
        .id;
    services
        .import_taxonomy(
            &admin,
            &[
                TaxonomyPath {
                    names: vec!["市容环境".into(), "暴露垃圾".into()],
                },
                TaxonomyPath {
                    names: vec!["公用设施".into(), "井盖缺损".into()],
                },
            ],
        )
        .await
        .expect("taxonomy");
    let categories = services.list_categories().await.expect("categories");
    let id_of = |name: &str| {
        categories
            .iter()
            .find(|c| c.name == name)
            .expect("category")
            .id
    };
    (f.category_l1, f.category, f.other_category) =
        (id_of("市容环境"), id_of("暴露垃圾"), id_of("井盖缺损"));
    services
        .set_time_limit(&admin, f.category_l1, "working_day", 2, 120)
        .await
        .expect("limit");
    let rule = |category_id, area_id, lead_dept_id| RuleRow {
        id: 0,
        version_id: 0,
        category_id,
        area_id,
        lead_dept_id,
        supporting: String::new(),
        legal_basis: "测试依据".into(),
    };
    services
        .publish_responsibility(
            &admin,
            "v1",
            &[
                rule(f.category_l1, f.district_a, f.dept_a),
                rule(f.category_l1, f.district_b, f.dept_b),
                rule(f.other_category, city.id, f.dept_city),
            ],
        )
        .await
        .expect("rules");
    let users: [(&str, Role, Option<i64>, Option<i64>); 13] = [
        ("operator", Role::Operator, None, None),
        ("shiftlead", Role::ShiftLead, None, None),
        ("dispatcher", Role::Dispatcher, None, None),
        (
            "handler_a",
            Role::DeptHandler,
            Some(f.district_a),
            Some(f.dept_a),
        ),
        (
            "handler_b",
            Role::DeptHandler,
            Some(f.district_b),
            Some(f.dept_b),
        ),
        ("handler_city", Role::DeptHandler, None, Some(f.dept_city)),
        (
            "supervisor_a",
            Role::GridSupervisor,
            Some(f.district_a),
            None,
        ),
        (
            "supervisor_b",
            Role::GridSupervisor,
            Some(f.district_b),
            None,
        ),
        ("leader", Role::Leader, None, None),
        ("resident", Role::Resident, None, None),
        ("resident2", Role::Resident, None, None),
        // The platform's data officer (no department) and district A's department's.
        ("dataofficer", Role::DataOfficer, None, None),
        ("dataofficer_a", Role::DataOfficer, None, Some(f.dept_a)),
    ];
    for (username, role, area_id, dept_id) in users {
        services
            .insert_user(&NewUser {
                username: username.into(),
                display_name: username.into(),
                password: PASSWORD.into(),
                role,
                area_id,
                dept_id,
            })
            .await
            .expect("user");
    }
    f.partner_a = services
        .create_partner(
            &admin,
            "WY-A",
            "甲区物业",
            "property",
            &[urbis_service::cohandle::GrantInput {
                area_id: f.grid_a,
                category_id: None,
            }],
        )
        .await
        .expect("partner")
        .row
        .dept_id;
    services
        .insert_user(&NewUser {
            username: "partner_a".into(),
            display_name: "partner_a".into(),
            password: PASSWORD.into(),
            role: Role::Partner,
            area_id: None,
            dept_id: Some(f.partner_a),
        })
        .await
        .expect("partner user");
    f
}
