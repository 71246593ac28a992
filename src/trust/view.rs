//! A signed head on paper (the trust concept's view for prints): the short code and time printed on passbook pages, receipts and
//! boards, and the check QR code beside them. The QR is inline SVG rendered here from a URL this
//! module builds from the community's code and two numbers, so nothing a person typed reaches it.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::db::DbConn;
use crate::kernel::CommunityId;
use crate::trust::model::{short_code, SignedHead};
use crate::trust::store;

/// A head as a print shows it.
#[derive(Debug, Clone)]
pub struct PaperHead {
    pub tree_size: u64,
    /// `#1234·a1b2c3d4`.
    pub short_code: String,
    /// When it was signed, in the community's local time, to the minute.
    pub signed_local: String,
}

impl PaperHead {
    pub fn of(head: &SignedHead, local_minute: impl Fn(NaiveDateTime) -> String) -> PaperHead {
        let signed = chrono::DateTime::parse_from_rfc3339(&head.signed_at)
            .map(|t| local_minute(t.naive_utc()))
            .unwrap_or_else(|_| head.signed_at.clone());
        PaperHead {
            tree_size: head.tree_size,
            short_code: short_code(head.tree_size, &head.root_hash),
            signed_local: signed,
        }
    }
}

/// The newest head covering journal seq `seq` (0: the newest head at all); when none does yet,
/// a head is signed now so the print can carry one. A print is by staff or the line's holder.
pub fn head_for_print(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    seq: i64,
    now: NaiveDateTime,
) -> QueryResult<SignedHead> {
    match store::head_covering(conn, community, code, seq)? {
        Some(head) => Ok(head),
        None => store::sign_head(conn, community, code, now),
    }
}

/// The head a board's print rests on, and the QR code to the community's published heads.
#[derive(Debug, Clone)]
pub struct BoardHead {
    pub head: PaperHead,
    pub heads_url: String,
    pub qr_svg: String,
}

/// The newest head for a board's print. `may_sign`: a print by staff signs one when the
/// community has none yet; a print from the public board, by anyone, only reads.
pub fn board_head(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    now: NaiveDateTime,
    may_sign: bool,
) -> QueryResult<Option<SignedHead>> {
    if may_sign {
        head_for_print(conn, community, code, 0, now).map(Some)
    } else {
        store::latest_head(conn, community, code)
    }
}

impl BoardHead {
    pub fn of(
        head: &SignedHead,
        base: &str,
        local_minute: impl Fn(NaiveDateTime) -> String,
    ) -> BoardHead {
        let heads_url = heads_url(base, &head.community);
        BoardHead {
            head: PaperHead::of(head, local_minute),
            qr_svg: qr_svg(&heads_url),
            heads_url,
        }
    }
}

/// `https://host` as the request reached us, so a QR scanned off paper comes back here.
pub fn base_url(info: &actix_web::dev::ConnectionInfo) -> String {
    format!("{}://{}", info.scheme(), info.host())
}

/// The check page of transaction `seq` under a head of `tree_size`.
pub fn check_url(base: &str, community_code: &str, seq: i64, tree_size: u64) -> String {
    format!(
        "{base}/public/{}/check?seq={seq}&size={tree_size}",
        url_segment(community_code)
    )
}

/// The community's published heads.
pub fn heads_url(base: &str, community_code: &str) -> String {
    format!("{base}/public/{}/heads", url_segment(community_code))
}

fn url_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The QR code of `url` as an inline `<svg>` (no XML prolog, no `style=`), sized by the stylesheet.
pub fn qr_svg(url: &str) -> String {
    let code = match QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M) {
        Ok(code) => code,
        // Only a URL longer than a QR code holds fails; ours are well under 200 bytes.
        Err(_) => return String::new(),
    };
    let image = code
        .render::<svg::Color>()
        .min_dimensions(120, 120)
        .quiet_zone(true)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    let start = image.find("<svg").unwrap_or(0);
    image[start..].replacen(
        "<svg ",
        "<svg class=\"check-qr\" role=\"img\" aria-label=\"核验二维码\" ",
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_is_inline_svg_without_a_prolog_or_style() {
        let svg = qr_svg(&check_url("http://127.0.0.1:8080", "demo", 12, 40));
        assert!(svg.starts_with("<svg class=\"check-qr\""), "{}", &svg[..60]);
        assert!(!svg.contains("<?xml"));
        assert!(!svg.contains("style"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn the_check_url_names_the_line_and_the_head() {
        assert_eq!(
            check_url("https://bank.example", "demo", 7, 9),
            "https://bank.example/public/demo/check?seq=7&size=9"
        );
        assert_eq!(heads_url("http://h", "a b"), "http://h/public/a%20b/heads");
    }
}
