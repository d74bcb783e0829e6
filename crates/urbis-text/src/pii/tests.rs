//! Unit tests of `crate::pii`.

use crate::pii::{
    PiiKind, PiiSpan, detect, is_plausible_id_card, is_valid_id_card, luhn_valid, mask,
};

/// Returns `(kind, covered text)` for every span, for readable assertions.
fn found(text: &str) -> Vec<(PiiKind, &str)> {
    detect(text)
        .into_iter()
        .map(|PiiSpan { kind, start, end }| (kind, &text[start..end]))
        .collect()
}

#[test]
fn mobile_numbers_in_common_spellings() {
    assert_eq!(
        found("电话13812345678谢谢"),
        [(PiiKind::Mobile, "13812345678")]
    );
    assert_eq!(
        found("联系:+86 138-1234-5678。"),
        [(PiiKind::Mobile, "+86 138-1234-5678")]
    );
    assert_eq!(
        found("手机 8613912345678"),
        [(PiiKind::Mobile, "8613912345678")]
    );
    assert_eq!(
        found("号码１３９１２３４５６７８"),
        [(PiiKind::Mobile, "１３９１２３４５６７８")]
    );
    assert_eq!(mask("电话13812345678谢谢"), "电话138****5678谢谢");
    assert_eq!(mask("+86 138-1234-5678"), "+86 138-****-5678");
    // Second digit must be 3-9.
    assert_eq!(found("12812345678"), []);
}

#[test]
fn digits_inside_longer_runs_are_not_phones() {
    // A 20-digit order number contains an 11-digit mobile-looking run at several offsets.
    assert_eq!(found("订单号13812345678901234567已付款"), []);
    assert_eq!(found("编号913812345678"), []);
    assert_eq!(found("138123456789"), []);
    // Two numbers separated by a space are both found.
    assert_eq!(
        found("13812345678 13912345678"),
        [
            (PiiKind::Mobile, "13812345678"),
            (PiiKind::Mobile, "13912345678")
        ]
    );
}

#[test]
fn landlines_with_area_codes() {
    assert_eq!(
        found("座机0731-84512345"),
        [(PiiKind::Landline, "0731-84512345")]
    );
    assert_eq!(found("打010 6552 ..."), []);
    assert_eq!(
        found("请拨(010)65521234"),
        [(PiiKind::Landline, "(010)65521234")]
    );
    assert_eq!(
        found("请拨010-65521234。"),
        [(PiiKind::Landline, "010-65521234")]
    );
    assert_eq!(
        found("座机（0735-6621655）"),
        [(PiiKind::Landline, "0735-6621655")]
    );
    assert_eq!(mask("座机0731-84512345"), "座机0731-******45");
    // Without a separator an area code cannot be told from the rest: not matched.
    assert_eq!(found("073184512345"), []);
    // A year range is not a landline.
    assert_eq!(found("2019-2020年"), []);
}

#[test]
fn id_cards_need_a_valid_check_character() {
    assert!(is_valid_id_card(b"11010519491231002X"));
    assert!(is_valid_id_card(b"440301199003071230"));
    assert!(!is_valid_id_card(b"440301199003071231"));
    assert!(!is_valid_id_card(b"11010519491231002Y"));
    assert_eq!(
        found("身份证号11010519491231002X，"),
        [(PiiKind::IdCard, "11010519491231002X")]
    );
    assert_eq!(
        found("身份证号11010519491231002x"),
        [(PiiKind::IdCard, "11010519491231002x")]
    );
    assert_eq!(
        found("身份证440301199003071230"),
        [(PiiKind::IdCard, "440301199003071230")]
    );
    // A wrong check digit is still an ID when region and birth date fit (people mistype the last digit).
    assert!(is_plausible_id_card(b"440301199003071231"));
    assert_eq!(
        found("身份证440301199003071231"),
        [(PiiKind::IdCard, "440301199003071231")]
    );
    // Region 20 is no province, month 13 is no month: not IDs.
    assert!(!is_plausible_id_card(b"200301199003071231"));
    assert!(!is_plausible_id_card(b"440301199013071231"));
    assert_eq!(found("编号200301199013071231"), []);
    assert_eq!(mask("身份证11010519491231002X"), "身份证110***********002X");
}

#[test]
fn bank_cards_need_luhn() {
    assert!(luhn_valid(b"6222021234567890128"));
    assert!(!luhn_valid(b"6222021234567890127"));
    assert_eq!(
        found("卡号6222021234567890128"),
        [(PiiKind::BankCard, "6222021234567890128")]
    );
    assert_eq!(
        found("卡号 6217 0012 3456 7893 好"),
        [(PiiKind::BankCard, "6217 0012 3456 7893")]
    );
    assert_eq!(found("卡号6222021234567890127"), []);
    assert_eq!(mask("卡号6222021234567890128"), "卡号6222***********0128");
    assert_eq!(mask("6217 0012 3456 7893"), "6217 **** **** 7893");
}

#[test]
fn emails() {
    assert_eq!(
        found("邮箱zhang.san@example.com.cn，谢谢"),
        [(PiiKind::Email, "zhang.san@example.com.cn")]
    );
    assert_eq!(
        found("发到123456789@qq.com"),
        [(PiiKind::Email, "123456789@qq.com")]
    );
    assert_eq!(mask("发到123456789@qq.com。"), "发到1***@qq.com。");
    assert_eq!(found("@某部门 请处理"), []);
    assert_eq!(found("a@b"), []);
}

#[test]
fn self_introduced_names() {
    assert_eq!(
        found("你好，我叫张三，住在阳光小区"),
        [(PiiKind::Name, "张三")]
    );
    assert_eq!(found("我叫王小明住在幸福路"), [(PiiKind::Name, "王小明")]);
    assert_eq!(found("本人李四，反映一个问题"), [(PiiKind::Name, "李四")]);
    assert_eq!(found("我是欧阳娜娜女士"), [(PiiKind::Name, "欧阳娜娜")]);
    assert_eq!(found("我是陈建国先生的邻居"), [(PiiKind::Name, "陈建国")]);
    assert_eq!(
        found("姓名：赵六 电话：13812345678"),
        [(PiiKind::Name, "赵六"), (PiiKind::Mobile, "13812345678")]
    );
    assert_eq!(
        mask("我叫王小明，电话13812345678"),
        "我叫王**，电话138****5678"
    );
}

#[test]
fn ordinary_words_after_triggers_are_not_names() {
    assert_eq!(found("本人常年在外打工"), []);
    assert_eq!(found("我是王先生"), []);
    assert_eq!(found("本人向贵单位反映"), []);
    assert_eq!(found("我叫了物业三次"), []);
    assert_eq!(found("本人于2019年购买"), []);
    assert_eq!(found("我是业主，楼上漏水"), []);
}

#[test]
fn spans_are_on_char_boundaries_and_mask_keeps_the_rest() {
    let text = "１３８１２３４５６７８和zhang@example.org，我叫刘德华。";
    for span in detect(text) {
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
    }
    assert_eq!(
        mask(text),
        "１３８＊＊＊＊５６７８和z***@example.org，我叫刘**。".replace('＊', "*")
    );
    assert_eq!(mask("没有个人信息的普通留言"), "没有个人信息的普通留言");
}

#[test]
fn weak_triggers_need_clause_start_colon_or_punctuation() {
    assert_eq!(found("退还本人费用，直到今天"), []);
    assert_eq!(found("能查本人成绩，并未公布"), []);
    assert_eq!(found("断水 本人华悦城（西地省）"), []);
    assert_eq!(found("用我的姓名查询我的身份证"), []);
    assert_eq!(found("公布机构联系人和联系电话"), []);
    assert_eq!(
        found("联系人：周兰艳，联系电话"),
        [(PiiKind::Name, "周兰艳")]
    );
    assert_eq!(
        found("尊敬的领导：本人杨俊，身份证"),
        [(PiiKind::Name, "杨俊")]
    );
}

#[test]
fn listed_landlines_share_the_telephone_word() {
    assert_eq!(
        found("联系电话：8805667，8805670。"),
        [
            (PiiKind::Landline, "8805667"),
            (PiiKind::Landline, "8805670")
        ]
    );
    // Without a telephone word a 7-digit number is not a phone.
    assert_eq!(found("编号8805667，8805670。"), []);
}

#[test]
fn quantities_are_not_phones_or_accounts() {
    assert_eq!(found("共13812345678次"), []);
    assert_eq!(found("￥13812345678"), []);
    assert_eq!(found("15000000000"), []);
    assert_eq!(found("微信1500000元"), []);
    assert_eq!(found("微信1500000"), [(PiiKind::Wechat, "1500000")]);
    // A word after a mobile number is not its unit.
    assert_eq!(
        found("请回电13912345678 楼道堆物"),
        [(PiiKind::Mobile, "13912345678")]
    );
    assert_eq!(
        found("电话13912345678楼下有人"),
        [(PiiKind::Mobile, "13912345678")]
    );
    assert_eq!(
        found("共13812345678 人"),
        [(PiiKind::Mobile, "13812345678")]
    );
}

#[test]
fn kinds_serialise_as_their_codes() {
    let mut codes: Vec<&str> = PiiKind::ALL.iter().map(|k| k.as_str()).collect();
    for kind in PiiKind::ALL {
        assert_eq!(
            serde_json::to_value(kind).expect("serialises"),
            serde_json::json!(kind.as_str())
        );
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), PiiKind::ALL.len());
}
