//! Personal data found by pattern: e-mail addresses (also spelled out with at/dot), WeChat and QQ ids, and
//! licence plates. Each pattern is compiled once.

use std::sync::LazyLock;

use regex::Regex;

use super::{PiiKind, PiiSpan};

/// Local part, an at-sign in any spelling, then at least two domain labels joined by a dot in any spelling,
/// the last alphabetic.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    let at =
        r"(?:[@＠]|\s*(?:\((?i:at)\)|（(?i:at)）|\[(?i:at)\]|【(?i:at)】|艾特)\s*|\s+(?i:at)\s+)";
    let dot = r"(?:[.．。]|\s*(?:\((?i:dot)\)|（(?i:dot)）|\[(?i:dot)\]|【(?i:dot)】|点)\s*|\s+(?i:dot)\s+)";
    let label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    Regex::new(&format!(
        r"[A-Za-z0-9_][A-Za-z0-9._%+-]{{0,63}}{at}(?:{label}{dot})+[A-Za-z]{{2,}}"
    ))
    .expect("e-mail pattern")
});

/// 微信(号)/vx/wx/V信/威信/wechat, an optional colon or 是/为, then a WeChat id (a letter and 5–19 letters, digits,
/// `_` or `-`) or a number.
static WECHAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:微信|威信|(?i:vx|wx|v信|weixin|wechat))(?:号|(?i:id))?\s*(?:[:：]|是|为)?\s*([A-Za-z][A-Za-z0-9_-]{5,19}|[0-9]{6,12})",
    )
    .expect("wechat pattern")
});

/// QQ(号/号码)/扣扣, an optional colon or 是/为, then a QQ number (5–12 digits, not starting with 0).
static QQ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:(?i:qq)|扣扣)(?:号码|号)?\s*(?:[:：]|是|为)?\s*([1-9][0-9]{4,11})")
        .expect("qq pattern")
});

/// Province character, city letter, an optional separator, then 5 (regular) or 6 (new energy) characters and
/// an optional 挂/学/警/港/澳 (which follows only 4 characters on coach, police and trailer plates).
static PLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z][ ·•・･.\-]?([A-HJ-NP-Z0-9]{4,6})([挂学警港澳]?)",
    )
    .expect("plate pattern")
});

pub(super) fn find_emails(text: &str) -> Vec<PiiSpan> {
    // Most texts hold no at-sign in any spelling: skip the pattern then.
    let bytes = text.as_bytes();
    let maybe = memchr::memchr(b'@', bytes).is_some()
        || memchr::memmem::find(bytes, "＠".as_bytes()).is_some()
        || memchr::memmem::find(bytes, "艾特".as_bytes()).is_some()
        || memchr::memchr2_iter(b'a', b'A', bytes).any(|i| {
            bytes
                .get(i + 1)
                .is_some_and(|b| b.eq_ignore_ascii_case(&b't'))
        });
    if !maybe {
        return Vec::new();
    }
    EMAIL
        .find_iter(text)
        .map(|m| PiiSpan {
            kind: PiiKind::Email,
            start: m.start(),
            end: m.end(),
        })
        .collect()
}

/// WeChat and QQ ids; the span is the id only, not the word before it.
pub(super) fn find_handles(text: &str) -> Vec<PiiSpan> {
    let mut spans = Vec::new();
    for (pattern, kind) in [(&*WECHAT, PiiKind::Wechat), (&*QQ, PiiKind::Qq)] {
        for captures in pattern.captures_iter(text) {
            let Some(id) = captures.get(1) else { continue };
            // The id must end where the match ends: "QQ12345678901234" is not a QQ number.
            let next = text[id.end()..].chars().next();
            if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            // "微信1500000元" is an amount paid by WeChat.
            let numeric = id.as_str().bytes().all(|b| b.is_ascii_digit());
            if numeric && next.is_some_and(|c| super::numbers::UNITS.contains(c)) {
                continue;
            }
            // "vx" inside an English word is not a trigger.
            let whole = captures.get(0).map_or(id.start(), |m| m.start());
            let before = text[..whole].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphabetic()) {
                continue;
            }
            spans.push(PiiSpan {
                kind,
                start: id.start(),
                end: id.end(),
            });
        }
    }
    spans.sort_by_key(|s| s.start);
    spans
}

/// Is there an ASCII capital right after a province character? (Each province character is 3 bytes in UTF-8.)
fn has_plate_start(text: &str) -> bool {
    let bytes = text.as_bytes();
    (3..bytes.len()).any(|i| {
        bytes[i].is_ascii_uppercase()
            && text.is_char_boundary(i - 3)
            && text[i - 3..i].chars().next().is_some_and(|c| {
                matches!(
                    c,
                    '京' | '津'
                        | '沪'
                        | '渝'
                        | '冀'
                        | '豫'
                        | '云'
                        | '辽'
                        | '黑'
                        | '湘'
                        | '皖'
                        | '鲁'
                        | '新'
                        | '苏'
                        | '浙'
                        | '赣'
                        | '鄂'
                        | '桂'
                        | '甘'
                        | '晋'
                        | '蒙'
                        | '陕'
                        | '吉'
                        | '闽'
                        | '贵'
                        | '粤'
                        | '青'
                        | '藏'
                        | '川'
                        | '宁'
                        | '琼'
                )
            })
    })
}

pub(super) fn find_plates(text: &str) -> Vec<PiiSpan> {
    let mut spans = Vec::new();
    if !has_plate_start(text) {
        return spans;
    }
    for captures in PLATE.captures_iter(text) {
        let (Some(whole), Some(serial)) = (captures.get(0), captures.get(1)) else {
            continue;
        };
        let serial = serial.as_str().as_bytes();
        let digits = serial.iter().filter(|b| b.is_ascii_digit()).count();
        let special = captures.get(2).is_some_and(|m| !m.is_empty());
        let plausible = match serial.len() {
            4 => special && digits >= 2,
            5 => digits >= 2,
            // New energy: D/F then a letter or digit and four digits, or five digits then D/F.
            _ => {
                (matches!(serial[0], b'D' | b'F') && serial[2..].iter().all(u8::is_ascii_digit))
                    || (serial[..5].iter().all(u8::is_ascii_digit)
                        && matches!(serial[5], b'D' | b'F'))
            }
        };
        let next = text[whole.end()..].chars().next();
        let before = text[..whole.start()].chars().next_back();
        if plausible
            && !next.is_some_and(|c| c.is_ascii_alphanumeric())
            && !before.is_some_and(|c| c.is_ascii_alphanumeric())
        {
            spans.push(PiiSpan {
                kind: PiiKind::Plate,
                start: whole.start(),
                end: whole.end(),
            });
        }
    }
    spans
}

/// `zhang.san@example.com` → `z***@example.com`; spelled-out forms keep their spelling after the local part.
pub(super) fn mask_email(span: &str) -> String {
    let local_end = span
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')))
        .unwrap_or(span.len());
    let first: String = span.chars().take(1).collect();
    format!("{first}***{}", &span[local_end..])
}

/// `京A·12345` → `京A·****5`: province and city stay, the serial but its last character is masked.
pub(super) fn mask_plate(span: &str) -> String {
    let chars: Vec<char> = span.chars().collect();
    // The serial starts after the province, the letter and any separator.
    let mut serial_start = 2;
    while chars
        .get(serial_start)
        .is_some_and(|c| !c.is_ascii_alphanumeric())
    {
        serial_start += 1;
    }
    let serial_end = chars
        .iter()
        .rposition(char::is_ascii_alphanumeric)
        .unwrap_or(chars.len());
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i >= serial_start && i < serial_end {
                '*'
            } else {
                c
            }
        })
        .collect()
}
