//! The personal-data masker against a table of real-looking personal data (every form must be found and hidden)
//! and a set of ordinary appeal texts (nothing may be masked). Both are inline fixtures and always run.

use urbis_text::pii::{self, PiiKind};

/// `(text, kind that must be found, secret that must not survive masking)`.
const FORMS: &[(&str, PiiKind, &str)] = &[
    // Names
    ("我叫张伟，家住阳光小区", PiiKind::Name, "张伟"),
    ("联系人：周兰艳，电话见附件", PiiKind::Name, "兰艳"),
    ("举报人李建华，身份证复印件另附", PiiKind::Name, "建华"),
    ("投诉人：王秀英 反映噪音扰民", PiiKind::Name, "秀英"),
    ("业主：石德群", PiiKind::Name, "德群"),
    ("我姓刘，叫刘洋，是三楼的住户", PiiKind::Name, "刘洋"),
    ("您好，我姓陈叫志强，想问一下", PiiKind::Name, "志强"),
    ("本人赵丽娟反映小区停车难", PiiKind::Name, "丽娟"),
    ("尊敬的领导：本人黄海涛，男，现住A市", PiiKind::Name, "海涛"),
    ("我是欧阳娜娜女士，住在二楼", PiiKind::Name, "娜娜"),
    ("姓名：司马相如", PiiKind::Name, "相如"),
    ("领导好，我是孙建国，在A市打工", PiiKind::Name, "建国"),
    ("反映人：吴敏，联系电话另附", PiiKind::Name, "吴敏"),
    ("当事人朱塔霞，身份证号见附件", PiiKind::Name, "塔霞"),
    ("业主王建国反映楼上漏水", PiiKind::Name, "建国"),
    ("我的名字叫卢欢玉。需要赡养老人", PiiKind::Name, "欢玉"),
    // Mobile phones
    (
        "我的电话13812345678，随时联系",
        PiiKind::Mobile,
        "13812345678",
    ),
    ("手机：139 1234 5678", PiiKind::Mobile, "1234"),
    ("电话 186-2345-6789 白天打", PiiKind::Mobile, "2345"),
    ("联系方式：158.3456.7890", PiiKind::Mobile, "3456"),
    ("号码１３９１２３４５６７８", PiiKind::Mobile, "１２３４"),
    ("电话一三八一二三四五六七八", PiiKind::Mobile, "一二三四"),
    ("打幺三九幺二三四五六七八找我", PiiKind::Mobile, "幺二三四"),
    ("+86 177 2345 6789", PiiKind::Mobile, "2345"),
    ("电话：1 3 8 1 2 3 4 5 6 7 8", PiiKind::Mobile, "1 2 3 4"),
    ("手机号 150—8765—4321", PiiKind::Mobile, "8765"),
    // Landlines
    ("座机0731-84512345", PiiKind::Landline, "845123"),
    ("请拨(010)65521234", PiiKind::Landline, "655212"),
    ("联系电话：84512345，下午在家", PiiKind::Landline, "845123"),
    ("固话 8451 2345", PiiKind::Landline, "8451"),
    ("电话073184512345", PiiKind::Landline, "845123"),
    // ID cards
    ("身份证号11010519491231002X", PiiKind::IdCard, "0519491231"),
    (
        "身份证440301199003071231（最后一位可能写错）",
        PiiKind::IdCard,
        "199003071",
    ),
    ("老身份证号码430102850307123", PiiKind::IdCard, "850307"),
    (
        "身份证 4403 0119 9003 0712 30",
        PiiKind::IdCard,
        "0119 9003",
    ),
    ("身份证：13010219900 3071231", PiiKind::IdCard, "0219900"),
    ("身份证号 130102 19900307 123X", PiiKind::IdCard, "19900307"),
    // Bank cards
    ("卡号6222021234567890128", PiiKind::BankCard, "02123456789"),
    ("银行卡 6217 0012 3456 7893", PiiKind::BankCard, "0012 3456"),
    // E-mail
    ("邮箱zhangsan@example.com", PiiKind::Email, "zhangsan"),
    ("邮箱 lisi2020 at 163 dot com", PiiKind::Email, "lisi2020"),
    (
        "邮箱：lixiaoming(at)qq(dot)com",
        PiiKind::Email,
        "lixiaoming",
    ),
    ("发到wangwu＠126.com", PiiKind::Email, "wangwu"),
    (
        "邮箱 zhao_liu [at] gmail [dot] com",
        PiiKind::Email,
        "zhao_liu",
    ),
    // WeChat and QQ
    ("微信号：zhangsan_1988", PiiKind::Wechat, "zhangsan_1988"),
    ("加我vx：liming520abc", PiiKind::Wechat, "iming520ab"),
    ("wx: Wang-Xiao-88 备注姓名", PiiKind::Wechat, "Wang-Xiao"),
    ("QQ号：123456789", PiiKind::Qq, "2345678"),
    ("扣扣 987654321 晚上在线", PiiKind::Qq, "8765432"),
    // Licence plates
    ("车牌京A·12345停在门口", PiiKind::Plate, "1234"),
    ("粤B D12345 新能源车占用消防通道", PiiKind::Plate, "D1234"),
    ("湘A1234学的教练车", PiiKind::Plate, "1234"),
    ("车牌号：沪C88Z77", PiiKind::Plate, "88Z7"),
    // Home addresses
    ("住在阳光小区3栋2单元501", PiiKind::Address, "501"),
    ("家住幸福路18号，晚上很吵", PiiKind::Address, "18"),
    ("地址：枫林三路金茂小区12栋1504室", PiiKind::Address, "1504"),
    ("住址：阳光花园A座1203", PiiKind::Address, "1203"),
    ("我住在芙蓉小区3-2-501", PiiKind::Address, "3-2-501"),
    ("楼上12栋1504业主装修噪音", PiiKind::Address, "1504"),
    ("5楼505室漏水到楼下", PiiKind::Address, "505"),
    (
        "高鑫麓城12栋二单元1407住户打架子鼓",
        PiiKind::Address,
        "1407",
    ),
];

/// Ordinary appeal texts: case numbers, hotline references, dates, times, amounts, years, areas, counts,
/// layouts and the words that trigger the detectors in other senses. None may be masked.
const ORDINARY: &[&str] = &[
    "案件编号202611280000123已受理，请耐心等待",
    "您的案件202611280000123和202611280000124已合并",
    "12345热线工单号20191107000123已转办",
    "已拨打12345市长热线反映，工单12345-2019-000123",
    "工作日9:00-17:00拨打12345",
    "2019年11月28日上午10:30在小区门口",
    "2019-11-28 14:05:33提交，2019.11.28 复核",
    "受理日期20191128，办结日期20191205",
    "从2015年到2019年，1998 2003 2010年三次扩建",
    "共收取费用13800元，每月电话费138元",
    "项目总投资18600000000元",
    "预算资金13,812,345元，全市GDP达到11574.22亿元",
    "房屋面积138.5平方米，公摊12.3㎡，单价13800元/平方米",
    "小区共有1500户居民，300多户受影响",
    "点击量达到13567891234次",
    "出租的是2室1厅的房子，三室两厅的要贵",
    "9栋2单元东边电梯故障",
    "3楼楼道灯坏了，5楼也一样",
    "地铁3号线施工，5月3号开始",
    "2019年第3号文件",
    "车辆限速60公里每小时，长度18米，宽3.5米，高2.8米",
    "A市A2区桂花坪街道，新A1区之都佳苑小区",
    "投诉人民政府不作为",
    "公布机构联系人和联系电话",
    "本人常年在外打工，本人向贵单位反映",
    "我是业主，楼上漏水；业主委员会没有召开大会",
    "我是党员，我是房东",
    "微信公众号发布了通知，微信群里有8位受害者",
    "用微信转账200元，QQ群里也通知了",
    "电话打了好多次都没人接",
    "水4.23一吨，电0.64一度",
    "身份证明材料已提交，邮编410000",
    "统一社会信用代码91430100MA4L1234XY",
    "营业执照注册号430100000012345",
    "按GB 11643-1999标准和GB50180-2018规范",
    "粤港澳大湾区，京沪高铁",
    "投诉时间：2019/11/28 09:12，14:30-16:00",
    "版本v1.3.8，编号 1 2 3 4 5",
    "电话0000-00000000，传真0731-0000-00000000",
    "身高175cm，体重65kg，今年68岁",
    "编号A01-2019-0001",
    "共有12栋楼，1504户",
    "城市总体规划（2003-2020）和2017—2018学年",
    "东经110°22'，北纬28°",
    "请与我们联系 look at the notice",
    "小区3期2栋的绿化带",
    "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没人清运，臭味很大，请尽快处理！",
    "怀国资函[2012-124号]，1-240号为小班拟录取名单",
    "每年3月15日前申报，第二批12月31日截止",
    "我是刘老师，孩子在三年级；业主王阿姨反映过",
];

#[test]
fn every_personal_data_form_is_found_and_hidden() {
    assert!(FORMS.len() >= 40);
    let mut failures = Vec::new();
    for &(text, kind, secret) in FORMS {
        assert!(
            text.contains(secret),
            "fixture secret {secret:?} not in {text:?}"
        );
        let found = pii::detect(text);
        let masked = pii::mask(text);
        if !found.iter().any(|s| s.kind == kind) || masked.contains(secret) {
            failures.push(format!("{text:?}: found {found:?}, masked {masked:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_kind_appears_in_the_form_table() {
    for kind in PiiKind::ALL {
        assert!(
            FORMS.iter().any(|&(_, k, _)| k == kind),
            "{} has no form",
            kind.as_str()
        );
    }
}

#[test]
fn ordinary_texts_are_not_masked() {
    let mut failures = Vec::new();
    for &text in ORDINARY {
        let found = pii::detect(text);
        if !found.is_empty() || pii::mask(text) != text {
            let covered: Vec<(&str, &str)> = found
                .iter()
                .map(|s| (s.kind.as_str(), &text[s.start..s.end]))
                .collect();
            failures.push(format!("{text:?}: {covered:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn personal_data_inside_ordinary_texts_is_hidden_and_the_rest_kept() {
    // Every form appended to every ordinary text: the secret goes, the ordinary text stays as it was.
    for &ordinary in ORDINARY {
        for &(form, _, secret) in FORMS {
            let text = format!("{ordinary}。{form}");
            let masked = pii::mask(&text);
            assert!(
                masked.starts_with(&format!("{ordinary}。")),
                "{text:?} → {masked:?}"
            );
            assert!(
                !masked[ordinary.len()..].contains(secret),
                "{text:?} → {masked:?}"
            );
        }
    }
}

#[test]
fn masks_keep_a_hint_for_the_reader() {
    let cases = [
        ("手机：139 1234 5678", "手机：139 **** 5678"),
        ("电话一三八一二三四五六七八", "电话一三八****五六七八"),
        ("联系电话：84512345，", "联系电话：******45，"),
        (
            "身份证 4403 0119 9003 0712 30",
            "身份证 440* **** **** **12 30",
        ),
        ("老身份证号码430102850307123", "老身份证号码430********7123"),
        ("邮箱 lisi2020 at 163 dot com", "邮箱 l*** at 163 dot com"),
        ("微信号：zhangsan_1988", "微信号：z***********8"),
        ("QQ号：123456789", "QQ号：1*******9"),
        ("车牌京A·12345停在门口", "车牌京A·****5停在门口"),
        ("粤B D12345 新能源车", "粤B *****5 新能源车"),
        ("我姓刘，叫刘洋，", "我姓刘，叫**，"),
        ("住在阳光小区3栋2单元501", "住在阳光小区*栋*单元***"),
        ("家住幸福路18号，", "家住幸福路**号，"),
    ];
    for (text, expected) in cases {
        assert_eq!(pii::mask(text), expected, "{text}");
    }
}

#[test]
fn address_fields_are_masked_down_to_their_coarse_part() {
    let cases = [
        (
            "长沙市岳麓区麓谷街道枫林三路18号金茂小区3栋2单元501",
            "长沙市岳麓区麓谷街道枫林三路**号金茂小区*栋*单元***",
        ),
        (
            "A市A2区桂花坪街道阳光花园A座1203室",
            "A市A2区桂花坪街道阳光花园*座****室",
        ),
        ("芙蓉小区3-2-501", "芙蓉小区*-*-***"),
        ("X县青山镇石桥村五组12号", "X县青山镇石桥村*组**号"),
        ("107国道旁二环路口", "107国道旁二环路口"),
        ("人民中路", "人民中路"),
        ("", ""),
    ];
    for (address, expected) in cases {
        assert_eq!(pii::mask_address(address), expected, "{address}");
    }
}
