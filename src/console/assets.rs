//! The console's stylesheet and script, written for this project and compiled into the binary.

use actix_web::http::header;
use actix_web::HttpResponse;

const STYLESHEET: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");
/// The public check page's verifier: SHA-256 and RFC 9162 proofs, our own (a phone reaching the
/// service over plain HTTP has no `crypto.subtle`).
const CHECK_SCRIPT: &str = include_str!("assets/check.js");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        // The same binary always serves the same file; an hour keeps the counter quick.
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

pub async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn check_script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", CHECK_SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::STYLESHEET;

    /// A rule block left open (as a merge once left a `@media` block) swallows every rule after
    /// it without a word from the browser: the braces must pair up, never closing more than open.
    #[test]
    fn the_stylesheets_blocks_are_all_closed() {
        let mut depth: i64 = 0;
        let mut in_comment = false;
        let bytes = STYLESHEET.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if in_comment {
                if bytes[i..].starts_with(b"*/") {
                    in_comment = false;
                    i += 1;
                }
            } else if bytes[i..].starts_with(b"/*") {
                in_comment = true;
                i += 1;
            } else if bytes[i] == b'{' {
                depth += 1;
            } else if bytes[i] == b'}' {
                depth -= 1;
                assert!(depth >= 0, "a brace closes nothing at byte {i}");
            }
            i += 1;
        }
        assert!(!in_comment, "a comment is left open");
        assert_eq!(depth, 0, "a block is left open");
    }
}
