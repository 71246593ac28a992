//! Every sentence the console's code says to a person, in one place: menu entries, role names,
//! page titles, and the Chinese for each problem the concept functions answer (with the true
//! figures they carry). The page text itself is in `templates/console/`.

use crate::auth::password::{PASSWORD_CHARS_MAX, PASSWORD_CHARS_MIN};
use crate::http::problem::ApiError;
use crate::kernel::{AccountKind, Role};

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
