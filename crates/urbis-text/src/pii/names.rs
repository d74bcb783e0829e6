//! Names that people introduce themselves or others with: a trigger phrase, a common surname, 2–3 Han
//! characters (3–4 with a compound surname) and a clear end.

use super::{PiiKind, PiiSpan, Text, is_han};

/// Phrases after which a name follows, and how the name must end.
const NAME_TRIGGERS: &[(&str, NameEnd)] = &[
    ("我的名字叫", NameEnd::Loose),
    ("我的名字是", NameEnd::Loose),
    ("本人姓名", NameEnd::Loose),
    ("本人名叫", NameEnd::Loose),
    ("本人叫", NameEnd::Loose),
    ("我名叫", NameEnd::Loose),
    ("我叫", NameEnd::Loose),
    ("名叫", NameEnd::Loose),
    ("紧急联系人", NameEnd::Role),
    ("被举报人", NameEnd::Role),
    ("法定代表人", NameEnd::Role),
    ("联系人", NameEnd::Role),
    ("姓名", NameEnd::Role),
    ("举报人", NameEnd::Role),
    ("投诉人", NameEnd::Role),
    ("反映人", NameEnd::Role),
    ("来电人", NameEnd::Role),
    ("申请人", NameEnd::Role),
    ("当事人", NameEnd::Role),
    ("报案人", NameEnd::Role),
    ("受害人", NameEnd::Role),
    ("求助人", NameEnd::Role),
    ("留言人", NameEnd::Role),
    ("收件人", NameEnd::Role),
    ("经办人", NameEnd::Role),
    ("代理人", NameEnd::Role),
    ("监护人", NameEnd::Role),
    ("业主", NameEnd::Role),
    ("户主", NameEnd::Role),
    ("房东", NameEnd::Role),
    ("租户", NameEnd::Role),
    ("我是", NameEnd::Introduced),
    ("本人", NameEnd::Clause),
];

/// [`NAME_TRIGGERS`] with their first characters, compared before the text.
static TRIGGERS_BY_FIRST: std::sync::LazyLock<Vec<(char, &str, NameEnd)>> =
    std::sync::LazyLock::new(|| {
        NAME_TRIGGERS
            .iter()
            .map(|&(t, end)| (t.chars().next().unwrap_or(' '), t, end))
            .collect()
    });

/// First characters of the triggers and of 我姓 (looked up through [`super::cjk_flags`]).
pub(super) const TRIGGER_STARTS: &str = "我本名紧被法联姓举投反来申当报受求留收经代监业户房租";

fn starts_trigger(c: char) -> bool {
    super::cjk_flags(c) & super::flags::NAME_TRIGGER != 0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameEnd {
    /// Followed by a non-Han character or a common function character (是, 在, 住, …).
    Loose,
    /// A role noun: after a colon or space like `Loose` ("联系人：周兰艳"); directly after it only a full
    /// 3-character name, or a 2-character one before digits or a contact word ("举报人周燕，", "联系人李贵新电话").
    Role,
    /// The trigger starts a clause and the name is followed by punctuation or a contact word
    /// ("本人李四，…", "本人张三反映"; not "退还本人费用" or "本人华悦城（…").
    Clause,
    /// 我是 + name + 先生/女士/小姐.
    Introduced,
    /// Like `Introduced` at the start of a clause, or a 3-character name ending the clause ("我是王建国，").
    IntroducedClause,
}

/// Common single-character surnames (the most frequent in China, covering the large majority of people).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "夏侯", "长孙",
    "宇文", "司徒", "西门", "南宫", "端木",
];
/// Surnames that are also everyday words ("和", "于", "向", …); without a colon they do not start a name.
const WORDLIKE_SURNAMES: &str = "和于向应时全成关单解常党车安万方高明华文管连商沙房";
/// Characters that end a name under [`NameEnd::Loose`].
const LOOSE_END: &str = "是在住家今现于因从的想要向反投来电联手身男女，。、；：";
/// Words after a name that close it under the strict rules.
const CONTACT_WORDS: &[&str] = &[
    "电话",
    "手机",
    "联系",
    "身份证",
    "家住",
    "住在",
    "现住",
    "反映",
    "投诉",
    "举报",
    "来电",
    "男",
    "女",
];
/// Characters that practically never occur in a given name; a candidate containing one is not a name.
const NOT_IN_NAME: &str = "了过来去的着在是和与把被给到说也都就人们这那个不没有很某年月日号区市县镇村路街楼栋单元室先工费用绩城员民户主委会师叔姨婶舅爷奶婆哥姐总局";

fn is_clause_punctuation(c: char) -> bool {
    matches!(
        c,
        '，' | ',' | '。' | '：' | ':' | ' ' | '、' | '；' | ';' | '！' | '!' | '？' | '?'
    )
}

pub(super) fn find(view: &Text<'_>) -> Vec<PiiSpan> {
    let mut spans: Vec<PiiSpan> = Vec::new();
    let mut i = 0;
    'scan: while i < view.len() {
        if !view.at(i).is_some_and(starts_trigger) {
            i += 1;
            continue;
        }
        if let Some((from, to)) = surname_then_name(view, i) {
            spans.push(view.span(PiiKind::Name, from, to));
            i = to;
            continue;
        }
        let c = view.at(i).unwrap_or(' ');
        for &(first, trigger, end_rule) in TRIGGERS_BY_FIRST.iter() {
            if first != c || !view.starts_with(i, trigger) {
                continue;
            }
            let clause_start = i == 0
                || view
                    .at(i - 1)
                    .is_some_and(|c| !is_han(c) && !c.is_alphanumeric());
            if end_rule == NameEnd::Clause && !clause_start {
                continue;
            }
            let mut p = i + trigger.chars().count();
            // "姓名：张三", "联系人: 李四"
            let after_trigger = p;
            while view
                .at(p)
                .is_some_and(|c| matches!(c, '：' | ':' | ' ' | '\u{3000}'))
            {
                p += 1;
            }
            let rule = match end_rule {
                NameEnd::Role if p > after_trigger => NameEnd::Loose,
                NameEnd::Introduced if clause_start => NameEnd::IntroducedClause,
                other => other,
            };
            if let Some(length) = name_at(view, p, rule) {
                spans.push(view.span(PiiKind::Name, p, p + length));
                i = p + length;
                continue 'scan;
            }
        }
        i += 1;
    }
    spans
}

/// "我姓张，叫张伟" / "我姓张叫伟" / "我姓欧阳名娜娜": the span runs from the surname to the end of the name.
fn surname_then_name(view: &Text<'_>, i: usize) -> Option<(usize, usize)> {
    if !view.starts_with(i, "我姓") {
        return None;
    }
    let surname = i + 2;
    let first = view.at(surname)?;
    let compound = COMPOUND_SURNAMES
        .iter()
        .any(|s| view.starts_with(surname, s));
    if !compound && !SURNAMES.contains(first) {
        return None;
    }
    let mut p = surname + if compound { 2 } else { 1 };
    while view
        .at(p)
        .is_some_and(|c| matches!(c, '，' | ',' | ' ' | '、'))
    {
        p += 1;
    }
    let word = ["名叫", "叫", "名"]
        .into_iter()
        .find(|w| view.starts_with(p, w))?;
    p += word.chars().count();
    // The full name again, or only the given name (1–2 characters).
    if let Some(length) = name_at(view, p, NameEnd::Loose) {
        return Some((surname, p + length));
    }
    for length in 1..=2 {
        let given_ok = (p..p + length).all(|k| {
            view.at(k)
                .is_some_and(|c| is_han(c) && !NOT_IN_NAME.contains(c))
        });
        let next = view.at(p + length);
        if given_ok && next.is_none_or(|c| !is_han(c) || LOOSE_END.contains(c)) {
            return Some((surname, p + length));
        }
    }
    None
}

fn followed_by_contact_word(view: &Text<'_>, p: usize) -> bool {
    CONTACT_WORDS.iter().any(|w| view.starts_with(p, w))
}

/// Returns the length in characters of a name starting at `p`, if one does.
fn name_at(view: &Text<'_>, p: usize, end_rule: NameEnd) -> Option<usize> {
    let han_at = |k: usize| view.at(k).filter(|&c| is_han(c));
    let first = han_at(p)?;
    let second = han_at(p + 1)?;
    let compound = COMPOUND_SURNAMES
        .iter()
        .any(|s| s.starts_with(first) && s.ends_with(second) && s.chars().count() == 2);
    if !SURNAMES.contains(first) && !compound {
        return None;
    }
    let wordlike = !compound && WORDLIKE_SURNAMES.contains(first);
    if wordlike && matches!(end_rule, NameEnd::Role | NameEnd::Clause) {
        return None;
    }
    let lengths = if compound { 3..=4 } else { 2..=3 };
    for length in lengths {
        let all_han = (p..p + length).all(|k| han_at(k).is_some());
        if !all_han {
            break;
        }
        let given = if compound { p + 2 } else { p + 1 };
        if given >= p + length
            || (given..p + length).any(|k| view.at(k).is_some_and(|c| NOT_IN_NAME.contains(c)))
        {
            continue;
        }
        let full = length == if compound { 4 } else { 3 };
        let next = view.at(p + length);
        let ends = match end_rule {
            NameEnd::Loose => next.is_none_or(|c| !is_han(c) || LOOSE_END.contains(c)),
            NameEnd::Role => {
                let digit_next = next.is_some_and(|c| c.is_ascii_digit());
                let contact = followed_by_contact_word(view, p + length);
                if full {
                    next.is_none_or(|c| !is_han(c)) || contact
                } else {
                    digit_next || contact
                }
            }
            NameEnd::Clause => {
                next.is_none_or(is_clause_punctuation) || followed_by_contact_word(view, p + length)
            }
            NameEnd::Introduced | NameEnd::IntroducedClause => {
                let honorific = ["先生", "女士", "小姐"]
                    .iter()
                    .any(|h| view.starts_with(p + length, h));
                honorific
                    || (end_rule == NameEnd::IntroducedClause
                        && full
                        && !wordlike
                        && next.is_some_and(is_clause_punctuation))
            }
        };
        if ends {
            return Some(length);
        }
    }
    None
}
