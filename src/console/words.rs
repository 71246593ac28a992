//! Every sentence the console's code says to a person, in one place: menu entries, role names,
//! page titles, and the Chinese for each problem the concept functions answer (with the true
//! figures they carry). The page text itself is in `templates/console/`.

use crate::auth::password::{PASSWORD_CHARS_MAX, PASSWORD_CHARS_MIN};
use crate::http::problem::ApiError;
use crate::kernel::{AccountKind, Role};
use crate::users::model::{DISPLAY_NAME_CHARS_MAX, USERNAME_CHARS_MAX};

use super::page::FieldProblem;

pub const MENU_COUNTER: &str = "柜台兑换";
pub const MENU_REGISTER: &str = "兑换登记";
pub const MENU_PASSWORD: &str = "修改密码";

pub const TITLE_FORBIDDEN: &str = "不能打开此页";
pub const TITLE_NOT_FOUND: &str = "找不到";
pub const TITLE_BAD_FORM: &str = "表单有误";
pub const TITLE_PROBLEM: &str = "未能完成";

pub const FORBIDDEN: &str = "您的角色不能使用此页面。如需使用，请联系社区管理员。";
pub const NOT_FOUND: &str = "要找的内容不存在，或不属于本社区。";
pub const FORGED: &str =
    "请求没有来自本系统的页面，已拒绝，什么也没有改变。请回到系统页面，刷新后再操作。";
pub const BAD_FORM: &str = "表单内容无法读取，请回到上一页重新填写。";

pub const SIGNED_OUT: &str = "您已退出。";
pub const SESSION_EXPIRED: &str = "登录已过期（长时间未操作），请重新登录。";
pub const PASSWORD_CHANGED: &str = "密码已修改，请用新密码登录。";
pub const MUST_CHANGE_PASSWORD: &str = "管理员已重置您的密码。请先设置一个新密码，才能继续使用。";
pub const PASSWORDS_DIFFER: &str = "两次输入的新密码不一致。";
pub const FIELD_REQUIRED: &str = "请填写此项。";

pub const SEARCH_EMPTY: &str = "请输入存折号、姓名或手机号。";
pub const SEARCH_NONE: &str = "没有找到这位居民。请核对存折号，或换用姓名、手机号查找。";
pub const BASKET_EMPTY: &str = "请至少选择一件商品（数量大于 0）。";
pub const QUANTITY_INVALID: &str = "数量须为 0 到 100 的整数。";
pub const VOID_REASON_REQUIRED: &str = "请填写撤销原因。";
pub const DAY_INVALID: &str = "日期格式应为 2026-12-02；下面显示的是今天。";

pub const STATUS_ACTIVE: &str = "正常";
pub const STATUS_INACTIVE: &str = "已停用";
pub const RECEIPT_COMPLETED: &str = "已兑换";
pub const RECEIPT_VOIDED: &str = "已撤销";
pub const GOODS_OFF_SALE: &str = "已下架";
pub const GOODS_SOLD_OUT: &str = "已售罄";

// The notice board (公示栏) and the honor roll (光荣榜).
pub const MENU_BOARD: &str = "公示栏";
pub const MENU_HONOR_ROLL: &str = "光荣榜";
pub const MONTH_INVALID: &str = "月份格式应为 2026-12（年-月）；下面显示的是本月。";

// Reports and the auditor's pages (报表, 账本核验, 流水账).
pub const MENU_REPORTS: &str = "报表";
pub const MENU_VERIFY: &str = "账本核验";
pub const MENU_JOURNAL: &str = "流水账";
pub const DATE_INVALID: &str =
    "日期应写成 2026-12-01（年-月-日），在 2000-01-01 到 9999-12-31 之间。请改正后再查看。";
pub const PERIOD_REVERSED: &str = "开始日期晚于结束日期。请调换两个日期，或重新选择。";
pub const JOURNAL_AFTER_INVALID: &str = "请填写 0 或正整数（流水号），例如 100。";

/// How the auditor's pages name an account: a passbook by its resident's name and number, the
/// community's own accounts by what they are for.
pub fn account_name(kind: AccountKind, member: Option<&(String, String)>) -> String {
    match (kind, member) {
        (AccountKind::Member, Some((name, no))) => format!("{name}（{no}）"),
        (AccountKind::Member, None) => "居民存折".to_string(),
        (AccountKind::Issuance, _) => "积分发放账户".to_string(),
        (AccountKind::Shop, _) => "积分超市账户".to_string(),
        (AccountKind::Deductions, _) => "扣分账户".to_string(),
        (AccountKind::Holds, _) => "预订冻结账户".to_string(),
        (AccountKind::Household, _) => "家庭存折".to_string(),
        (AccountKind::Expired, _) => "过期清零账户".to_string(),
        (AccountKind::Fund, _) => "爱心基金账户".to_string(),
    }
}

/// What a problem the ledger check found means, in words an auditor reads.
pub fn verify_problem_name(kind: &str) -> &'static str {
    match kind {
        "hash_mismatch" => "哈希值不符：这笔记录在记账后被改动过",
        "chain_broken" => "哈希链断开：前后两笔记录接不上",
        "sequence_gap" => "流水号不连续：有记录缺失或重复",
        "unbalanced" => "借贷不平：这笔交易的分录合计不为零",
        "account_sequence_gap" => "存折行号不连续",
        "running_balance_mismatch" => "存折余额与分录累计不符",
        "negative_balance" => "居民存折余额为负",
        "balance_mismatch" => "账户余额与分录合计不符",
        "chain_head_mismatch" => "账本末端与已签名的记录不符",
        _ => "其他问题",
    }
}

// ---- The review desk (审核台, src/deeds/web/)
pub const MENU_DESK: &str = "审核台";
pub const QUEUE_FIRST: &str = "待初审";
pub const QUEUE_DECISION: &str = "待审批";
pub const QUEUE_NOTICE: &str = "公示中";
pub const QUEUE_RETURNED: &str = "已退回";
pub const DESK_NONE_CHOSEN: &str = "请至少勾选一条善行。";
pub const DESK_REASON_REQUIRED: &str = "请填写原因。";
pub const DESK_DATE_INVALID: &str = "日期格式应为 2026-12-02。";
pub const NOT_YOUR_STAGE: &str = "本社区为一级审核，不需初审；由管理员直接审批。";
pub const OWN_DEED: &str = "这条善行是您登记的，或涉及您自己的存折：请另一位审核人员办理。";
pub const CHECKED_IT_FIRST: &str = "这条善行由您初审，须由另一位管理员审批。";
pub const ONLY_ADMINS_DECIDE: &str = "审批、驳回和裁决异议由管理员办理。";
pub const MENU_RECORD: &str = "登记善行";
pub const RECORD_RULE_REQUIRED: &str = "请从积分细则中选一条。";
pub const RECORD_QUANTITY_INVALID: &str =
    "数量有误：按次的填整数，按小时的以半小时计（如 1.5），且不超过 1000。";

// ---- Passbook downloads (存折导出, src/passbook/web/export.rs)
pub const EXPORT_TOO_LONG_BEFORE: &str = "这段时间的流水超过 ";
pub const EXPORT_TOO_LONG_AFTER: &str = " 行，一个文件装不下。请缩短起止日期，分几次导出。";

// The committee's administration: roster, goods, rules, users.
pub const MENU_MEMBERS: &str = "居民名册";
pub const MENU_GOODS: &str = "商品管理";
pub const MEMBER_SEARCH_INVALID: &str = "查找的内容太长，请少输入几个字。下面是全部居民。";
pub const ROSTER_IMPORTED_BEFORE: &str = "花名册已导入：新增 ";
pub const ROSTER_IMPORTED_AFTER: &str = " 位居民，期初积分已记入各自存折。";
pub const ROSTER_WHOLE_FILE: &str = "整个文件";
pub const ROSTER_NUMBER_GENERATED: &str = "（自动编号）";
pub const ROSTER_FILE_REQUIRED: &str = "请选择一个花名册文件（CSV 或 Excel .xlsx）。";
pub const ROSTER_TOO_LARGE: &str = "文件太大（最多 8 MB）。请把花名册分成几个文件，分别导入。";
pub const ROSTER_NO_ROWS: &str = "文件里没有居民（除表头外都是空行）。";

pub const GOODS_NO_LIMIT: &str = "不限";
pub const GOODS_CREATED: &str = "商品已上架。可以在下面进货或修改。";
pub const GOODS_CHANGED: &str = "已保存。新价格只用于以后的兑换，以前的小票不变。";
pub const GOODS_RESTOCKED: &str = "已进货，库存和进出记录已更新。";
pub const GOODS_STOCK_INVALID: &str = "库存应为 0 或正整数，例如 20。";
pub const GOODS_LIMIT_INVALID: &str = "每月限兑应为 1 到 10000 的整数；不限就留空。";
pub const GOODS_QUANTITY_INVALID: &str = "进货数量应为 1 到 1000000 的整数。";

/// The Chinese for a refusal of a goods form, beside the field it names.
pub fn goods_problem(e: &ApiError) -> FieldProblem {
    let mut field = text(e, "field");
    // Required texts name their field as the first word of the detail.
    if field.is_empty() {
        field = match e.detail.split(' ').next() {
            Some(word @ ("name" | "reason")) => word.to_string(),
            _ => String::new(),
        };
    }
    let message = match (e.code, field.as_str()) {
        ("sku_taken", _) => "已有商品用这个编号，请换一个。",
        ("validation_failed", "sku") => "编号只能用字母、数字、短横线或下划线，最多 32 个字符。",
        ("validation_failed", "name") => "请填写商品名称（最多 64 个字）。",
        ("validation_failed", "price") => "价格应为大于 0 的数，最多两位小数，例如 30.00。",
        ("validation_failed", "stock") => GOODS_STOCK_INVALID,
        ("validation_failed", "monthly_limit") => GOODS_LIMIT_INVALID,
        ("validation_failed", "quantity") => GOODS_QUANTITY_INVALID,
        ("validation_failed", "reason") => "请填写进货原因，例如：乡镇配送。",
        _ => return problem(e),
    };
    let field = if e.code == "sku_taken" {
        "sku".to_string()
    } else {
        field
    };
    FieldProblem::on(&field, message)
}

/// A stock movement's kind as the log names it.
pub fn stock_movement_kind(kind: &str) -> &'static str {
    match kind {
        "initial" => "上架",
        "restock" => "进货",
        "redemption" => "兑换出库",
        "void" => "撤销退回",
        _ => "其他",
    }
}

pub const MENU_RULES: &str = "积分细则";
pub const RULE_UNIT_EVENT: &str = "每次";
pub const RULE_UNIT_HOUR: &str = "每小时";
pub const RULE_EARN: &str = "加分";
pub const RULE_DEDUCT: &str = "扣分";
pub const RULE_CREATED: &str = "细则已公布，从现在起可以按它申报。";
pub const RULE_CHANGED: &str = "已改为新版本。以前按旧版本记的分不变；下面列出了每个版本。";
pub const RULE_STATUS_CHANGED: &str = "已保存细则的状态。";
pub const RULE_SETTINGS_SAVED: &str = "审核设置已保存。";
pub const RULE_CAP_INVALID: &str = "每次上限应为一个数，例如 4；不限就留空。";
pub const RULE_SETTING_INVALID: &str = "请填一个整数。";

/// The Chinese for a refusal of a rules or settings form, beside the field it names.
pub fn rule_problem(e: &ApiError) -> FieldProblem {
    let mut field = text(e, "field");
    if field.is_empty() {
        field = match e.detail.split(' ').next() {
            Some(word @ ("name" | "category")) => word.to_string(),
            _ => String::new(),
        };
    }
    let message = match (e.code, field.as_str()) {
        ("rule_code_taken", _) => "已有细则用这个编号，请换一个。",
        ("validation_failed", "code") => {
            "编号只能用字母、数字、短横线或下划线，例如 VOLUNTEER_HOUR。"
        }
        ("validation_failed", "name") => "请填写细则名称。",
        ("validation_failed", "category") => "请填写类别，例如：志愿服务。",
        ("validation_failed", "points") => "分值应为大于 0 的数，最多两位小数，例如 10.00。",
        ("validation_failed", "unit") => "请选择按次还是按小时。",
        ("validation_failed", "direction") => "请选择加分还是扣分。",
        ("validation_failed", "monthly_cap") => {
            "每月上限应为大于 0 的数，最多两位小数；不限就留空。"
        }
        ("validation_failed", "per_deed_cap") => {
            "每次上限不对：按次的应为整数，按小时的最多两位小数；不限就留空。"
        }
        ("validation_failed", "review_stages") => "审核级数只能是 1 或 2。",
        ("validation_failed", "notice_days") => "公示天数应为 0 到 30。",
        ("validation_failed", "backdate_days") => "可补报天数应为 0 到 366。",
        ("concurrent_update", _) => "细则刚被别人改过，请刷新后再改。",
        _ => return problem(e),
    };
    let field = if e.code == "rule_code_taken" {
        "code".to_string()
    } else {
        field
    };
    FieldProblem::on(&field, message)
}

pub const MENU_USERS: &str = "用户账号";
pub const USER_CREATED: &str = "账号已建好。请把用户名和初始密码告诉本人。";
pub const USER_CHANGED: &str = "已保存。";
pub const USER_MEMBER_NOT_FOUND: &str = "没有这个存折号的居民。请核对，或先在居民名册里登记。";

/// The Chinese for a refusal of a users form, beside the field it belongs to.
pub fn user_problem(e: &ApiError) -> FieldProblem {
    let field = text(e, "field");
    let (field, message): (&str, String) = match e.code {
        "username_taken" => ("username", "这个用户名已有人用，请换一个。".into()),
        "member_has_user" => ("member_no", "这位居民已有账号，不能再建一个。".into()),
        "last_admin" => (
            "roles",
            "这是本社区最后一位管理员，不能取消管理员或停用。请先让另一个账号当管理员。".into(),
        ),
        "forbidden_self_password_reset" => (
            "reset",
            "不能重置自己的密码，请在“修改密码”里自己改。".into(),
        ),
        "too_many_password_resets" => (
            "reset",
            format!(
                "重置次数太多，请 {} 秒后再试。",
                e.retry_after_seconds.unwrap_or(60)
            ),
        ),
        "validation_failed" if field == "display_name" => (
            "display_name",
            format!("姓名须为 1 到 {DISPLAY_NAME_CHARS_MAX} 个字（前后空格不算）。"),
        ),
        "validation_failed" if field == "username" => (
            "username",
            format!("用户名须为 2 到 {USERNAME_CHARS_MAX} 个字符，不能有空格或逗号。"),
        ),
        "validation_failed" if e.detail.contains("password") => (
            "password",
            format!("初始密码须为 {PASSWORD_CHARS_MIN} 到 {PASSWORD_CHARS_MAX} 个字符。"),
        ),
        "validation_failed" if e.detail.contains("resident") => (
            "member_no",
            "居民账号必须关联存折：请填写这位居民的存折号。".into(),
        ),
        "validation_failed" if e.detail.contains("themself") => (
            "roles",
            "不能停用自己，也不能取消自己的管理员角色。请另一位管理员办理。".into(),
        ),
        "validation_failed" if e.detail.contains("role") => {
            ("roles", "请至少选择一个角色。".into())
        }
        _ => return problem(e),
    };
    FieldProblem::on(field, message)
}

pub const MEMBER_NEW_TITLE: &str = "登记居民";

/// The Chinese for a refusal of a member's form, beside the field it names.
pub fn member_problem(e: &ApiError) -> FieldProblem {
    let field = text(e, "field");
    let reason = text(e, "reason");
    let message = match e.code {
        "member_no_taken" | "phone_taken" => roster_problem(e.code, &e.detail),
        "member_no_required" => "手写的存折号占用了自动编号，请填写存折号。".to_string(),
        "validation_failed" if field == "name" => roster_problem("invalid_name", &e.detail),
        "validation_failed" if field == "member_no" => {
            roster_problem("invalid_member_no", &e.detail)
        }
        "validation_failed" if !reason.is_empty() => roster_problem(&reason, &e.detail),
        _ => return problem(e),
    };
    FieldProblem::on(&field, message)
}

/// The Chinese for a roster file's problem (`code` as the import names it); `detail` is the
/// import's own words, which carry the row a duplicate repeats.
pub fn roster_problem(code: &str, detail: &str) -> String {
    let other_row = detail
        .rsplit_once("row ")
        .map(|(_, n)| n.trim().to_string())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    match code {
        "roster_unreadable" => "文件无法读取：请上传 CSV（UTF-8 或 GBK）或 Excel .xlsx 文件。".into(),
        "roster_empty" => "文件是空的：第一行应是表头（姓名、电话……），下面每行一位居民。".into(),
        "roster_too_long" => "行数太多，请把花名册分成几个文件导入。".into(),
        "unknown_column" => "这一列的表头不认识。可用的表头：存折号、姓名、电话、楼栋、单元、门牌、地址、身份证后4位、小组、入册日期、备注、期初积分。".into(),
        "duplicate_column" => "这一列的表头和另一列重复了，请删去一列。".into(),
        "missing_column" => "缺少“姓名”列：花名册必须有姓名。".into(),
        "cell_too_long" => "这一格的内容太长。".into(),
        "invalid_name" => "姓名不能为空，也不能太长。".into(),
        "invalid_member_no" => "存折号格式不对：只能用字母、数字和短横线。".into(),
        "invalid_amount" => "期初积分应为不小于 0 的数，最多两位小数，例如 35.50。".into(),
        "invalid_text" => "内容太长，或含有不能使用的字符。".into(),
        "invalid_phone" => "手机号不对：应为 11 位手机号（如 13812345678）或带区号的座机号。".into(),
        "invalid_id_card" => "身份证号不对：填身份证号码或最后 4 位（最后一位可以是 X）。".into(),
        "invalid_date" => "入册日期不对：格式如 2026-12-02，不能晚于今天。".into(),
        "duplicate_member_no" => match other_row {
            Some(n) => format!("存折号和第 {n} 行重复。"),
            None => "存折号在文件里重复。".into(),
        },
        "duplicate_phone" => match other_row {
            Some(n) => format!("电话和第 {n} 行重复。"),
            None => "电话在文件里重复。".into(),
        },
        "member_no_taken" => "已有居民用这个存折号，请换一个或留空自动编号。".into(),
        "phone_taken" => "已有居民登记了这个电话。".into(),
        _ => format!("这一行有问题：{detail}"),
    }
}

/// A role as the top bar names it.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Resident => "居民",
        Role::Reviewer => "审核员",
        Role::Admin => "管理员",
        Role::Clerk => "兑换员",
        Role::Auditor => "审计员",
    }
}

fn text(e: &ApiError, key: &str) -> String {
    match e.extra.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The Chinese message for a problem the concept functions answered, and the field it belongs to
/// (from the problem's `field`, when it names one).
pub fn problem(e: &ApiError) -> FieldProblem {
    let field = text(e, "field");
    let message = match e.code {
        "invalid_credentials" => "用户名或密码不对，请重新输入。".to_string(),
        "community_required" => "本系统有多个社区，请填写社区代码。".to_string(),
        "too_many_attempts" => format!(
            "密码错误次数太多，请 {} 秒后再试。",
            e.retry_after_seconds.unwrap_or(60)
        ),
        "temporary_password_expired" => "临时密码已过期，请联系管理员再次重置密码。".to_string(),
        "wrong_password" => "当前密码不对。".to_string(),
        "insufficient_balance" => format!(
            "余额不足：这位居民有 {} 分，这些商品需要 {} 分。请减少数量或换商品。",
            text(e, "balance"),
            text(e, "required")
        ),
        "out_of_stock" => {
            let items: Vec<String> = match e.extra.get("items") {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        format!(
                            "{} 要 {} 件，只剩 {} 件",
                            i["sku"].as_str().unwrap_or(""),
                            i["requested"],
                            i["available"]
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            format!("库存不足：{}。请减少数量。", items.join("；"))
        }
        "monthly_limit" => format!(
            "超过每月限兑：每人每月最多 {} 件，本月已兑 {} 件，还可兑 {} 件。",
            text(e, "limit"),
            text(e, "already"),
            text(e, "remaining")
        ),
        "price_changed" => format!(
            "商品价格刚刚变了，现在合计 {} 分。请核对后重新确认。",
            text(e, "total")
        ),
        "goods_inactive" => "有商品已下架，不能兑换。请把它从篮子里去掉。".to_string(),
        "goods_not_found" => "有商品不存在。请回到居民页重新选择。".to_string(),
        "member_inactive" => "这位居民的存折已停用，不能兑换。".to_string(),
        "account_frozen" => "这本存折已冻结，不能记账。请联系管理员。".to_string(),
        "already_voided" => "这张小票已经撤销过了。".to_string(),
        "void_window_closed" => "兑换员只能撤销当天的兑换；以前的请管理员撤销。".to_string(),
        "forbidden_self_redemption" => "不能给自己的存折兑换，请另一位兑换员办理。".to_string(),
        "forbidden_self_void" => {
            "不能撤销自己存折上的兑换，请另一位兑换员或管理员办理。".to_string()
        }
        "idempotency_key_reused" => {
            "这张确认单已用于另一篮商品。请回到居民页重新选择商品。".to_string()
        }
        "idempotency_key_in_use" | "ledger_busy" | "service_unavailable" => {
            "系统正忙，请稍等几秒再点一次（不会重复兑换）。".to_string()
        }
        "validation_failed" if field == "new_password" || e.detail.contains("password") => {
            format!("新密码须为 {PASSWORD_CHARS_MIN} 到 {PASSWORD_CHARS_MAX} 个字符。")
        }
        "validation_failed" if e.extra.contains_key("lines_max") => format!(
            "{EXPORT_TOO_LONG_BEFORE}{}{EXPORT_TOO_LONG_AFTER}",
            text(e, "lines_max")
        ),
        "validation_failed" if field == "pickup_code" => ORDER_CODE_INVALID.to_string(),
        "validation_failed" => format!("填写的内容有误：{}", e.detail),
        "invalid_query" if field == "month" => {
            "月份格式应为 2026-12（年-月）。请回到光荣榜重新选择月份。".to_string()
        }
        "invalid_query" if e.detail.contains("is after") => PERIOD_REVERSED.to_string(),
        "invalid_query" if matches!(field.as_str(), "from" | "to" | "day" | "month") => {
            DATE_INVALID.to_string()
        }
        "invalid_query" if e.detail.contains("after_seq") => JOURNAL_AFTER_INVALID.to_string(),
        "forbidden_self_approval" => OWN_DEED.to_string(),
        "invalid_transition" => format!(
            "这条善行现在的状态（{}）不能这样办理，可能已被别人处理。",
            deed_status_name(&text(e, "status"))
        ),
        "monthly_cap_exceeded" => format!(
            "超过本月上限：上限 {} 分，已用 {} 分，还可 {} 分。",
            text(e, "cap"),
            text(e, "used"),
            text(e, "remaining")
        ),
        "objection_ruled" => "这条异议已经裁决过了。".to_string(),
        "objection_undecided" => "还有未裁决的异议，公示期满也不入账。".to_string(),
        "notice_not_over" => "公示期未满。".to_string(),
        "order_not_found" => ORDER_CODE_UNKNOWN.to_string(),
        "order_ended" => format!(
            "这个预订已经{}了，不能再办理。",
            match text(e, "status").as_str() {
                "collected" => "取过货",
                "cancelled" => "取消",
                "expired" => "过期退回",
                _ => "结束",
            }
        ),
        "not_found" => NOT_FOUND.to_string(),
        "forbidden" => FORBIDDEN.to_string(),
        _ if e.status.is_server_error() => "系统出错，未能完成。请稍后再试。".to_string(),
        _ => format!("未能完成：{}", e.detail),
    };
    FieldProblem { field, message }
}

/// A deed's status as the review desk says it.
pub fn deed_status_name(status: &str) -> &'static str {
    match status {
        "submitted" => "待审核",
        "reviewed" => "已初审",
        "returned" => "已退回",
        "approved" => "公示中",
        "rejected" => "已驳回",
        "withdrawn" => "已撤回",
        "credited" => "已入账",
        "reversed" => "已冲正",
        _ => "未知",
    }
}

/// A step of a deed's history, as the review desk says it.
pub fn deed_action_name(action: &str) -> &'static str {
    match action {
        "submit" => "登记",
        "review_pass" => "初审通过",
        "review_return" => "初审退回",
        "approve" => "审批通过",
        "reject" => "驳回",
        "withdraw" => "撤回",
        "object" => "提出异议",
        "uphold_objection" => "异议成立，退回重审",
        "dismiss_objection" => "异议驳回，继续公示",
        "credit" => "入账",
        "reverse" => "冲正",
        _ => "其他",
    }
}

// ---- The residents' own pages (我的存折, 我的申报, 申报好事, 商品, 提出异议): src/passbook/web/mine.rs,
// src/deeds/web/mine.rs, src/deeds/web/object.rs, src/shop/web/on_sale.rs.
pub const MENU_MINE: &str = "我的存折";
pub const MENU_MY_DEEDS: &str = "我的申报";
pub const MENU_DECLARE: &str = "申报好事";
pub const MENU_SHOP: &str = "商品";
/// Who recorded a line or a step that no person made (the notice sweeper).
pub const ME_RECORDER_SYSTEM: &str = "系统（公示期满自动入账）";
pub const MY_DEED_FIRST_CHECK: &str = "待初审";
pub const MY_DEED_DECISION: &str = "待审批";
pub const MY_DEED_OBJECTED: &str = "（有人提出异议，等待管理员裁定）";
pub const OBJECTION_WAITING: &str = "等待管理员裁定";
pub const OBJECTION_REASON_REQUIRED: &str = "请写明理由：哪里与事实不符（最多 500 字）。";
pub const ME_MONTH_AHEAD: &str = "这个月还没到；下面显示的是本月。";

/// The Chinese for a refusal of 申报好事, beside the field it belongs to.
pub fn declare_problem(e: &ApiError) -> FieldProblem {
    let field = text(e, "field");
    let (field, message): (&str, String) = match (e.code, field.as_str()) {
        ("validation_failed", "occurred_on") if e.detail.contains("future") => {
            ("occurred_on", "日期不能晚于今天。".into())
        }
        ("validation_failed", "occurred_on") if e.detail.contains("days ago") => (
            "occurred_on",
            "这个日期太早了，已过了本社区允许补报的天数。请联系网格员。".into(),
        ),
        ("validation_failed", "occurred_on") => ("occurred_on", "日期应写成 2026-12-02。".into()),
        ("validation_failed", "description") => (
            "description",
            "请写下做了什么（最多 500 字），例如：帮邻居王奶奶买菜。".into(),
        ),
        ("validation_failed", "quantity") => ("quantity", RECORD_QUANTITY_INVALID.into()),
        ("rule_inactive", _) | ("not_found", _) => ("rule", "这条细则已停用，请另选一条。".into()),
        ("idempotency_key_reused", _) => (
            "form",
            "这张申报单已经提交过了，内容和这次不同。请重新打开“申报好事”再填一张。".into(),
        ),
        _ => {
            let mut p = problem(e);
            if p.field.is_empty() {
                p.field = "form".into();
            }
            return p;
        }
    };
    FieldProblem::on(field, message)
}

/// The Chinese for a refused objection, above the form.
pub fn objection_problem(e: &ApiError) -> FieldProblem {
    let message = match e.code {
        "invalid_transition" => {
            "这一项已不在公示期（公示已结束，或已退回重审），不能再提出异议。".to_string()
        }
        "validation_failed" => OBJECTION_REASON_REQUIRED.to_string(),
        "already_objected" => "您已对这一项提出过异议，正在等待管理员裁定，不用再提。".to_string(),
        _ => problem(e).message,
    };
    FieldProblem::on("form", message)
}
// The printed passbook (存折, /passbook/{account_id}/print): the rows a bookkeeper writes.
pub const PASSBOOK_SYSTEM: &str = "系统";
/// Page 1 of a period that starts after the passbook was opened.
pub const PASSBOOK_BROUGHT_IN: &str = "上期结转";
/// Page 1 of the whole passbook, from its opening.
pub const PASSBOOK_OPENING: &str = "期初余额";
pub const PASSBOOK_CARRIED_IN: &str = "承前页";
pub const PASSBOOK_CARRIED_OUT: &str = "过次页";
pub const PASSBOOK_PERIOD_TOTAL: &str = "本期合计";
/// The period's start when none was asked.
pub const PASSBOOK_FROM_OPENING: &str = "开户";

// The public check page (核验): what a resident reads after scanning a passbook line or receipt.
pub const CHECK_TITLE: &str = "核验账目";
pub const CHECK_SEQ_INVALID: &str =
    "二维码里的“第几笔”不对：应是 1 或更大的整数。请重新扫码，或照凭证上的核验码手工输入。";
pub const CHECK_SIZE_INVALID: &str =
    "二维码里的签名记录编号不对：应是不小于“第几笔”的整数。请重新扫码。";
pub const CHECK_NO_HEAD: &str = "本社区没有在这个编号签过名的记录。如果这张凭证确是本社区打印的，说明签名记录被删改了：请带上凭证告知社区居委会或镇（街道）。";
pub const CHECK_STEP_HEAD: &str = "凭证所依据的签名记录，经本社区公钥验证属实";
pub const CHECK_STEP_CONTENT: &str =
    "这一笔的内容（金额、时间、账户）与账本记录的指纹一致，没有被改动";
pub const CHECK_STEP_INCLUDED: &str = "这一笔在签名时的账本里（包含证明）";
pub const CHECK_STEP_LATEST: &str = "本社区最新的签名记录，经公钥验证属实";
pub const CHECK_STEP_CONSISTENT: &str =
    "此后的账本只是在后面续写，没有删改签名时已有的内容（一致性证明）";
pub const CHECK_MISSING: &str = "账本里已经找不到这一笔了";
pub const CHECK_NO_PROOF: &str = "账本的证明数据缺损，无法给出证明";

/// An account as the public check page names it: a passbook by its masked number, a community
/// account by what it is.
pub fn account_kind(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Member => "存折",
        AccountKind::Issuance => "社区积分发行",
        AccountKind::Shop => "积分超市",
        AccountKind::Deductions => "扣分",
        AccountKind::Holds => "预订冻结",
        AccountKind::Household => "家庭存折",
        AccountKind::Expired => "过期清零",
        AccountKind::Fund => "爱心基金",
    }
}

/// How an objection stands, as a deed's pages write it: waiting for the ruling, or the ruling
/// with who made it, when (community-local) and why.
pub fn objection_ruling(
    status: crate::deeds::model::ObjectionStatus,
    ruled_by: &str,
    ruled_at: &str,
    reason: Option<&str>,
) -> String {
    use crate::deeds::model::ObjectionStatus;
    let ruling = match status {
        ObjectionStatus::Open => return OBJECTION_WAITING.to_string(),
        ObjectionStatus::Upheld => "异议成立，退回重审",
        ObjectionStatus::Dismissed => "异议驳回，继续公示",
    };
    let reason = reason.map(|r| format!("：{r}")).unwrap_or_default();
    format!("{ruling}（{ruled_by} {ruled_at}）{reason}")
}

pub const MENU_MY_ORDERS: &str = "我的预订";
pub const MENU_PICKUP: &str = "预订取货";
pub const ORDER_CODE_UNKNOWN: &str =
    "没有找到用这个取货码的待取预订。请核对六位数字；预订可能已取走、取消或过期。";
pub const ORDER_CODE_INVALID: &str = "取货码是六位数字，例如 042917。";
pub const ORDER_QUANTITY_INVALID: &str = "请填写要预订的件数：1 到 100 之间的整数。";
pub const ORDER_CANCELLED_BY_RESIDENT: &str = "居民自己取消";

/// A reservation the passbook cannot pay for, in the resident's words.
pub fn order_short_of_coins(balance: &str, required: &str) -> String {
    format!("积分不够：您现在可用 {balance} 分，这次预订需要 {required} 分。请少订几件。")
}

/// The warning of coins about to expire (清零), as the card and the resident's page write it:
/// `35.50 分将于 2027年1月1日到期`; empty when nothing expires soon.
pub fn expiring_words(expiring: Option<crate::expiry::store::Expiring>) -> String {
    match expiring {
        Some(e) => format!("{} 分将于 {} 到期", e.amount, e.on.format("%Y年%-m月%-d日")),
        None => String::new(),
    }
}
// ---------------------------------------------------------------- the community fund (爱心基金)

pub const MENU_FUND: &str = "爱心基金";
pub const MENU_DONATE: &str = "爱心捐赠";
pub const FUND_DONE_PROPOSED: &str = "救助申请已提出，等待另一位管理员批准。";
pub const FUND_DONE_APPROVED: &str = "已批准，救助款已从爱心基金记入居民存折。";
pub const FUND_DONE_REJECTED: &str = "已驳回，爱心基金没有变动。";
pub const FUND_DONE_DONATED: &str = "捐赠已记入爱心基金。";
pub const FUND_MEMBER_NO_MISSING: &str = "请填写居民的存折号。";
pub const FUND_MEMBER_NOT_FOUND: &str = "没有这个存折号的居民，请核对后再填。";

/// How a grant stands, in the fund page's words.
pub fn grant_status(status: crate::fund::model::GrantStatus) -> &'static str {
    use crate::fund::model::GrantStatus;
    match status {
        GrantStatus::Proposed => "待批准",
        GrantStatus::Approved => "已批准",
        GrantStatus::Rejected => "已驳回",
    }
}

/// What the donate page says after a donation.
pub fn fund_donated(amount: &str, balance: &str) -> String {
    format!("已捐赠 {amount} 道德币给爱心基金，存折余额 {balance}。谢谢您的爱心！")
}

/// The Chinese message for a refusal of the fund's functions, and the field it belongs to.
pub fn fund_problem(e: &ApiError) -> FieldProblem {
    let field = text(e, "field");
    let (field, message): (&str, String) = match e.code {
        "insufficient_balance" => (
            "amount",
            format!(
                "存折余额只有 {}，不够捐 {}。请改小金额。",
                text(e, "balance"),
                text(e, "required")
            ),
        ),
        "fund_insufficient" => (
            "decision",
            format!(
                "爱心基金现只有 {}，不够这笔救助 {}。等有更多捐赠后再批准，或驳回。",
                text(e, "balance"),
                text(e, "required")
            ),
        ),
        "forbidden_own_proposal" => (
            "decision",
            "这笔救助是您提出的，须由另一位管理员批准或驳回。".into(),
        ),
        "forbidden_self_grant" => (
            "member_no",
            "不能给自己的存折提出或批准救助，请另一位管理员办理。".into(),
        ),
        "forbidden_self_donation" => (
            "member_no",
            "不能在柜台为自己的存折记捐赠，请在“爱心捐赠”里用自己的账号捐。".into(),
        ),
        "grant_decided" => (
            "decision",
            "这笔救助已经有人批准或驳回过了，不能再办。".into(),
        ),
        "account_frozen" => ("member_no", "这本存折已冻结，不能捐赠或救助。".into()),
        "validation_failed" if field == "amount" => (
            "amount",
            "请填写大于 0 的金额，最多两位小数，例如 10 或 12.50。".into(),
        ),
        "validation_failed" if field == "reason" => {
            ("reason", "请写明理由（必填，最多 500 字）。".into())
        }
        "validation_failed" if field == "memo" => ("memo", "留言最多 500 字。".into()),
        _ => ("", format!("未能办理：{}", e.detail)),
    };
    FieldProblem::on(field, message)
}

pub const MENU_HOUSEHOLDS: &str = "户籍";
pub const HOUSEHOLD_CREDITS_HOUSEHOLD: &str = "本社区按户记分：居民做的好事记入所在户的家庭存折。";
pub const HOUSEHOLD_CREDITS_MEMBER: &str = "本社区按人记分：好事记入居民自己的存折。";
pub const HOUSEHOLD_CREATED: &str = "已登记这一户，户主已迁入。";
pub const HOUSEHOLD_MOVED: &str = "已迁入。";
pub const HOUSEHOLD_NAME_INVALID: &str = "请填写户名，1 到 40 个字。";
pub const HOUSEHOLD_NAME_TAKEN: &str = "已经有叫这个名字的户了，请换一个（如加上楼栋门牌）。";
pub const HOUSEHOLD_NO_SUCH_RESIDENT: &str = "没有这个存折号的居民，请核对（如 M000001）。";
