//! Every stable error code the server can send has its own text in the web UI (`web/src/errors.ts`
//! and `web/src/errors-more.ts`), so a Chinese screen never falls back to the server's English
//! message. The codes are read from the sources: the first argument of `ServiceError::invalid`,
//! `ServiceError::new` and the throttles (`throttled`, `limited`), and the string literals of every `fn code(&self)` (the workflow's and
//! the store's error kinds).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The string literal that starts `rest` after blanks and an optional `ErrorKind::X,` (or
/// `ErrorKind::X { … },`).
fn first_literal(rest: &str) -> Option<&str> {
    let mut rest = rest.trim_start();
    if rest.starts_with("ErrorKind::") {
        let mut depth = 0;
        let comma = rest.char_indices().find(|&(_, c)| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => return true,
                _ => {}
            }
            false
        })?;
        rest = rest[comma.0 + 1..].trim_start();
    }
    let body = rest.strip_prefix('"')?;
    Some(&body[..body.find('"')?])
}

fn literals(text: &str) -> impl Iterator<Item = &str> {
    text.split('"').skip(1).step_by(2)
}

fn server_codes() -> BTreeMap<String, String> {
    let mut files = Vec::new();
    for krate in [
        "urbis-domain",
        "urbis-storage",
        "urbis-service",
        "urbis-http",
    ] {
        rust_files(&root().join("crates").join(krate).join("src"), &mut files);
    }
    let mut codes = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable source");
        let shown = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        for call in [
            "ServiceError::invalid(",
            "ServiceError::new(",
            "throttled(",
            "limited(",
        ] {
            for (at, _) in text.match_indices(call) {
                if let Some(code) = first_literal(&text[at + call.len()..]).filter(|c| is_code(c)) {
                    codes
                        .entry(code.to_owned())
                        .or_insert_with(|| shown.clone());
                }
            }
        }
        for head in ["fn code(&self)", "fn code(self)"] {
            for (at, _) in text.match_indices(head) {
                let body = &text[at..];
                let end = body.find("\n    }\n").unwrap_or(body.len());
                for code in literals(&body[..end]).filter(|c| is_code(c)) {
                    codes
                        .entry(code.to_owned())
                        .or_insert_with(|| shown.clone());
                }
            }
        }
    }
    codes
}

fn ui_codes() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for file in ["errors.ts", "errors-more.ts"] {
        let text = std::fs::read_to_string(root().join("web/src").join(file)).expect("readable");
        for line in text.lines() {
            if let Some((key, value)) = line.trim().split_once(':')
                && is_code(key)
                && value.trim_start().starts_with('[')
            {
                codes.insert(key.to_owned());
            }
        }
    }
    codes
}

#[test]
fn the_ui_has_a_text_for_every_server_error_code() {
    let server = server_codes();
    // The scan itself must find the codes it is about, or it proves nothing.
    for known in [
        "bad_credentials",
        "illegal_transition",
        "storage_full",
        "invalid_period",
    ] {
        assert!(server.contains_key(known), "the scan missed {known}");
    }
    let ui = ui_codes();
    let missing: Vec<String> = server
        .iter()
        .filter(|(code, _)| !ui.contains(*code))
        .map(|(code, file)| format!("{code} ({file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} server error code(s) without a text in web/src/errors*.ts: {}",
        missing.len(),
        missing.join(", ")
    );
}
