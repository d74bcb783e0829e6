//! Home addresses: the household part (building, unit, floor, room and door numbers) found in free text, and
//! masking an address down to its coarse part.
//!
//! In free text a chain of address parts is personal data when it reaches a room ("3栋2单元501", "12栋1504",
//! "5楼505室", "117室") or, after 住在/家住/住址/地址/…, any building or door number ("住在幸福路18号").
//! A building or unit alone ("9栋2单元东边电梯"), floors ("3楼"), layouts ("2室1厅"), dates ("5月3号") and
//! counts ("300户") are not.

use super::{PiiKind, PiiSpan, Text};

/// Phrases after which the rest of the clause is where someone lives.
const RESIDENCE_TRIGGERS: &[&str] = &[
    "住在",
    "家住",
    "住址",
    "地址",
    "住于",
    "现住",
    "居住在",
    "居住于",
    "我家在",
    "租住",
    "住的是",
];
/// First characters of the triggers (looked up through [`super::cjk_flags`]).
pub(super) const TRIGGER_STARTS: &str = "住家地现居我租";
/// Chinese numerals in building and unit numbers; 〇 is checked apart.
pub(super) const CHINESE_NUMBERS: &str = "零一二三四五六七八九十两百";

fn starts_trigger(c: char) -> bool {
    super::cjk_flags(c) & super::flags::RESIDENCE_TRIGGER != 0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Building,
    Unit,
    Floor,
    Room,
    Door,
    /// A number without a suffix ("12栋1504", "3-2-501").
    Bare,
}

/// Suffixes after a number, longest first.
const SUFFIXES: &[(&str, Part)] = &[
    ("号楼", Part::Building),
    ("号院", Part::Door),
    ("号房", Part::Room),
    ("单元", Part::Unit),
    ("栋", Part::Building),
    ("幢", Part::Building),
    ("座", Part::Building),
    ("楼", Part::Floor),
    ("层", Part::Floor),
    ("室", Part::Room),
    ("房", Part::Room),
    ("号", Part::Door),
];

struct Token {
    start: usize,
    end: usize,
    part: Part,
    /// The digits form a room number (3–5 digits ending in 01–40).
    room_number: bool,
    /// Digits of the number (0 for letters and Chinese numerals).
    digits: usize,
}

fn is_ascii_or_wide_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn is_chinese_number(c: char) -> bool {
    c == '〇' || super::cjk_flags(c) & super::flags::CHINESE_NUMBER != 0
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '－' | '—' | '–')
}

/// Reads an address part at char `i`, if one starts there.
fn token_at(view: &Text<'_>, i: usize) -> Option<Token> {
    let c = view.at(i)?;
    let before = if i > 0 { view.at(i - 1) } else { None };
    let mut j = i;
    let (digits, room_number);
    if is_ascii_or_wide_digit(c) {
        if before.is_some_and(|b| is_ascii_or_wide_digit(b) || b.is_ascii_alphabetic() || b == '.')
        {
            return None;
        }
        let mut value = String::new();
        while let Some(d) = view.at(j).filter(|&d| is_ascii_or_wide_digit(d)) {
            value.push(char::from(b'0' + super::numbers::digit_value(d)?));
            j += 1;
        }
        digits = value.len();
        let tail: u32 = value[value.len().saturating_sub(2)..].parse().unwrap_or(0);
        room_number = (3..=5).contains(&digits) && (1..=40).contains(&tail);
    } else if is_chinese_number(c) || c.is_ascii_uppercase() {
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || is_chinese_number(b)) {
            return None;
        }
        j += 1;
        if is_chinese_number(c) {
            while view.at(j).is_some_and(is_chinese_number) {
                j += 1;
            }
        }
        // Letters and Chinese numerals count only before a building or unit suffix.
        let suffix = SUFFIXES
            .iter()
            .find(|(s, _)| view.starts_with(j, s))
            .filter(|(_, part)| matches!(part, Part::Building | Part::Unit))?;
        let end = j + suffix.0.chars().count();
        return Some(Token {
            start: i,
            end,
            part: suffix.1,
            room_number: false,
            digits: 0,
        });
    } else {
        return None;
    }
    let next_after = |k: usize| view.at(k);
    match SUFFIXES.iter().find(|(s, _)| view.starts_with(j, s)) {
        Some(&(suffix, part)) => {
            let end = j + suffix.chars().count();
            let after = next_after(end);
            let excluded = match part {
                // Dates, serial numbers, metro lines and document numbers.
                Part::Door => {
                    before.is_some_and(|b| matches!(b, '月' | '第'))
                        || after.is_some_and(|a| "线文令码机牌称公".contains(a))
                }
                Part::Room => {
                    !room_number
                        || (suffix == "房" && after.is_some_and(|a| "子间屋产源价厅".contains(a)))
                }
                Part::Floor => after.is_some_and(|a| "盘梯道市".contains(a)),
                _ => false,
            };
            (!excluded).then_some(Token {
                start: i,
                end,
                part,
                room_number,
                digits,
            })
        }
        None => {
            let after = next_after(j);
            let quantity = after.is_some_and(|a| {
                super::numbers::UNITS.contains(a)
                    || a.is_ascii_alphabetic()
                    || matches!(
                        a,
                        '.' | '．'
                            | ':'
                            | '：'
                            | '/'
                            | '%'
                            | '+'
                            | '*'
                            | '°'
                            | '℃'
                            | '版'
                            | '届'
                            | '级'
                    )
            });
            (!quantity).then_some(Token {
                start: i,
                end: j,
                part: Part::Bare,
                room_number,
                digits,
            })
        }
    }
}

/// Reads a chain of parts joined directly or by single dashes, starting at char `i`.
fn chain_at(view: &Text<'_>, i: usize) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut p = i;
    while let Some(token) = token_at(view, p) {
        // Two numbers in a row need a dash between them, else they are one number: handled by token_at.
        p = token.end;
        tokens.push(token);
        if view.at(p).is_some_and(is_dash) && token_at(view, p + 1).is_some() {
            p += 1;
        }
    }
    tokens
}

/// Is this chain a household's address part?
fn is_household(view: &Text<'_>, tokens: &[Token], residence: bool) -> bool {
    let Some(first) = tokens.first() else {
        return false;
    };
    // A number without suffix is a room only after a building, unit or floor ("12栋1504", "12栋2-501"), after a
    // short building number ("5-2902"), or first after 住在 when it is no year ("住在501", not "居住2002年前").
    let year_like = |t: &Token| {
        t.digits == 4 && t.room_number && {
            let text = view.slice(t.start, t.end);
            text.starts_with("19") || text.starts_with("20")
        }
    };
    let room = tokens.iter().enumerate().any(|(k, t)| {
        t.room_number
            && match t.part {
                Part::Room => true,
                // "9栋1602号", not "怀国资函[2012-124号]" or "1-240号".
                Part::Door => k > 0 && tokens[k - 1].part != Part::Bare,
                Part::Bare if k == 0 => residence && !year_like(t),
                Part::Bare => {
                    let before = &tokens[k - 1];
                    let first_bare = k == 1 || tokens[k - 2].part != Part::Bare;
                    before.part != Part::Bare || (before.digits <= 2 && first_bare)
                }
                _ => false,
            }
    });
    if room && (tokens.len() >= 2 || first.part == Part::Room || residence) {
        return true;
    }
    // "XX小区3-2-501": three dashed numbers after a place name.
    let dashed = tokens.len() == 3
        && tokens.iter().all(|t| t.part == Part::Bare)
        && tokens[0].digits <= 2
        && tokens[1].digits <= 2
        && tokens[2].room_number;
    let place_before = first.start > 0
        && view
            .at(first.start - 1)
            .is_some_and(|c| "区苑园城府庭邸寓湾居舍村院楼厦巷里弄坊".contains(c));
    if dashed && (place_before || residence) {
        return true;
    }
    residence
        && tokens.iter().any(|t| {
            matches!(
                t.part,
                Part::Building | Part::Unit | Part::Door | Part::Room
            )
        })
}

pub(super) fn find(view: &Text<'_>) -> Vec<PiiSpan> {
    let mut spans = Vec::new();
    // End (char index) of the clause that follows the latest residence trigger.
    let mut residence_until = 0;
    let mut i = 0;
    while i < view.len() {
        let c = view.at(i).unwrap_or(' ');
        if starts_trigger(c)
            && RESIDENCE_TRIGGERS
                .iter()
                .any(|t| t.starts_with(c) && view.starts_with(i, t))
        {
            let mut end = i + 2;
            while end < view.len()
                && end < i + 40
                && !view.at(end).is_some_and(|c| "，,。；;！!？?\n".contains(c))
            {
                end += 1;
            }
            residence_until = end;
        }
        if is_ascii_or_wide_digit(c) || is_chinese_number(c) || c.is_ascii_uppercase() {
            let tokens = chain_at(view, i);
            if let (Some(first), Some(last)) = (tokens.first(), tokens.last()) {
                if is_household(view, &tokens, i < residence_until) {
                    spans.push(view.span(PiiKind::Address, first.start, last.end));
                }
                i = last.end;
                continue;
            }
        }
        i += 1;
    }
    spans
}

/// Suffixes after which a number is coarse (district, street, road, phase) and stays.
const COARSE_SUFFIXES: &str = "区市县镇乡街路道巷期环线国省州村队";
/// Suffixes after which a number is a household detail.
const DETAIL_SUFFIXES: &str = "栋幢座单元号楼层室房组弄户门";

/// Masks an address down to its coarse part: province, city, district, street, road and community names stay;
/// building, unit, floor, room and door numbers become `*` (`幸福路18号阳光小区3栋2单元501` →
/// `幸福路**号阳光小区*栋*单元***`). Numbers that name a district or road (`A2区`, `107国道`, `枫林三路`) stay.
pub fn mask_address(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    let mut out = String::with_capacity(address.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let alnum = |c: char| c.is_ascii_alphanumeric() || is_ascii_or_wide_digit(c);
        let (run_end, chinese) = if alnum(c) {
            let mut j = i;
            while j < chars.len() && alnum(chars[j]) {
                j += 1;
            }
            (j, false)
        } else if is_chinese_number(c) {
            let mut j = i;
            while j < chars.len() && is_chinese_number(chars[j]) {
                j += 1;
            }
            (j, true)
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        let run = &chars[i..run_end];
        let next = chars.get(run_end).copied();
        let coarse = next.is_some_and(|n| COARSE_SUFFIXES.contains(n));
        let detail = next.is_some_and(|n| DETAIL_SUFFIXES.contains(n));
        let has_digit = run.iter().any(|&c| is_ascii_or_wide_digit(c));
        let masked = !coarse && (detail || (!chinese && has_digit));
        for &c in run {
            out.push(if masked { '*' } else { c });
        }
        i = run_end;
    }
    out
}
