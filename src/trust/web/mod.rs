//! The public check page (核验), for anyone with a printed passbook line or receipt: the QR code
//! on the paper names the line's transaction and the signed head it was printed under; the page
//! says whether the line is in the ledger unchanged. The server checks it end to end with the
//! community's key (`model::check_line`); the page's own script (`/assets/check.js`) recomputes
//! the inclusion and consistency proofs on the reader's phone, trusting the server for nothing
//! but the hashes it hands over. No names and no memo: amounts, the date, the kind and masked
//! passbook numbers only.

use actix_web::http::StatusCode;
use actix_web::web::{get, ServiceConfig};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::console::page::{local_minute, points, render_with, ConsoleError};
use crate::console::{resource, words};
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{AccountKind, JournalKind, LocalCalendar};
use crate::trust::model::{self, check_head, short_code, LineError, ProofBundle};
use crate::trust::store::{self, EvidenceRefusal, LineEvidence};

/// Longest community code looked up from a public path; longer ones name no community.
const COMMUNITY_CODE_CHARS_MAX: usize = 64;

pub fn routes(cfg: &mut ServiceConfig) {
    // GET only: the page changes nothing, so it needs neither a session nor a form token.
    cfg.service(resource("/public/{code}/check").route(get().to(show_check)));
}

/// What the QR code carries. Read as text so a damaged code gets a Chinese answer, not the
/// framework's.
#[derive(Debug, serde::Deserialize)]
pub struct CheckQuery {
    seq: Option<String>,
    size: Option<String>,
}

/// One step of the check and whether it held.
pub struct Step {
    pub ok: bool,
    pub text: &'static str,
    /// Why it failed, in Chinese, when it did.
    pub why: String,
}

/// One account the line moved, as the page shows it.
pub struct Movement {
    pub account: String,
    /// With its sign: `+10.00`, `-3.00`.
    pub amount: String,
    pub passbook: bool,
}

/// What the page's script recomputes, handed over as data attributes (no inline script).
pub struct Proofs {
    pub index: u64,
    pub size: u64,
    pub chain_hash: String,
    pub root: String,
    /// Hex hashes, space-separated.
    pub inclusion: String,
    pub latest_size: u64,
    pub latest_root: String,
    pub consistency: String,
}

pub struct Checked {
    pub seq: i64,
    pub ok: bool,
    pub kind: String,
    pub when: String,
    pub movements: Vec<Movement>,
    pub steps: Vec<Step>,
    pub head_code: String,
    pub head_signed: String,
    pub latest_code: String,
    pub latest_signed: String,
    pub key_id: String,
    pub public_key: String,
    pub proofs: Option<Proofs>,
}

#[derive(Template)]
#[template(path = "console/check.html")]
struct CheckPage {
    chrome: Option<crate::console::page::Chrome>,
    community: String,
    heads_path: String,
    /// Why there is nothing to check (bad QR, no such head).
    problem: Option<&'static str>,
    checked: Option<Checked>,
}

/// `1 ≤ seq ≤ size`, both whole numbers, or what is wrong in Chinese.
fn line_of(query: &CheckQuery) -> Result<(i64, u64), &'static str> {
    let seq: i64 = query
        .seq
        .as_deref()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&s| s >= 1)
        .ok_or(words::CHECK_SEQ_INVALID)?;
    let size: u64 = query
        .size
        .as_deref()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&s| s >= seq as u64 && s <= i64::MAX as u64)
        .ok_or(words::CHECK_SIZE_INVALID)?;
    Ok((seq, size))
}

/// A passbook number with its middle hidden: `M0***04`.
fn masked_passbook(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 4))
}

fn hex_all(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// Why a step failed, for the reader: plain words, the technical reason after.
fn why(error: &LineError) -> String {
    format!("（{error}）")
}

fn checked_of(evidence: LineEvidence, seq: i64, calendar: LocalCalendar) -> Checked {
    let LineEvidence {
        head,
        latest,
        public_key,
        key_id,
        transaction,
        inclusion,
        consistency,
        accounts,
    } = evidence;
    let head_ok = check_head(&head, &public_key);
    let mut steps = vec![Step {
        ok: head_ok.is_ok(),
        text: words::CHECK_STEP_HEAD,
        why: head_ok
            .err()
            .map(|e| format!("（{e}）"))
            .unwrap_or_default(),
    }];
    let mut kind = String::new();
    let mut when = String::new();
    let mut movements = Vec::new();
    let mut proofs = None;
    match (&transaction, &inclusion, &consistency) {
        (None, _, _) => steps.push(Step {
            ok: false,
            text: words::CHECK_STEP_CONTENT,
            why: words::CHECK_MISSING.to_string(),
        }),
        (Some(_), None, _) | (Some(_), _, None) => steps.push(Step {
            ok: false,
            text: words::CHECK_STEP_INCLUDED,
            why: words::CHECK_NO_PROOF.to_string(),
        }),
        (Some(t), Some(inclusion), Some(consistency)) => {
            let bundle = ProofBundle {
                format: model::PROOF_FORMAT.to_string(),
                transaction: t.clone(),
                head: head.clone(),
                public_key: public_key.clone(),
                inclusion_proof: hex_all(inclusion),
            };
            let consistency = hex_all(consistency);
            let outcome = model::check_line(&bundle, &public_key, &latest, &consistency);
            // Each step holds only when every one before it did: a step after a failed one
            // was not checked, so it is not shown.
            let passed = |steps: &mut Vec<Step>, n: usize| {
                let all = [
                    words::CHECK_STEP_CONTENT,
                    words::CHECK_STEP_INCLUDED,
                    words::CHECK_STEP_LATEST,
                    words::CHECK_STEP_CONSISTENT,
                ];
                steps.extend(all[..n].iter().map(|text| Step {
                    ok: true,
                    text,
                    why: String::new(),
                }));
            };
            let failed = |steps: &mut Vec<Step>, text: &'static str, e: &LineError| {
                steps.push(Step {
                    ok: false,
                    text,
                    why: why(e),
                })
            };
            match &outcome {
                Ok(_) => passed(&mut steps, 4),
                // The head's own step above says it.
                Err(LineError::Bundle(model::BundleError::Head(_))) => {}
                Err(e @ LineError::Bundle(model::BundleError::TransactionChanged))
                | Err(e @ LineError::Bundle(model::BundleError::HashFormat(_))) => {
                    failed(&mut steps, words::CHECK_STEP_CONTENT, e)
                }
                Err(e @ LineError::Bundle(_)) => {
                    passed(&mut steps, 1);
                    failed(&mut steps, words::CHECK_STEP_INCLUDED, e)
                }
                Err(e @ LineError::LatestHead(_)) => {
                    passed(&mut steps, 2);
                    failed(&mut steps, words::CHECK_STEP_LATEST, e)
                }
                Err(e) => {
                    passed(&mut steps, 3);
                    failed(&mut steps, words::CHECK_STEP_CONSISTENT, e)
                }
            }
            kind = JournalKind::parse(&t.kind)
                .map(|k| k.label().to_string())
                .unwrap_or_else(|| t.kind.clone());
            when = local_minute(calendar, crate::db::micros_to_time(t.created_at_micros));
            movements = t
                .postings
                .iter()
                .map(|p| {
                    let account = accounts.iter().find(|a| a.account_id == p.account_id);
                    let passbook = account.is_some_and(|a| a.kind == AccountKind::Member);
                    let name = match account {
                        Some(a) if a.kind == AccountKind::Member => format!(
                            "{} {}",
                            words::account_kind(a.kind),
                            masked_passbook(a.member_no.as_deref().unwrap_or(""))
                        ),
                        Some(a) => words::account_kind(a.kind).to_string(),
                        None => "—".to_string(),
                    };
                    let amount = points(p.amount);
                    Movement {
                        account: name,
                        amount: if p.amount > 0 {
                            format!("+{amount}")
                        } else {
                            amount
                        },
                        passbook,
                    }
                })
                .collect();
            // Passbooks first: they are what the reader holds.
            movements.sort_by_key(|m| !m.passbook);
            proofs = Some(Proofs {
                index: (t.seq - 1).max(0) as u64,
                size: head.tree_size,
                chain_hash: t.hash.clone(),
                root: head.root_hash.clone(),
                inclusion: bundle.inclusion_proof.join(" "),
                latest_size: latest.tree_size,
                latest_root: latest.root_hash.clone(),
                consistency: consistency.join(" "),
            });
        }
    }
    let ok = steps.iter().all(|s| s.ok);
    let minute = |signed: &str| {
        chrono::DateTime::parse_from_rfc3339(signed)
            .map(|t| local_minute(calendar, t.naive_utc()))
            .unwrap_or_else(|_| signed.to_string())
    };
    Checked {
        seq,
        ok,
        kind,
        when,
        movements,
        steps,
        head_code: short_code(head.tree_size, &head.root_hash),
        head_signed: minute(&head.signed_at),
        latest_code: short_code(latest.tree_size, &latest.root_hash),
        latest_signed: minute(&latest.signed_at),
        key_id,
        public_key,
        proofs,
    }
}

/// 核验账目: the check of one printed line, for anyone, without a login.
pub async fn show_check(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<CheckQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let code = path.into_inner();
    if code.is_empty() || code.chars().count() > COMMUNITY_CODE_CHARS_MAX {
        return Err(ConsoleError::NotFound);
    }
    let line = line_of(&query);
    let answer = with_conn(&state, move |conn| {
        let Some(row) = crate::communities::store::community_by_code(conn, &code)? else {
            return Ok(None);
        };
        let evidence = match line {
            Ok((seq, size)) => {
                match store::line_evidence(conn, row.id.into(), &row.code, seq, size) {
                    Ok(e) => Ok((seq, e)),
                    Err(EvidenceRefusal::NoSuchHead) => Err(words::CHECK_NO_HEAD),
                    Err(EvidenceRefusal::Database(e)) => return Err(e.into()),
                }
            }
            Err(problem) => Err(problem),
        };
        Ok(Some((row, evidence)))
    })
    .await?;
    let Some((row, evidence)) = answer else {
        return Err(ConsoleError::NotFound);
    };
    let calendar = LocalCalendar::new(row.utc_offset_minutes);
    let heads_path = format!(
        "/public/{}/heads",
        percent_encoding::utf8_percent_encode(&row.code, percent_encoding::NON_ALPHANUMERIC)
    );
    let (status, problem, checked) = match evidence {
        Ok((seq, evidence)) => (
            StatusCode::OK,
            None,
            Some(checked_of(evidence, seq, calendar)),
        ),
        Err(problem) if problem == words::CHECK_NO_HEAD => {
            (StatusCode::NOT_FOUND, Some(problem), None)
        }
        Err(problem) => (StatusCode::BAD_REQUEST, Some(problem), None),
    };
    render_with(
        status,
        &CheckPage {
            chrome: None,
            community: row.name,
            heads_path,
            problem,
            checked,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(seq: &str, size: &str) -> CheckQuery {
        CheckQuery {
            seq: Some(seq.into()),
            size: Some(size.into()),
        }
    }

    #[test]
    fn the_qr_line_must_be_a_seq_within_its_head() {
        assert_eq!(line_of(&query("3", "7")), Ok((3, 7)));
        assert_eq!(line_of(&query("7", "7")), Ok((7, 7)));
        assert_eq!(line_of(&query("0", "7")), Err(words::CHECK_SEQ_INVALID));
        assert_eq!(line_of(&query("-1", "7")), Err(words::CHECK_SEQ_INVALID));
        assert_eq!(line_of(&query("x", "7")), Err(words::CHECK_SEQ_INVALID));
        assert_eq!(line_of(&query("8", "7")), Err(words::CHECK_SIZE_INVALID));
        assert_eq!(
            line_of(&query("1", "99999999999999999999")),
            Err(words::CHECK_SIZE_INVALID)
        );
        assert_eq!(
            line_of(&CheckQuery {
                seq: None,
                size: None
            }),
            Err(words::CHECK_SEQ_INVALID)
        );
    }

    #[test]
    fn a_passbook_number_keeps_only_its_ends() {
        assert_eq!(masked_passbook("M000004"), "M0***04");
        assert_eq!(masked_passbook("M12"), "***");
        assert_eq!(masked_passbook("张三丰号码"), "张三*号码");
    }
}
