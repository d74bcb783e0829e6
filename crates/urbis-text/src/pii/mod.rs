//! Finding and masking personal data in Chinese appeal text.
//!
//! [`detect`] returns spans of these kinds ([`PiiKind::as_str`] gives the stable code):
//!
//! | code | what | mask |
//! |---|---|---|
//! | `mobile` | `1[3-9]` + 9 digits, optional `+86`/`86`; digits may be ASCII, full-width or Chinese numerals (一三八…, 幺), groups split by spaces, dashes or dots | `138****5678` |
//! | `landline` | `0xx-xxxxxxxx`, `(0xxx)xxxxxxx`; without separator or without area code only after 电话/座机/致电/… | `0731-******45` |
//! | `id_card` | 18 characters with a valid GB 11643 check character, or with a wrong one when region, birth date and shape fit; 15-digit IDs (region + YYMMDD); also when split by spaces | `110***********002X` |
//! | `bank_card` | 16–19 digits, Luhn-valid, issuer digit 3–6 | `6222***********0128` |
//! | `email` | `x@y.z`, `＠`, and `x at y dot z` / `(at)` / `[at]` / 艾特 / 点 spellings | `z***@example.com` |
//! | `wechat` | the id after 微信(号)/vx/wx/V信/wechat | `z*******8` |
//! | `qq` | the number after QQ(号)/扣扣 | `1*******9` |
//! | `plate` | licence plates: 京A·12345, 粤B D12345 (new energy), 湘A1234学 | `京A·****5` |
//! | `name` | names after 我叫, 本人, 我是…先生, 我姓…叫, 姓名/联系人/举报人/投诉人/业主/户主/… | `张**` |
//! | `address` | a household's part of an address: building, unit, room and door numbers (3栋2单元501, 12栋1504, 117室, 3-2-501 after 小区, any door number after 住在/家住/地址) | `*栋*单元***` |
//!
//! The number scanner is hand-written: it groups digit runs joined by short separators, then tries the longest run
//! of groups that forms a valid number. A number is never taken out of a longer digit run, so a 20-digit order
//! number is not a phone, and a number followed by a unit (元, 次, 人, ㎡, 年, …) is not a phone or card. Case
//! numbers (8-digit date + 7-digit serial) start with 20, which is no ID region. E-mail, WeChat, QQ and plates use
//! the `regex` crate (already built for jieba). Name detection is deliberately conservative: a trigger phrase, a
//! common surname, 2–3 Han characters, and a clear end; it prefers missing a name to masking ordinary words.
//!
//! Masks keep a hint for the human reader; separators stay where they were. Offsets are byte offsets into the
//! input, always on character boundaries. [`mask_address`] masks an address field down to its coarse part
//! (district, street, road and community stay; building, unit, room and door numbers become `*`).

mod accounts;
mod address;
mod names;
mod numbers;

use serde::{Deserialize, Serialize};

pub use address::mask_address;
pub use numbers::{is_plausible_id_card, is_valid_id_card, luhn_valid};

/// Kind of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Mobile,
    Landline,
    IdCard,
    BankCard,
    Email,
    Name,
    Wechat,
    Qq,
    Plate,
    Address,
}

impl PiiKind {
    /// Every kind, in the order of the enum.
    pub const ALL: [PiiKind; 10] = [
        PiiKind::Mobile,
        PiiKind::Landline,
        PiiKind::IdCard,
        PiiKind::BankCard,
        PiiKind::Email,
        PiiKind::Name,
        PiiKind::Wechat,
        PiiKind::Qq,
        PiiKind::Plate,
        PiiKind::Address,
    ];

    /// Returns the stable lowercase code, as used in serialised form.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Mobile => "mobile",
            PiiKind::Landline => "landline",
            PiiKind::IdCard => "id_card",
            PiiKind::BankCard => "bank_card",
            PiiKind::Email => "email",
            PiiKind::Name => "name",
            PiiKind::Wechat => "wechat",
            PiiKind::Qq => "qq",
            PiiKind::Plate => "plate",
            PiiKind::Address => "address",
        }
    }
}

/// One detected piece of personal data: `text[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiSpan {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

/// Returns the personal data found in `text`, ordered by position, never overlapping.
///
/// Detectors run in order of confidence (e-mail, numbers, WeChat/QQ, plates, names, addresses); a later span
/// that overlaps an earlier one is dropped.
pub fn detect(text: &str) -> Vec<PiiSpan> {
    let view = Text::new(text);
    let mut spans = accounts::find_emails(text);
    let later = [
        numbers::find(&view),
        accounts::find_handles(text),
        accounts::find_plates(text),
        names::find(&view),
        address::find(&view),
    ];
    for found in later {
        let kept: Vec<PiiSpan> = found
            .into_iter()
            .filter(|n| !spans.iter().any(|e| overlaps(e, n)))
            .collect();
        spans.extend(kept);
    }
    spans.sort_by_key(|s| s.start);
    spans
}

/// Returns `text` with every detected span replaced by its mask (see the module docs).
pub fn mask(text: &str) -> String {
    let spans = detect(text);
    if spans.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    for span in spans {
        out.push_str(&text[position..span.start]);
        out.push_str(&mask_span(span.kind, &text[span.start..span.end]));
        position = span.end;
    }
    out.push_str(&text[position..]);
    out
}

/// Returns the mask of one span of the given kind.
pub fn mask_span(kind: PiiKind, span: &str) -> String {
    match kind {
        PiiKind::Mobile => {
            // The last 11 digits are the number; a leading 86 country code stays visible.
            let total = count_digits(span);
            let first = total.saturating_sub(11);
            mask_digits(span, |d| d < first + 3 || d + 4 >= total)
        }
        PiiKind::Landline => {
            let digits: Vec<u8> = span.chars().filter_map(numbers::digit_value).collect();
            let area = match digits.as_slice() {
                [0, 1 | 2, ..] => 3,
                [0, ..] => 4,
                _ => 0,
            };
            let total = digits.len();
            mask_digits(span, |d| d < area || d + 2 >= total)
        }
        PiiKind::IdCard => {
            let total = count_digits(span);
            mask_digits(span, |d| d < 3 || d + 4 >= total)
        }
        PiiKind::BankCard => {
            let total = count_digits(span);
            mask_digits(span, |d| d < 4 || d + 4 >= total)
        }
        PiiKind::Email => accounts::mask_email(span),
        PiiKind::Wechat | PiiKind::Qq => {
            let total = span.chars().count();
            span.chars()
                .enumerate()
                .map(|(i, c)| if i == 0 || i + 1 == total { c } else { '*' })
                .collect()
        }
        PiiKind::Plate => accounts::mask_plate(span),
        PiiKind::Name => {
            // The first character (the surname) stays; Han characters after it become `*`, except the 叫/名
            // of "张，叫伟" right after the surname or punctuation.
            let mut out = String::with_capacity(span.len());
            let mut previous: Option<char> = None;
            for (i, c) in span.chars().enumerate() {
                let linking = matches!(c, '叫' | '名')
                    && (i == 1 || previous.is_some_and(|p| !is_han(p) || p == '名'));
                out.push(if i == 0 || !is_han(c) || linking {
                    c
                } else {
                    '*'
                });
                previous = Some(c);
            }
            out
        }
        PiiKind::Address => mask_address(span),
    }
}

fn overlaps(a: &PiiSpan, b: &PiiSpan) -> bool {
    a.start < b.end && b.start < a.end
}

/// Counts digits (ASCII, full-width, Chinese numerals) and the check character X, the characters masks are
/// computed over.
fn count_digits(span: &str) -> usize {
    span.chars().filter(|&c| is_maskable_digit(c)).count()
}

fn is_maskable_digit(c: char) -> bool {
    numbers::digit_value(c).is_some() || c == 'X' || c == 'x'
}

/// Replaces the digits (and X) whose index fails `keep` with `*`, leaving other characters in place.
fn mask_digits(span: &str, keep: impl Fn(usize) -> bool) -> String {
    let mut index = 0;
    span.chars()
        .map(|c| {
            if is_maskable_digit(c) {
                let kept = keep(index);
                index += 1;
                if kept { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

/// Flags of Han characters the scanners look for on every character, in one table lookup.
pub(crate) mod flags {
    /// Starts a name trigger (我叫, 联系人, …).
    pub(crate) const NAME_TRIGGER: u8 = 1;
    /// Starts a residence trigger (住在, 家住, …).
    pub(crate) const RESIDENCE_TRIGGER: u8 = 2;
    /// A Chinese numeral used in building and unit numbers (三栋, 二单元).
    pub(crate) const CHINESE_NUMBER: u8 = 4;
    /// A Chinese numeral read as a digit of a phone number (一三八…, 幺).
    pub(crate) const CHINESE_DIGIT: u8 = 8;
}

static CJK_FLAGS: std::sync::LazyLock<Box<[u8]>> = std::sync::LazyLock::new(|| {
    let mut table = vec![0_u8; 0xA000 - 0x4E00];
    for (flag, chars) in [
        (flags::NAME_TRIGGER, names::TRIGGER_STARTS),
        (flags::RESIDENCE_TRIGGER, address::TRIGGER_STARTS),
        (flags::CHINESE_NUMBER, address::CHINESE_NUMBERS),
        (flags::CHINESE_DIGIT, "零一幺二三四五六七八九"),
    ] {
        for c in chars
            .chars()
            .filter(|&c| ('\u{4e00}'..'\u{a000}').contains(&c))
        {
            table[c as usize - 0x4E00] |= flag;
        }
    }
    table.into_boxed_slice()
});

/// Returns the [`flags`] of a character (0 outside the main Han block).
pub(crate) fn cjk_flags(c: char) -> u8 {
    let code = c as usize;
    if (0x4E00..0xA000).contains(&code) {
        CJK_FLAGS[code - 0x4E00]
    } else {
        0
    }
}

pub(crate) fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// The input with its characters indexed once, shared by the hand-written scanners.
pub(crate) struct Text<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
}

impl<'a> Text<'a> {
    fn new(text: &'a str) -> Self {
        Text {
            text,
            chars: text.char_indices().collect(),
        }
    }

    fn len(&self) -> usize {
        self.chars.len()
    }

    /// Returns the character at char index `i`.
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).map(|&(_, c)| c)
    }

    /// Returns the byte offset of char index `i` (the text length past the end).
    fn byte(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.text.len(), |&(b, _)| b)
    }

    /// Does the text at char index `i` start with `pattern`?
    fn starts_with(&self, i: usize, pattern: &str) -> bool {
        self.text[self.byte(i)..].starts_with(pattern)
    }

    /// The text of char indices `from..to` (clamped).
    fn slice(&self, from: usize, to: usize) -> &'a str {
        &self.text[self.byte(from)..self.byte(to.max(from))]
    }

    fn span(&self, kind: PiiKind, from: usize, to: usize) -> PiiSpan {
        PiiSpan {
            kind,
            start: self.byte(from),
            end: self.byte(to),
        }
    }
}

#[cfg(test)]
mod tests;
