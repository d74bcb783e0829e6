//! Finding and masking personal data in Chinese appeal text.
//!
//! Detected: mobile numbers (`1[3-9]` + 9 digits, optionally `+86`/`86`, spaces or dashes between groups),
//! landlines (`0xx-xxxxxxxx`, `0xxx xxxxxxx`, `(0xxx)xxxxxxx`), 18-character ID-card numbers that pass the
//! GB 11643 check digit (`X` allowed), bank cards (16–19 digits, Luhn-valid, issuer digit 3–6), e-mail addresses,
//! and names that people introduce themselves with (我叫张三, 本人李四，, 我是王小明先生, 姓名：赵六):
//! 2–3 Han characters, or 3–4 with a compound surname such as 欧阳.
//!
//! The scanner is hand-written: it groups digit runs joined by single separators, then tries the longest run of
//! groups that forms a valid number. A number is never taken out of a longer digit run, so a 20-digit order number
//! is not a phone. Name detection is deliberately conservative: a trigger phrase, a common surname, 2–3 Han
//! characters, and a clear end; it prefers missing a name to masking ordinary words.
//!
//! Masks keep a hint for the human reader: `138****5678`, `110***********123X`, `6222***********0128`,
//! `0731-******78`, `z***@example.com`, `张**`. Separators stay where they were.
//! Offsets are byte offsets into the input, always on character boundaries.

use serde::{Deserialize, Serialize};

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
}

impl PiiKind {
    /// Returns the stable lowercase code, as used in serialised form.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Mobile => "mobile",
            PiiKind::Landline => "landline",
            PiiKind::IdCard => "id_card",
            PiiKind::BankCard => "bank_card",
            PiiKind::Email => "email",
            PiiKind::Name => "name",
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
pub fn detect(text: &str) -> Vec<PiiSpan> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut spans = find_emails(text, &chars);
    for found in [find_numbers(text, &chars), find_names(text, &chars)] {
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
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    for span in detect(text) {
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
            let first = total - 11;
            mask_digits(span, |d| d < first + 3 || d >= total - 4)
        }
        PiiKind::Landline => {
            let area = span
                .chars()
                .take_while(|c| digit_value(*c).is_some())
                .count();
            let total = count_digits(span);
            mask_digits(span, |d| d < area || d >= total - 2)
        }
        PiiKind::IdCard => {
            let total = count_digits(span);
            mask_digits(span, |d| d < 3 || d >= total - 4)
        }
        PiiKind::BankCard => {
            let total = count_digits(span);
            mask_digits(span, |d| d < 4 || d >= total - 4)
        }
        PiiKind::Email => match span.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".to_owned(),
        },
        PiiKind::Name => {
            let mut chars = span.chars();
            let first: String = chars.next().into_iter().collect();
            format!("{first}{}", "*".repeat(chars.count()))
        }
    }
}

fn overlaps(a: &PiiSpan, b: &PiiSpan) -> bool {
    a.start < b.end && b.start < a.end
}

/// Returns the value of an ASCII or full-width digit.
fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => Some((c as u32 - '０' as u32) as u8),
        _ => None,
    }
}

/// Counts digits and the check character X, the characters masks are computed over.
fn count_digits(span: &str) -> usize {
    span.chars()
        .filter(|&c| digit_value(c).is_some() || c == 'X' || c == 'x')
        .count()
}

/// Replaces the digits (and X) whose index fails `keep` with `*`, leaving other characters in place.
fn mask_digits(span: &str, keep: impl Fn(usize) -> bool) -> String {
    let mut index = 0;
    span.chars()
        .map(|c| {
            if digit_value(c).is_some() || c == 'X' || c == 'x' {
                let kept = keep(index);
                index += 1;
                if kept { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

/// A maximal run of digits (possibly ending in X), as char indices `start..end` and its digit string.
struct Group {
    start: usize,
    end: usize,
    digits: String,
}

fn is_group_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '－' | '—' | ')' | '）' | '\u{3000}')
}

fn find_numbers(text: &str, chars: &[(usize, char)]) -> Vec<PiiSpan> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if digit_value(chars[i].1).is_none() {
            i += 1;
            continue;
        }
        // Collect groups joined by single separators.
        let mut groups: Vec<Group> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            let mut digits = String::new();
            while j < chars.len() {
                match digit_value(chars[j].1) {
                    Some(d) => digits.push(char::from(b'0' + d)),
                    // An ID card's check character X may end a 17-digit group.
                    None if digits.len() == 17 && matches!(chars[j].1, 'X' | 'x') => {
                        digits.push('X')
                    }
                    None => break,
                }
                j += 1;
                if digits.ends_with('X') {
                    break;
                }
            }
            groups.push(Group {
                start,
                end: j,
                digits,
            });
            let joined = j + 1 < chars.len()
                && is_group_separator(chars[j].1)
                && digit_value(chars[j + 1].1).is_some()
                && !groups.last().is_some_and(|g| g.digits.ends_with('X'));
            if !joined {
                break;
            }
            j += 1;
        }
        spans.extend(match_groups(text, chars, &groups));
        i = j.max(i + 1);
    }
    spans
}

/// Finds numbers among consecutive groups, longest match first, never splitting a group.
fn match_groups(text: &str, chars: &[(usize, char)], groups: &[Group]) -> Vec<PiiSpan> {
    let mut spans = Vec::new();
    let mut k = 0;
    while k < groups.len() {
        let mut matched = None;
        for last in (k..groups.len().min(k + 6)).rev() {
            if let Some(kind) = classify_number(&groups[k..=last]) {
                matched = Some((kind, last));
                break;
            }
        }
        match matched {
            Some((kind, last)) => {
                let mut start = groups[k].start;
                // Include a leading + of +86, or the opening bracket of (0731) when the bracket closes after it.
                let closes = chars
                    .get(groups[k].end)
                    .is_some_and(|&(_, c)| matches!(c, ')' | '）'));
                if start > 0
                    && (matches!(chars[start - 1].1, '+' | '＋')
                        || (closes && matches!(chars[start - 1].1, '(' | '（')))
                {
                    start -= 1;
                }
                let end_byte = chars.get(groups[last].end).map_or(text.len(), |&(b, _)| b);
                spans.push(PiiSpan {
                    kind,
                    start: chars[start].0,
                    end: end_byte,
                });
                k = last + 1;
            }
            None => k += 1,
        }
    }
    spans
}

fn classify_number(groups: &[Group]) -> Option<PiiKind> {
    let digits: String = groups.iter().map(|g| g.digits.as_str()).collect();
    let bytes = digits.as_bytes();
    let all_digits = bytes.iter().all(u8::is_ascii_digit);
    if bytes.len() == 18 && is_valid_id_card(bytes) {
        return Some(PiiKind::IdCard);
    }
    if !all_digits {
        return None;
    }
    let is_mobile = |b: &[u8]| b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
    if is_mobile(bytes) || (bytes.len() == 13 && bytes.starts_with(b"86") && is_mobile(&bytes[2..]))
    {
        return Some(PiiKind::Mobile);
    }
    if (16..=19).contains(&bytes.len()) && (b'3'..=b'6').contains(&bytes[0]) && luhn_valid(bytes) {
        return Some(PiiKind::BankCard);
    }
    if groups.len() == 2 {
        let (area, local) = (groups[0].digits.as_bytes(), groups[1].digits.as_bytes());
        if (3..=4).contains(&area.len())
            && area[0] == b'0'
            && area[1] != b'0'
            && (7..=8).contains(&local.len())
            && (b'2'..=b'9').contains(&local[0])
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

// ---------------------------------------------------------------------------------------------------------------
// E-mail

fn find_emails(text: &str, chars: &[(usize, char)]) -> Vec<PiiSpan> {
    let is_local = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let is_domain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-');
    let mut spans: Vec<PiiSpan> = Vec::new();
    for (at, &(_, c)) in chars.iter().enumerate() {
        if c != '@' && c != '＠' {
            continue;
        }
        let mut start = at;
        while start > 0 && is_local(chars[start - 1].1) {
            start -= 1;
        }
        while start < at && matches!(chars[start].1, '.' | '-' | '+') {
            start += 1;
        }
        let mut end = at + 1;
        while end < chars.len() && is_domain(chars[end].1) {
            end += 1;
        }
        while end > at + 1 && matches!(chars[end - 1].1, '.' | '-') {
            end -= 1;
        }
        if start == at || end == at + 1 {
            continue;
        }
        let end_byte = chars.get(end).map_or(text.len(), |&(b, _)| b);
        let domain = &text[chars[at + 1].0..end_byte];
        let valid_domain = domain.split('.').count() >= 2
            && domain.split('.').all(|label| !label.is_empty())
            && domain
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if valid_domain && spans.last().is_none_or(|s| s.end <= chars[start].0) {
            spans.push(PiiSpan {
                kind: PiiKind::Email,
                start: chars[start].0,
                end: end_byte,
            });
        }
    }
    spans
}

// ---------------------------------------------------------------------------------------------------------------
// Names

/// Phrases after which a name follows, and how the name must end.
const NAME_TRIGGERS: &[(&str, NameEnd)] = &[
    ("我的名字叫", NameEnd::Loose),
    ("我的名字是", NameEnd::Loose),
    ("本人姓名", NameEnd::Loose),
    ("本人名叫", NameEnd::Loose),
    ("本人叫", NameEnd::Loose),
    ("我名叫", NameEnd::Loose),
    ("我叫", NameEnd::Loose),
    ("联系人", NameEnd::AfterColon),
    ("姓名", NameEnd::AfterColon),
    ("我是", NameEnd::Honorific),
    ("本人", NameEnd::Punctuation),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameEnd {
    /// Followed by a non-Han character or a common function character (是, 在, 住, …).
    Loose,
    /// Like `Loose`, but the trigger must be followed by a colon or space ("姓名：张三", not "姓名查询").
    AfterColon,
    /// The trigger starts a clause and the name is followed by a comma, full stop, colon or space
    /// ("本人李四，…"; not "退还本人费用" or "本人华悦城（…").
    Punctuation,
    /// Followed by 先生, 女士 or 小姐.
    Honorific,
}

/// Common single-character surnames (the most frequent in China, covering the large majority of people).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "夏侯", "长孙",
    "宇文", "司徒", "西门", "南宫", "端木",
];
/// Characters that end a name under [`NameEnd::Loose`].
const LOOSE_END: &str = "是在住家今现于因从的想要向反投来电联手，。、；：";
/// Characters that practically never occur in a given name; a candidate containing one is not a name.
const NOT_IN_NAME: &str = "了过来去的着在是和与把被给到说也都就人们这那个不没有很某年月日号区市县镇村路街楼栋单元室先工费用绩城";

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

fn find_names(text: &str, chars: &[(usize, char)]) -> Vec<PiiSpan> {
    let mut spans: Vec<PiiSpan> = Vec::new();
    let mut i = 0;
    'scan: while i < chars.len() {
        for &(trigger, end_rule) in NAME_TRIGGERS {
            if !text[chars[i].0..].starts_with(trigger) {
                continue;
            }
            if end_rule == NameEnd::Punctuation
                && i > 0
                && (is_han(chars[i - 1].1) || chars[i - 1].1.is_alphanumeric())
            {
                continue;
            }
            let mut p = i + trigger.chars().count();
            // "姓名：张三", "联系人: 李四"
            let after_trigger = p;
            while p < chars.len() && matches!(chars[p].1, '：' | ':' | ' ' | '\u{3000}') {
                p += 1;
            }
            if end_rule == NameEnd::AfterColon && p == after_trigger {
                continue;
            }
            if let Some(length) = name_at(chars, p, end_rule) {
                let end_byte = chars.get(p + length).map_or(text.len(), |&(b, _)| b);
                spans.push(PiiSpan {
                    kind: PiiKind::Name,
                    start: chars[p].0,
                    end: end_byte,
                });
                i = p + length;
                continue 'scan;
            }
        }
        i += 1;
    }
    spans
}

/// Returns the length in characters of a name starting at `p`, if one does.
fn name_at(chars: &[(usize, char)], p: usize, end_rule: NameEnd) -> Option<usize> {
    let han_at = |k: usize| chars.get(k).map(|&(_, c)| c).filter(|&c| is_han(c));
    let first = han_at(p)?;
    let second = han_at(p + 1)?;
    let compound = COMPOUND_SURNAMES
        .iter()
        .any(|s| s.starts_with(first) && s.ends_with(second) && s.chars().count() == 2);
    if !SURNAMES.contains(first) && !compound {
        return None;
    }
    let lengths = if compound { 3..=4 } else { 2..=3 };
    for length in lengths {
        let all_han = (p..p + length).all(|k| han_at(k).is_some());
        if !all_han {
            break;
        }
        let given = if compound { p + 2 } else { p + 1 };
        if given >= p + length || (given..p + length).any(|k| NOT_IN_NAME.contains(chars[k].1)) {
            continue;
        }
        let next = chars.get(p + length).map(|&(_, c)| c);
        let ends = match end_rule {
            NameEnd::Loose | NameEnd::AfterColon => {
                next.is_none_or(|c| !is_han(c) || LOOSE_END.contains(c))
            }
            NameEnd::Punctuation => {
                next.is_none_or(|c| matches!(c, '，' | ',' | '。' | '：' | ':' | ' ' | '、' | '；'))
            }
            NameEnd::Honorific => {
                let after: String = chars[p + length..]
                    .iter()
                    .take(2)
                    .map(|&(_, c)| c)
                    .collect();
                matches!(after.as_str(), "先生" | "女士" | "小姐")
            }
        };
        if ends {
            return Some(length);
        }
    }
    None
}

#[cfg(test)]
mod tests;
