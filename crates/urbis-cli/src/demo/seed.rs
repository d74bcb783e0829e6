//! Seeding the demo city: areas, departments, taxonomy, responsibility list, calendar, users.

use super::*;

/// What the seeding created, for the case simulation.
pub(super) struct City {
    pub(super) grids: Vec<(i64, usize)>,
    /// Centre of each unit grid, and the manhole cover in it if any (lat, lon).
    pub(super) centers: HashMap<i64, (f64, f64)>,
    pub(super) covers: HashMap<i64, (f64, f64)>,
    pub(super) categories: Vec<(i64, &'static str)>,
    pub(super) handler_of_dept: HashMap<i64, Actor>,
    pub(super) supervisors: Vec<Actor>,
    pub(super) operator: Actor,
    pub(super) shiftlead: Actor,
    pub(super) dispatcher: Actor,
    pub(super) leader: Actor,
    pub(super) resident: Actor,
}

pub(super) async fn seed_city(services: &Services) -> anyhow::Result<City> {
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
    // An outside partner (物业) of the first district, which claims tasks offered to the pool.
    if let Some(district) = districts.first() {
        let partner = services
            .create_partner(
                &admin,
                "WY-DEMO",
                &format!("{}示范物业", district.name),
                "property",
                &[urbis_service::cohandle::GrantInput {
                    area_id: district.id,
                    category_id: None,
                }],
            )
            .await
            .map_err(e)?;
        add(
            "partner".into(),
            "物业服务中心".into(),
            Role::Partner,
            None,
            Some(partner.row.dept_id),
        )
        .await
        .map_err(e)?;
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
