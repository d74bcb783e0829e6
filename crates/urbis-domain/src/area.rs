//! The area hierarchy: city → district → street → community → unit grid, with national-style codes
//! (6-digit county, 9-digit street, 12-digit community, 15-digit unit grid).

/// A level of the area hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AreaLevel {
    City,
    District,
    Street,
    Community,
    Grid,
}

impl AreaLevel {
    /// Every level from the top.
    pub const ALL: [AreaLevel; 5] = [
        AreaLevel::City,
        AreaLevel::District,
        AreaLevel::Street,
        AreaLevel::Community,
        AreaLevel::Grid,
    ];

    /// Returns the stable storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::City => "city",
            AreaLevel::District => "district",
            AreaLevel::Street => "street",
            AreaLevel::Community => "community",
            AreaLevel::Grid => "grid",
        }
    }

    /// Parses the name written by [`AreaLevel::as_str`].
    pub fn parse(s: &str) -> Option<AreaLevel> {
        AreaLevel::ALL.into_iter().find(|level| level.as_str() == s)
    }

    /// Returns the number of digits of a code at this level.
    pub fn code_len(self) -> usize {
        match self {
            AreaLevel::City => 6,
            AreaLevel::District => 6,
            AreaLevel::Street => 9,
            AreaLevel::Community => 12,
            AreaLevel::Grid => 15,
        }
    }

    /// Returns the level directly above, if any.
    pub fn parent(self) -> Option<AreaLevel> {
        match self {
            AreaLevel::City => None,
            AreaLevel::District => Some(AreaLevel::City),
            AreaLevel::Street => Some(AreaLevel::District),
            AreaLevel::Community => Some(AreaLevel::Street),
            AreaLevel::Grid => Some(AreaLevel::Community),
        }
    }
}

/// Checks that `code` has the digits of `level` and extends its parent's code.
pub fn validate_code(
    level: AreaLevel,
    code: &str,
    parent_code: Option<&str>,
) -> Result<(), String> {
    if code.len() != level.code_len() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "a {} code has {} digits, got {code:?}",
            level.as_str(),
            level.code_len()
        ));
    }
    // A district's 6-digit code shares only the 4-digit prefix with its 6-digit city code.
    if let Some(parent) = parent_code {
        let prefix = if parent.len() == code.len() {
            &parent[..parent.len().min(4)]
        } else {
            parent
        };
        if !code.starts_with(prefix) {
            return Err(format!(
                "code {code} does not extend its parent code {parent}"
            ));
        }
    }
    Ok(())
}

impl TryFrom<String> for AreaLevel {
    type Error = crate::UnknownName;

    fn try_from(name: String) -> Result<AreaLevel, crate::UnknownName> {
        AreaLevel::parse(&name).ok_or(crate::UnknownName {
            kind: "area level",
            name,
        })
    }
}

impl std::fmt::Display for AreaLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
