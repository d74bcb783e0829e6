use super::*;
use crate::ids::{AreaId, DeptId, UserId};
use crate::role::{Actor, AreaScope, Role};

fn actor(role: Role, scope: Option<&str>, dept: Option<i64>) -> Actor {
    Actor {
        user_id: UserId(7),
        username: "u".into(),
        role,
        area_scope: scope.map(|path| AreaScope {
            area_id: AreaId(1),
            path: path.into(),
        }),
        dept_id: dept.map(DeptId),
    }
}

fn facts(state: CaseState) -> CaseFacts {
    CaseFacts {
        state,
        area_path: "/1/2/5/".into(),
        lead_dept: Some(DeptId(3)),
        supporting_depts: vec![DeptId(4)],
        reporter_user: Some(UserId(7)),
        co_reporters: vec![UserId(8)],
        pending: None,
    }
}

#[test]
fn whole_loop_with_rework() {
    let lead = actor(Role::ShiftLead, None, None);
    let dispatcher = actor(Role::Dispatcher, None, None);
    let handler = actor(Role::DeptHandler, None, Some(3));
    let supervisor = actor(Role::GridSupervisor, Some("/1/2/"), None);
    let resident = actor(Role::Resident, None, None);
    let steps: Vec<(&Actor, Action, CaseState)> = vec![
        (&lead, Action::Register, CaseState::Registered),
        (
            &dispatcher,
            Action::Dispatch {
                lead: DeptId(3),
                supporting: vec![DeptId(4)],
            },
            CaseState::Dispatched,
        ),
        (&handler, Action::Accept, CaseState::Handling),
        (
            &handler,
            Action::Feedback {
                note: "done".into(),
            },
            CaseState::Feedback,
        ),
        (
            &supervisor,
            Action::CheckFail {
                reason: "still broken".into(),
            },
            CaseState::Handling,
        ),
        (
            &handler,
            Action::Feedback {
                note: "fixed".into(),
            },
            CaseState::Feedback,
        ),
        (
            &supervisor,
            Action::CheckPass { note: "ok".into() },
            CaseState::Checked,
        ),
        (&lead, Action::Close { closure: None }, CaseState::Closed),
        (
            &resident,
            Action::Rate {
                satisfaction: Satisfaction::Satisfied,
                resolved: true,
                comment: String::new(),
            },
            CaseState::Evaluated,
        ),
    ];
    let mut current = facts(CaseState::Received);
    for (who, action, expected) in steps {
        let plan = plan(who, &current, &action).unwrap_or_else(|e| panic!("{action:?}: {e}"));
        assert_eq!(plan.to, expected, "{action:?}");
        current.state = plan.to;
        current.pending = plan.pending;
    }
}

#[test]
fn every_action_checks_its_role() {
    let actions = [
        Action::Register,
        Action::Accept,
        Action::Close { closure: None },
        Action::CheckPass {
            note: String::new(),
        },
        Action::Supervise {
            note: String::new(),
        },
    ];
    for action in actions {
        for role in Role::ALL {
            let who = actor(role, None, Some(3));
            let res = plan(&who, &facts(CaseState::Received), &action);
            if !action.allowed_roles().contains(&role) {
                assert_eq!(
                    res.unwrap_err().code(),
                    "role_not_allowed",
                    "{role:?} {action:?}"
                );
            }
        }
    }
}

#[test]
fn illegal_transitions_are_refused_with_a_stable_code() {
    let lead = actor(Role::ShiftLead, None, None);
    let err = plan(&lead, &facts(CaseState::Handling), &Action::Register).unwrap_err();
    assert_eq!(err.code(), "illegal_transition");
    let err = plan(
        &lead,
        &facts(CaseState::Received),
        &Action::Close { closure: None },
    )
    .unwrap_err();
    assert_eq!(err.code(), "illegal_transition");
    let err = plan(
        &lead,
        &facts(CaseState::Voided),
        &Action::Supervise {
            note: String::new(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "illegal_transition");
}

#[test]
fn handler_of_another_department_or_district_is_out_of_scope() {
    let other_dept = actor(Role::DeptHandler, None, Some(9));
    assert_eq!(
        plan(&other_dept, &facts(CaseState::Dispatched), &Action::Accept).unwrap_err(),
        WorkflowError::OutOfScope
    );
    let other_district = actor(Role::DeptHandler, Some("/1/3/"), Some(3));
    assert_eq!(
        plan(
            &other_district,
            &facts(CaseState::Dispatched),
            &Action::Accept
        )
        .unwrap_err(),
        WorkflowError::OutOfScope
    );
    assert!(!can_view(&other_district, &facts(CaseState::Dispatched)));
    // A supporting department may read but not act as lead.
    let supporting = actor(Role::DeptHandler, None, Some(4));
    assert!(can_view(&supporting, &facts(CaseState::Dispatched)));
    assert!(plan(&supporting, &facts(CaseState::Dispatched), &Action::Accept).is_err());
}

#[test]
fn residents_see_only_their_own_cases() {
    let me = actor(Role::Resident, None, None);
    let mut someone_elses = facts(CaseState::Closed);
    someone_elses.reporter_user = Some(UserId(99));
    assert!(can_view(&me, &facts(CaseState::Closed)));
    assert!(!can_view(&me, &someone_elses));
    let rate = Action::Rate {
        satisfaction: Satisfaction::Dissatisfied,
        resolved: false,
        comment: "no".into(),
    };
    assert_eq!(
        plan(&me, &someone_elses, &rate).unwrap_err(),
        WorkflowError::OutOfScope
    );
}

#[test]
fn extension_and_parking_need_a_decision() {
    let handler = actor(Role::DeptHandler, None, Some(3));
    let lead = actor(Role::ShiftLead, None, None);
    let mut case = facts(CaseState::Handling);
    let request = plan(
        &handler,
        &case,
        &Action::RequestExtension {
            amount: 2,
            reason: "parts on order".into(),
        },
    )
    .unwrap();
    assert_eq!(
        request.pending,
        Some(PendingRequest::Extension { amount: 2 })
    );
    case.pending = request.pending;
    let again = plan(&handler, &case, &Action::RequestPark { reason: "x".into() }).unwrap_err();
    assert_eq!(again.code(), "request_pending");
    // Feedback does not drop the open request unseen: it waits for the decision.
    let feedback = Action::Feedback {
        note: "fixed".into(),
    };
    let early = plan(&handler, &case, &feedback).unwrap_err();
    assert_eq!(early, WorkflowError::RequestPending("extension"));
    let approved = plan(
        &lead,
        &case,
        &Action::Decide {
            approve: true,
            note: String::new(),
        },
    )
    .unwrap();
    assert_eq!(approved.effect, Effect::Extend { amount: 2 });
    assert_eq!(approved.pending, None);
    let decided = CaseFacts {
        pending: None,
        ..case.clone()
    };
    assert_eq!(
        plan(&handler, &decided, &feedback).unwrap().to,
        CaseState::Feedback
    );

    case.pending = Some(PendingRequest::Park);
    let parked = plan(
        &lead,
        &case,
        &Action::Decide {
            approve: true,
            note: String::new(),
        },
    )
    .unwrap();
    assert_eq!(
        (parked.to, parked.effect),
        (CaseState::Parked, Effect::Park)
    );

    case.pending = None;
    let nothing = plan(
        &lead,
        &case,
        &Action::Decide {
            approve: false,
            note: String::new(),
        },
    )
    .unwrap_err();
    assert_eq!(nothing.code(), "no_pending_request");
}

#[test]
fn reasons_are_required_where_the_standard_asks_for_them() {
    let handler = actor(Role::DeptHandler, None, Some(3));
    let err = plan(
        &handler,
        &facts(CaseState::Handling),
        &Action::Return {
            reason: "  ".into(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "text_required");
}

#[test]
fn dispatch_rejects_lead_among_supporting() {
    let dispatcher = actor(Role::Dispatcher, None, None);
    let err = plan(
        &dispatcher,
        &facts(CaseState::Registered),
        &Action::Dispatch {
            lead: DeptId(3),
            supporting: vec![DeptId(3)],
        },
    )
    .unwrap_err();
    assert_eq!(err, WorkflowError::BadDispatch);
}

#[test]
fn names_round_trip() {
    for state in CaseState::ALL {
        assert_eq!(CaseState::parse(state.as_str()), Some(state));
    }
    for role in Role::ALL {
        assert_eq!(Role::parse(role.as_str()), Some(role));
    }
}

#[test]
fn a_resident_whose_repeat_report_joined_a_case_neither_reads_nor_rates_it() {
    let mut repeat_reporter = actor(Role::Resident, None, None);
    repeat_reporter.user_id = UserId(8);
    let closed = facts(CaseState::Closed);
    assert!(closed.is_reporter(UserId(8)));
    assert!(!can_view(&repeat_reporter, &closed));
    let rate = Action::Rate {
        satisfaction: Satisfaction::Satisfied,
        resolved: true,
        comment: String::new(),
    };
    assert_eq!(
        plan(&repeat_reporter, &closed, &rate).unwrap_err(),
        WorkflowError::OutOfScope
    );
    let first = match closed.reporter_user {
        Some(user) => {
            let mut first = actor(Role::Resident, None, None);
            first.user_id = user;
            first
        }
        None => panic!("the fixture case has a first reporter"),
    };
    assert!(can_view(&first, &closed));
    assert_eq!(
        plan(&first, &closed, &rate).unwrap().to,
        CaseState::Evaluated
    );
}

#[test]
fn a_partner_claims_for_its_own_organisation_only() {
    let partner = actor(Role::Partner, None, Some(9));
    let pooled = CaseFacts {
        lead_dept: None,
        supporting_depts: Vec::new(),
        ..facts(CaseState::Registered)
    };
    let plan_ok = plan(&partner, &pooled, &Action::Claim { dept: DeptId(9) }).expect("claim");
    assert_eq!(plan_ok.to, CaseState::Dispatched);
    assert_eq!(plan_ok.effect, Effect::StartClock);
    let err = plan(&partner, &pooled, &Action::Claim { dept: DeptId(3) }).unwrap_err();
    assert_eq!(err.code(), "out_of_scope");
    // Once claimed it acts as the lead, and only then.
    let claimed = CaseFacts {
        lead_dept: Some(DeptId(9)),
        ..facts(CaseState::Dispatched)
    };
    assert!(plan(&partner, &claimed, &Action::Accept).is_ok());
    assert!(plan(&partner, &facts(CaseState::Dispatched), &Action::Accept).is_err());
    assert!(can_view(&partner, &claimed));
    assert!(!can_view(&partner, &pooled));
    let dispatcher = actor(Role::Dispatcher, None, None);
    let err = plan(&dispatcher, &pooled, &Action::Claim { dept: DeptId(9) }).unwrap_err();
    assert_eq!(err.code(), "role_not_allowed");
}

#[test]
fn only_the_shift_lead_reassigns_and_never_to_a_lead_that_also_supports() {
    let lead = actor(Role::ShiftLead, None, None);
    let reassign = Action::Reassign {
        lead: DeptId(4),
        supporting: vec![DeptId(3)],
    };
    for state in [
        CaseState::Registered,
        CaseState::Dispatched,
        CaseState::Handling,
    ] {
        let to = plan(&lead, &facts(state), &reassign).expect("reassign").to;
        assert_eq!(to, CaseState::Dispatched);
    }
    assert!(plan(&lead, &facts(CaseState::Feedback), &reassign).is_err());
    let bad = Action::Reassign {
        lead: DeptId(4),
        supporting: vec![DeptId(4)],
    };
    assert_eq!(
        plan(&lead, &facts(CaseState::Handling), &bad)
            .unwrap_err()
            .code(),
        "bad_dispatch"
    );
    let dispatcher = actor(Role::Dispatcher, None, None);
    assert!(plan(&dispatcher, &facts(CaseState::Handling), &reassign).is_err());
}
