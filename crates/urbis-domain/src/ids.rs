//! Typed identifiers, one per concept, so that a case id can never be passed where a user id is meant.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// Identifies a case (案卷).
    CaseId
);
id_type!(
    /// Identifies one appeal (诉求) as it arrived from a channel.
    AppealId
);
id_type!(
    /// Identifies a user account.
    UserId
);
id_type!(
    /// Identifies a department (专业部门).
    DeptId
);
id_type!(
    /// Identifies an area of any level (district, street, community, unit grid).
    AreaId
);
id_type!(
    /// Identifies a category of the taxonomy, at any level.
    CategoryId
);
