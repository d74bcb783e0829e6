//! Simulated case histories, replayed through the real services in time order.

use super::*;

/// Who does what next to a case, given where it stands (None: nobody can).
pub(super) type PlanStep = fn(&City, CaseContext) -> Option<(Actor, Action)>;

/// One step of a simulated case history.
pub(super) enum Step {
    Submit {
        grid: (i64, usize),
        category: (i64, &'static str),
        by_resident: bool,
    },
    Act(PlanStep),
}

pub(super) async fn seed_cases(
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
                    appeal_type: None,
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
                    if let Action::Feedback { .. } = action {
                        finish_subtasks(services, city, &actor, case_id).await;
                    }
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

/// The supporting departments (协办) do their part before the lead feeds back, as the workflow
/// requires; a department without a demo handler is released by the lead.
async fn finish_subtasks(services: &Services, city: &City, lead: &Actor, case_id: i64) {
    let Ok(tasks) = services.case_subtasks(&city.shiftlead, case_id).await else {
        return;
    };
    for task in tasks.iter().filter(|t| t.active) {
        let done = match city.handler_of_dept.get(&task.dept_id) {
            Some(handler) => {
                if task.state == "dispatched" {
                    let _ = services.accept_subtask(handler, task.id).await;
                }
                services
                    .feedback_subtask(handler, task.id, "协办部门已完成配合处置")
                    .await
            }
            None => {
                services
                    .release_subtask(lead, task.id, "无需协办，主办部门已处置")
                    .await
            }
        };
        if let Err(err) = done {
            tracing::debug!(case_id, error = %err, "demo sub-task step skipped");
        }
    }
}

#[derive(Clone, Copy)]
pub(super) struct CaseContext {
    pub(super) district: usize,
    pub(super) lead: Option<i64>,
}

pub(super) fn dispatch(city: &City, _: CaseContext) -> Option<(Actor, Action)> {
    Some((
        city.dispatcher.clone(),
        Action::Dispatch {
            lead: DeptId(0),
            supporting: Vec::new(),
        },
    ))
}

pub(super) fn handler_for(city: &City, context: CaseContext) -> Option<Actor> {
    city.handler_of_dept.get(&context.lead?).cloned()
}

pub(super) fn supervisor_for(city: &City, context: CaseContext) -> Option<Actor> {
    city.supervisors.get(context.district).cloned()
}
