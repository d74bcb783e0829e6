//! Roles, scopes and the acting user. A scope narrows a role to an area subtree and, for
//! department handlers, to one department.

use crate::ids::{AreaId, DeptId, UserId};

/// What a user does in the city's workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 市民: reports problems, follows and rates their own cases.
    Resident,
    /// 受理员: records appeals from the hotline and other channels, calls back.
    Operator,
    /// 值班长: opens (立案), voids, closes cases, approves extensions and parking.
    ShiftLead,
    /// 派遣员: dispatches cases to the responsible departments.
    Dispatcher,
    /// 专业部门处置人员: handles the cases dispatched to their department.
    DeptHandler,
    /// 监督员/网格员: reports from the grid, checks fixes (核查), fixes on the spot.
    GridSupervisor,
    /// 领导/指挥中心: watches the city, supervises (督办).
    Leader,
    /// 系统管理员: configuration, users, reference data.
    Admin,
    /// 数据专员: registers data resources, answers sharing requests, publishes open data — for
    /// their department, or for the city platform when they have none.
    DataOfficer,
    /// 合作单位: a user of an outside partner organisation (物业, utility, social organisation,
    /// volunteer team) acting for it (`dept_id`); handles the cases dispatched to it or claimed
    /// from the pool within its grants.
    Partner,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 10] = [
        Role::Resident,
        Role::Operator,
        Role::ShiftLead,
        Role::Dispatcher,
        Role::DeptHandler,
        Role::GridSupervisor,
        Role::Leader,
        Role::Admin,
        Role::DataOfficer,
        Role::Partner,
    ];

    /// Returns the stable wire and storage name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Operator => "operator",
            Role::ShiftLead => "shift_lead",
            Role::Dispatcher => "dispatcher",
            Role::DeptHandler => "dept_handler",
            Role::GridSupervisor => "grid_supervisor",
            Role::Leader => "leader",
            Role::Admin => "admin",
            Role::DataOfficer => "data_officer",
            Role::Partner => "partner",
        }
    }

    /// Parses the stable name written by [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == s)
    }

    /// Returns the Chinese title of the role.
    pub fn title_zh(self) -> &'static str {
        match self {
            Role::Resident => "市民",
            Role::Operator => "受理员",
            Role::ShiftLead => "值班长",
            Role::Dispatcher => "派遣员",
            Role::DeptHandler => "部门处置人员",
            Role::GridSupervisor => "监督员",
            Role::Leader => "领导",
            Role::Admin => "管理员",
            Role::DataOfficer => "数据专员",
            Role::Partner => "合作单位",
        }
    }

    /// Staff roles are the city's own people and work on cases of others; residents work only on
    /// their own, and partners (outside organisations) only on what they were given or claimed.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Resident | Role::Partner)
    }
}

/// An area subtree given by the materialised path of its root (for example `/1/4/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaScope {
    /// The root area of the subtree.
    pub area_id: AreaId,
    /// The root's materialised path; every area inside has a path starting with it.
    pub path: String,
}

impl AreaScope {
    /// Returns whether an area with the given materialised path lies inside this scope.
    pub fn contains_path(&self, area_path: &str) -> bool {
        area_path.starts_with(&self.path)
    }
}

/// The user on whose behalf a service call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    /// `None` means the whole city.
    pub area_scope: Option<AreaScope>,
    /// Set for department handlers and partners: the department (or partner organisation) they act for.
    pub dept_id: Option<DeptId>,
}

impl Actor {
    /// Returns whether the actor's area scope covers an area path (no scope covers everything).
    pub fn covers_area(&self, area_path: &str) -> bool {
        self.area_scope
            .as_ref()
            .is_none_or(|scope| scope.contains_path(area_path))
    }
}

impl TryFrom<String> for Role {
    type Error = crate::UnknownName;

    fn try_from(name: String) -> Result<Role, crate::UnknownName> {
        Role::parse(&name).ok_or(crate::UnknownName { kind: "role", name })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
