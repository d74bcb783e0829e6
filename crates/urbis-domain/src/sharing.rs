//! The government data-resource catalogue (政务信息资源目录) and its rules: sharing types after
//! 国发〔2016〕51号 (无条件共享 / 有条件共享 / 不予共享), the parallel opening types, the security
//! grades of GB/T 43697-2024 (一般 / 重要 / 核心) per resource and per field, and what a grant lets
//! a consumer read. Pure: the service applies these rules, the store only keeps the rows.

use std::collections::BTreeSet;

/// How a resource is shared between departments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharingType {
    /// 无条件共享: every department may read it; a request is granted at once.
    Unconditional,
    /// 有条件共享: a request with purpose, fields and period, answered by the owner.
    Conditional,
    /// 不予共享: not shared; needs a legal basis and cannot be requested.
    None,
}

/// How a resource is opened to the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpeningType {
    /// 无条件开放: published as de-identified open data.
    Unconditional,
    /// 有条件开放: open to named users under an agreement (not published on the portal).
    Conditional,
    /// 不予开放.
    None,
}

/// Security grade after GB/T 43697-2024; ordered from least to most sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    /// 一般数据.
    General,
    /// 重要数据.
    Important,
    /// 核心数据.
    Core,
}

macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal / $zh:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in a stable order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
            /// The stable wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }
            /// The Chinese term.
            pub fn title_zh(self) -> &'static str {
                match self { $($ty::$variant => $zh),* }
            }
            /// Parses a stable name.
            pub fn parse(s: &str) -> Option<$ty> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

names!(SharingType {
    Unconditional => "unconditional" / "无条件共享",
    Conditional => "conditional" / "有条件共享",
    None => "none" / "不予共享",
});
names!(OpeningType {
    Unconditional => "unconditional" / "无条件开放",
    Conditional => "conditional" / "有条件开放",
    None => "none" / "不予开放",
});
names!(Grade {
    General => "general" / "一般",
    Important => "important" / "重要",
    Core => "core" / "核心",
});

/// Limits on catalogue input.
pub mod limits {
    /// Most fields a resource declares.
    pub const FIELDS_MAX: usize = 64;
    /// Longest field name (ASCII letters, digits, `_`).
    pub const FIELD_NAME_MAX: usize = 48;
    /// Longest free text (description, meaning, legal basis, purpose).
    pub const TEXT_MAX: usize = 2_000;
    /// Longest sharing period in days.
    pub const PERIOD_MAX_DAYS: u32 = 366;
}

/// One declared field of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: String,
    /// `text`, `integer`, `number`, `date`, `datetime`, `boolean`.
    pub kind: String,
    /// What the field means (数据项描述).
    pub meaning: String,
    /// Whether the field holds personal data (个人信息).
    pub personal: bool,
    pub grade: Grade,
}

/// The field types a resource may declare.
pub const FIELD_KINDS: &[&str] = &["text", "integer", "number", "date", "datetime", "boolean"];

/// Why a catalogue entry or a request is not acceptable; `code` is the stable wire code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingRuleError {
    pub code: &'static str,
    pub message: String,
}

fn rule(code: &'static str, message: impl Into<String>) -> SharingRuleError {
    SharingRuleError {
        code,
        message: message.into(),
    }
}

/// Checks a resource's declaration: field names unique and well formed, known kinds, a legal
/// basis whenever something is restricted (不予共享, 不予开放, or 有条件共享), and the
/// resource's grade at least as high as any field's (就高从严).
pub fn validate_resource(
    sharing: SharingType,
    opening: OpeningType,
    grade: Grade,
    legal_basis: &str,
    fields: &[FieldSpec],
) -> Result<(), SharingRuleError> {
    if fields.is_empty() || fields.len() > limits::FIELDS_MAX {
        return Err(rule(
            "invalid_fields",
            format!("a resource declares 1 to {} fields", limits::FIELDS_MAX),
        ));
    }
    let mut seen = BTreeSet::new();
    for field in fields {
        let ok_name = !field.name.is_empty()
            && field.name.len() <= limits::FIELD_NAME_MAX
            && field
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok_name {
            return Err(rule(
                "invalid_fields",
                format!(
                    "field name {:?}: 1–48 ASCII letters, digits or _",
                    field.name
                ),
            ));
        }
        if !seen.insert(field.name.as_str()) {
            return Err(rule(
                "invalid_fields",
                format!("field {} is declared twice", field.name),
            ));
        }
        if !FIELD_KINDS.contains(&field.kind.as_str()) {
            return Err(rule(
                "invalid_fields",
                format!(
                    "field {}: type is one of {}",
                    field.name,
                    FIELD_KINDS.join(", ")
                ),
            ));
        }
        if field.grade > grade {
            return Err(rule(
                "grade_below_field",
                format!(
                    "field {} is graded {} but the resource only {}: a resource takes its highest field's grade",
                    field.name,
                    field.grade.title_zh(),
                    grade.title_zh()
                ),
            ));
        }
    }
    let restricted = sharing != SharingType::Unconditional || opening == OpeningType::None;
    if restricted && legal_basis.trim().is_empty() {
        return Err(rule(
            "legal_basis_required",
            "a restricted resource (有条件共享, 不予共享 or 不予开放) needs its legal basis",
        ));
    }
    if grade == Grade::Core && sharing == SharingType::Unconditional {
        return Err(rule(
            "grade_forbids_sharing",
            "核心数据 is never shared unconditionally",
        ));
    }
    if opening == OpeningType::Unconditional
        && let Some(field) = fields.iter().find(|f| f.personal)
    {
        return Err(rule(
            "personal_data_not_openable",
            format!(
                "field {} is personal data: a resource with personal fields is never opened unconditionally",
                field.name
            ),
        ));
    }
    if opening == OpeningType::Unconditional && fields.iter().any(|f| f.grade > Grade::General) {
        return Err(rule(
            "grade_forbids_opening",
            "only resources whose fields are all 一般 may be opened unconditionally",
        ));
    }
    Ok(())
}

/// What a grant lets its key read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantScope {
    /// Fields the key may read.
    pub fields: BTreeSet<String>,
    /// Personal fields among them that the grant names for reading in clear; other personal
    /// fields are masked.
    pub clear: BTreeSet<String>,
}

/// Checks the fields a read asks for against a grant: every one must be granted. An empty ask
/// means every granted field, in declaration order.
pub fn fields_for_read(
    declared: &[FieldSpec],
    scope: &GrantScope,
    asked: &[String],
) -> Result<Vec<String>, SharingRuleError> {
    if asked.is_empty() {
        return Ok(declared
            .iter()
            .filter(|f| scope.fields.contains(&f.name))
            .map(|f| f.name.clone())
            .collect());
    }
    let mut out = Vec::new();
    for name in asked {
        if !scope.fields.contains(name) {
            return Err(rule(
                "field_not_granted",
                format!("field {name} is not in this key's grant"),
            ));
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// Checks the fields a request or an approval names: all declared, at least one.
pub fn check_requested_fields(
    declared: &[FieldSpec],
    asked: &[String],
) -> Result<BTreeSet<String>, SharingRuleError> {
    if asked.is_empty() {
        return Err(rule("invalid_fields", "name at least one field"));
    }
    let mut out = BTreeSet::new();
    for name in asked {
        if !declared.iter().any(|f| &f.name == name) {
            return Err(rule(
                "unknown_field",
                format!("the resource has no field {name}"),
            ));
        }
        out.insert(name.clone());
    }
    Ok(out)
}

/// The scope of a grant: for 有条件共享 the owner named every granted field, so personal ones are
/// clear; an automatic 无条件共享 grant masks every personal field.
pub fn grant_scope(
    declared: &[FieldSpec],
    fields: BTreeSet<String>,
    sharing: SharingType,
) -> GrantScope {
    let clear = if sharing == SharingType::Conditional {
        declared
            .iter()
            .filter(|f| f.personal && fields.contains(&f.name))
            .map(|f| f.name.clone())
            .collect()
    } else {
        BTreeSet::new()
    };
    GrantScope { fields, clear }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, personal: bool, grade: Grade) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            kind: "text".into(),
            meaning: String::new(),
            personal,
            grade,
        }
    }

    #[test]
    fn names_round_trip() {
        for t in SharingType::ALL {
            assert_eq!(SharingType::parse(t.as_str()), Some(*t));
        }
        for g in Grade::ALL {
            assert_eq!(Grade::parse(g.as_str()), Some(*g));
        }
        assert_eq!(OpeningType::parse("nope"), None);
    }

    #[test]
    fn restrictions_need_a_legal_basis_and_grades_go_up() {
        let fields = vec![
            field("a", false, Grade::General),
            field("b", true, Grade::Important),
        ];
        let err = validate_resource(
            SharingType::Conditional,
            OpeningType::None,
            Grade::Important,
            " ",
            &fields,
        )
        .unwrap_err();
        assert_eq!(err.code, "legal_basis_required");
        let err = validate_resource(
            SharingType::Unconditional,
            OpeningType::Conditional,
            Grade::General,
            "",
            &fields,
        )
        .unwrap_err();
        assert_eq!(err.code, "grade_below_field");
        assert!(
            validate_resource(
                SharingType::Conditional,
                OpeningType::None,
                Grade::Important,
                "《数据安全法》第二十一条",
                &fields,
            )
            .is_ok()
        );
        let personal = vec![field("phone", true, Grade::General)];
        assert_eq!(
            validate_resource(
                SharingType::Unconditional,
                OpeningType::Unconditional,
                Grade::General,
                "",
                &personal
            )
            .unwrap_err()
            .code,
            "personal_data_not_openable"
        );
        let twice = vec![
            field("a", false, Grade::General),
            field("a", false, Grade::General),
        ];
        assert_eq!(
            validate_resource(
                SharingType::Unconditional,
                OpeningType::Unconditional,
                Grade::General,
                "",
                &twice
            )
            .unwrap_err()
            .code,
            "invalid_fields"
        );
    }

    #[test]
    fn reads_stay_inside_the_grant() {
        let declared = vec![
            field("number", false, Grade::General),
            field("phone", true, Grade::Important),
            field("name", true, Grade::Important),
        ];
        let fields = check_requested_fields(&declared, &["number".into(), "phone".into()]).unwrap();
        let scope = grant_scope(&declared, fields.clone(), SharingType::Conditional);
        assert!(scope.clear.contains("phone"));
        assert_eq!(
            fields_for_read(&declared, &scope, &[]).unwrap(),
            vec!["number".to_owned(), "phone".to_owned()]
        );
        assert_eq!(
            fields_for_read(&declared, &scope, &["name".into()])
                .unwrap_err()
                .code,
            "field_not_granted"
        );
        let auto = grant_scope(&declared, fields, SharingType::Unconditional);
        assert!(auto.clear.is_empty());
        assert_eq!(
            check_requested_fields(&declared, &["x".into()])
                .unwrap_err()
                .code,
            "unknown_field"
        );
    }
}
