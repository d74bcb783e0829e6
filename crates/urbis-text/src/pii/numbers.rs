//! Digit-based personal data: mobiles, landlines, ID-card numbers and bank cards.
//!
//! Digits are ASCII, full-width or Chinese numerals (〇零一幺二…九). A number is a run of digit groups joined by
//! short separators (spaces, dashes, dots, a closing bracket); the longest run of whole groups that forms a valid
//! number wins, and a group is never split.

use super::{PiiKind, PiiSpan, Text};

/// Returns the value of an ASCII, full-width or Chinese-numeral digit.
pub(crate) fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        // The common case, any other Han character, in one table lookup.
        '\u{4e00}'..='\u{9fff}' if super::cjk_flags(c) & super::flags::CHINESE_DIGIT == 0 => None,
        '０'..='９' => Some((c as u32 - '０' as u32) as u8),
        '〇' | '零' => Some(0),
        '一' | '幺' => Some(1),
        '二' => Some(2),
        '三' => Some(3),
        '四' => Some(4),
        '五' => Some(5),
        '六' => Some(6),
        '七' => Some(7),
        '八' => Some(8),
        '九' => Some(9),
        _ => None,
    }
}

fn is_chinese_numeral(c: char) -> bool {
    !c.is_ascii_digit() && !('０'..='９').contains(&c) && digit_value(c).is_some()
}

/// Separators allowed between digit groups; a run of up to three, at most one of them not a space.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}' | '-' | '－' | '—' | '–' | '.' | '．' | '·' | ')' | '）'
    )
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{3000}')
}

/// Characters after a number that make it a quantity rather than a phone or card.
pub(super) const UNITS: &str =
    "元万亿千百十平米㎡²人次个户吨份件台辆条栋层楼号年月日天时分秒%％‰倍度斤克只名家所座套间张";

/// Words shortly before a number that make a bare 7–8 digit number (or an unseparated one with area code)
/// a telephone number.
const PHONE_WORDS: &[&str] = &[
    "电话",
    "座机",
    "固话",
    "手机",
    "致电",
    "拨打",
    "来电",
    "联系方式",
    "号码",
    "tel",
    "Tel",
    "TEL",
];

/// A maximal run of digits (possibly ending in X), as char indices `start..end` and its digit string.
struct Group {
    start: usize,
    end: usize,
    digits: String,
    /// Chinese numerals among the digits.
    chinese: usize,
    /// The separator before this group contained a dot.
    after_dot: bool,
}

pub(super) fn find(view: &Text<'_>) -> Vec<PiiSpan> {
    let mut spans: Vec<PiiSpan> = Vec::new();
    // Char index after the latest telephone number: a list "电话：8805667，8805670" shares its context.
    let mut phone_end = None;
    let mut i = 0;
    while i < view.len() {
        if view.at(i).and_then(digit_value).is_none() {
            i += 1;
            continue;
        }
        let (groups, j) = collect_groups(view, i);
        let listed = phone_end.is_some_and(|end: usize| {
            i > end
                && i <= end + 2
                && (end..i).all(|k| view.at(k).is_some_and(|c| "、，,或/ ".contains(c)))
        });
        // Only numbers of 7 digits or more need the context, and most digit runs are years and dates.
        let long = groups.iter().map(|g| g.digits.len()).sum::<usize>() >= 7;
        let context = long && (listed || phone_context(view, i));
        let found = match_groups(view, &groups, context);
        if found.last().is_some_and(|s| {
            matches!(s.kind, PiiKind::Mobile | PiiKind::Landline) && s.end == view.byte(j)
        }) {
            phone_end = Some(j);
        }
        spans.extend(found);
        i = j.max(i + 1);
    }
    spans
}

/// Collects groups joined by separators starting at char `i`; returns them and the char index after the last.
fn collect_groups(view: &Text<'_>, i: usize) -> (Vec<Group>, usize) {
    let mut groups: Vec<Group> = Vec::new();
    let mut j = i;
    let mut after_dot = false;
    loop {
        let start = j;
        let mut digits = String::new();
        let mut chinese = 0;
        while let Some(c) = view.at(j) {
            match digit_value(c) {
                Some(d) => {
                    digits.push(char::from(b'0' + d));
                    chinese += usize::from(is_chinese_numeral(c));
                }
                // An ID card's check character X may end a 17-digit run of groups.
                None if matches!(c, 'X' | 'x')
                    && groups.iter().map(|g| g.digits.len()).sum::<usize>() + digits.len()
                        == 17 =>
                {
                    digits.push('X')
                }
                None => break,
            }
            j += 1;
            if digits.ends_with('X') {
                break;
            }
        }
        let ends_in_x = digits.ends_with('X');
        groups.push(Group {
            start,
            end: j,
            digits,
            chinese,
            after_dot,
        });
        if ends_in_x || groups.len() >= 24 {
            break;
        }
        // Up to three separator characters, at most one that is not a space, then a digit.
        let mut k = j;
        let mut marks = 0;
        after_dot = false;
        while k < j + 3 && view.at(k).is_some_and(is_separator) {
            let c = view.at(k).unwrap_or(' ');
            if !is_space(c) {
                marks += 1;
                after_dot |= matches!(c, '.' | '．' | '·');
            }
            k += 1;
        }
        if k == j || marks > 1 || view.at(k).and_then(digit_value).is_none() {
            break;
        }
        j = k;
    }
    (groups, j)
}

/// Is there a telephone word in the few characters before char `i`?
fn phone_context(view: &Text<'_>, i: usize) -> bool {
    let before = view.slice(i.saturating_sub(8), i);
    PHONE_WORDS.iter().any(|w| before.contains(w))
}

/// Finds numbers among consecutive groups, longest match first, never splitting a group.
fn match_groups(view: &Text<'_>, groups: &[Group], context: bool) -> Vec<PiiSpan> {
    let mut spans = Vec::new();
    let mut k = 0;
    while k < groups.len() {
        let mut matched = None;
        let mut length = 0;
        // Lengths grow with `last`: only runs of 7 to 19 digits can be a number.
        let candidates: Vec<usize> = (k..groups.len())
            .take_while(|&last| {
                length += groups[last].digits.len();
                length <= 19
            })
            .filter(|&last| {
                groups[k..=last]
                    .iter()
                    .map(|g| g.digits.len())
                    .sum::<usize>()
                    >= 7
            })
            .collect();
        for &last in candidates.iter().rev() {
            let run = &groups[k..=last];
            if let Some(kind) = classify(run, context && k == 0) {
                matched = Some((kind, last));
                break;
            }
        }
        match matched {
            Some((kind, last))
                if kind == PiiKind::IdCard
                    || !is_quantity(
                        view,
                        groups[k].start,
                        groups[last].end,
                        kind == PiiKind::Mobile,
                    ) =>
            {
                let mut start = groups[k].start;
                // Include a leading + of +86, or the opening bracket of (0731) when the bracket closes after it.
                let closes = last > k
                    && view
                        .at(groups[k].end)
                        .is_some_and(|c| matches!(c, ')' | '）'));
                if start > 0
                    && (matches!(view.at(start - 1), Some('+' | '＋'))
                        || (closes && matches!(view.at(start - 1), Some('(' | '（'))))
                {
                    start -= 1;
                }
                spans.push(view.span(kind, start, groups[last].end));
                k = last + 1;
            }
            _ => k += 1,
        }
    }
    spans
}

/// Units that, right after a mobile-shaped number, are more likely the next word ("13912345678楼道",
/// "…号楼") than the number's unit.
const PLACE_UNITS: &str = "楼层栋号座间所家套";

/// Is the number at chars `start..end` a quantity: followed by a unit or preceded by a currency sign?
/// After a mobile-shaped number the unit must follow at once and not be a place unit: "请回电
/// 13912345678 楼道堆物" is a phone number.
fn is_quantity(view: &Text<'_>, start: usize, end: usize, mobile: bool) -> bool {
    let mut next = end;
    while !mobile && view.at(next).is_some_and(is_space) {
        next += 1;
    }
    let unit = view
        .at(next)
        .is_some_and(|c| UNITS.contains(c) && !(mobile && PLACE_UNITS.contains(c)));
    let currency = start > 0 && matches!(view.at(start - 1), Some('¥' | '￥' | '$' | '＄'));
    unit || currency
}

/// Is the grouping plausible for a written number? Inner groups have at least 3 digits (all of them when dots
/// separate), unless every group is a single digit ("1 3 8 …"); Chinese numerals are not mixed with other digits
/// across groups of one.
fn plausible_grouping(groups: &[Group]) -> bool {
    if groups.len() == 1 {
        return true;
    }
    if groups.iter().all(|g| g.digits.len() == 1) {
        return !groups.iter().any(|g| g.after_dot);
    }
    let dots = groups.iter().any(|g| g.after_dot);
    let inner_ok = groups[1..groups.len() - 1]
        .iter()
        .all(|g| g.digits.len() >= 3);
    let ends_ok = !dots || groups.iter().all(|g| g.digits.len() >= 3);
    inner_ok && ends_ok
}

fn classify(groups: &[Group], context: bool) -> Option<PiiKind> {
    if !plausible_grouping(groups) {
        return None;
    }
    // Digits written one by one ("1 3 8 …") can only be a mobile number: 11 digits, or 13 with 86.
    let one_by_one = groups.len() > 1 && groups.iter().all(|g| g.digits.len() == 1);
    if one_by_one && groups.len() != 11 && groups.len() != 13 {
        return None;
    }
    let digits: String = groups.iter().map(|g| g.digits.as_str()).collect();
    let bytes = digits.as_bytes();
    let chinese: usize = groups.iter().map(|g| g.chinese).sum();
    if bytes.len() == 18 && is_valid_id_card(bytes) {
        return Some(PiiKind::IdCard);
    }
    if !bytes.iter().all(u8::is_ascii_digit) {
        return (bytes.len() == 18 && is_plausible_id_card(bytes)).then_some(PiiKind::IdCard);
    }
    let is_mobile = |b: &[u8]| b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
    if is_mobile(bytes) || (bytes.len() == 13 && bytes.starts_with(b"86") && is_mobile(&bytes[2..]))
    {
        // "15000000000" is a count, not a phone.
        let tail = &bytes[bytes.len() - 8..];
        return (!tail.iter().all(|&b| b == b'0')).then_some(PiiKind::Mobile);
    }
    if one_by_one {
        return None;
    }
    // Chinese numerals are read as landlines only after a telephone word, never as cards or IDs.
    if chinese > 0 && !context {
        return None;
    }
    if (16..=19).contains(&bytes.len())
        && (b'3'..=b'6').contains(&bytes[0])
        && luhn_valid(bytes)
        && (groups.len() == 1 || groups.iter().all(|g| g.digits.len() >= 4))
    {
        return Some(PiiKind::BankCard);
    }
    if (bytes.len() == 18 || bytes.len() == 15) && is_plausible_id_card(bytes) {
        return Some(PiiKind::IdCard);
    }
    let area_code = |b: &[u8]| (3..=4).contains(&b.len()) && b[0] == b'0' && b[1] != b'0';
    let local = |b: &[u8]| (7..=8).contains(&b.len()) && (b'2'..=b'9').contains(&b[0]);
    if groups.len() >= 2 && area_code(groups[0].digits.as_bytes()) {
        let rest = &bytes[groups[0].digits.len()..];
        if local(rest) {
            return Some(PiiKind::Landline);
        }
    }
    if context {
        // "电话：84512345", "座机 8451 2345", "电话073184512345".
        if local(bytes) && groups.len() <= 2 {
            return Some(PiiKind::Landline);
        }
        let area = if bytes.len() >= 2 && matches!(bytes[1], b'1' | b'2') {
            3
        } else {
            4
        };
        if groups.len() == 1
            && bytes.len() > area
            && area_code(&bytes[..area])
            && local(&bytes[area..])
        {
            return Some(PiiKind::Landline);
        }
    }
    None
}

/// Checks the GB 11643-1999 check character of an 18-character ID number.
pub fn is_valid_id_card(id: &[u8]) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    if id.len() != 18 || !id[..17].iter().all(u8::is_ascii_digit) || id[0] == b'0' {
        return false;
    }
    let sum: u32 = id[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d - b'0') * w)
        .sum();
    id[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

/// Checks the shape of an ID number whatever its check character: an 18-character one (17 digits and a digit or
/// X) with a province code in use and a birth date from 1900 to 2039, or a 15-digit one (issued before 1999)
/// with a province code and a YYMMDD birth date.
pub fn is_plausible_id_card(id: &[u8]) -> bool {
    let digit = |k: usize| u32::from(id[k] - b'0');
    let number = |from: usize, to: usize| (from..to).fold(0, |n, k| n * 10 + digit(k));
    let province_ok = |id: &[u8]| {
        matches!(
            (id[0] - b'0') * 10 + (id[1] - b'0'),
            11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82
        )
    };
    let date_ok = |month: u32, day: u32| (1..=12).contains(&month) && (1..=31).contains(&day);
    match id.len() {
        18 => {
            id[..17].iter().all(u8::is_ascii_digit)
                && (id[17].is_ascii_digit() || id[17].eq_ignore_ascii_case(&b'X'))
                && province_ok(id)
                && (1900..=2039).contains(&number(6, 10))
                && date_ok(number(10, 12), number(12, 14))
        }
        15 => {
            id.iter().all(u8::is_ascii_digit)
                && province_ok(id)
                && date_ok(number(8, 10), number(10, 12))
        }
        _ => false,
    }
}

/// Checks the Luhn (mod 10) check digit of a card number.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
