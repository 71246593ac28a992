//! What wraps every route: security headers, problem+json for actix's own errors and for the
//! request heads the guard refused, UTF-8 queries, body limits.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, Next};
use actix_web::{web, HttpResponse, ResponseError};

use crate::http::problem::{ApiError, PROBLEM_CONTENT_TYPE};
use crate::http::request_head::{
    Refusal, REFUSAL_HEADER, REQUEST_HEADERS_MAX, REQUEST_HEAD_BYTES_MAX, REQUEST_HEAD_SECONDS_MAX,
};

/// Largest JSON request body accepted, in bytes. Every request of this API fits in a fraction.
pub const JSON_BODY_BYTES_MAX: usize = 64 * 1024;

pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        // Balances and passbooks must not linger in shared caches or a browser's history.
        .add((header::CACHE_CONTROL, "no-store"))
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "route_not_found",
        "no such route; see /api/v1/openapi.json",
    ))
}

/// Turns any error answer that is not already problem+json (actix's own 404/405, …) into one.
pub fn problem_for_bare_error<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // A problem already, or a console page that says in Chinese what went wrong.
    let is_answer = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| {
            v == HeaderValue::from_static(PROBLEM_CONTENT_TYPE)
                || v.as_bytes().starts_with(b"text/html")
        })
        .unwrap_or(false);
    if is_answer {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status.as_u16() {
        404 => ApiError::new(status, "route_not_found", "no such route"),
        405 => ApiError::new(
            status,
            "method_not_allowed",
            "this route does not take that method",
        ),
        413 => ApiError::new(status, "payload_too_large", "the request body is too large"),
        415 => ApiError::new(
            status,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        s if s >= 500 => ApiError::new(
            status,
            "internal_error",
            "the server could not complete the request",
        ),
        _ => ApiError::new(status, "bad_request", "the request could not be processed"),
    };
    let (req, _) = res.into_parts();
    let response: HttpResponse = error.error_response();
    let res = ServiceResponse::new(req, response).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_BODY_BYTES_MAX)
        .content_type_required(true)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as E;
            let api = match &err {
                E::ContentType => ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as application/json",
                ),
                E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::new(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {JSON_BODY_BYTES_MAX} bytes"),
                ),
                E::Deserialize(e) if e.is_data() => {
                    ApiError::validation(format!("the body does not fit the schema: {e}"))
                }
                E::Deserialize(e) => ApiError::bad_request(
                    "malformed_json",
                    format!("the body is not valid JSON: {e}"),
                ),
                _ => ApiError::bad_request("malformed_json", "the body could not be read"),
            };
            api.into()
        })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        ApiError::bad_request("invalid_query", format!("bad query parameters: {err}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    // A path that cannot name a thing (not a UUID, say) names nothing that exists.
    web::PathConfig::default().error_handler(|_err, _req| ApiError::not_found("resource").into())
}

/// Answers the synthetic request that stands for a request head the guard refused.
pub async fn refused_request(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    use actix_web::http::StatusCode;
    let refusal = req
        .headers()
        .get(REFUSAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(Refusal::from_header);
    let malformed = |detail: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            detail.to_string(),
        )
    };
    Err(match refusal {
        // A client asked for this path itself: there is nothing here.
        None => return not_found().await,
        Some(Refusal::RequestLine) => malformed(
            "the request line is not valid HTTP/1.1: a method, a target without spaces or control \
             characters, and HTTP/1.1 or HTTP/1.0",
        ),
        Some(Refusal::Header) => malformed("a header line of the request is not valid HTTP/1.1"),
        Some(Refusal::Framing) => malformed(
            "the request's Host, Content-Length or Transfer-Encoding headers are missing, \
             repeated or contradictory",
        ),
        Some(Refusal::TooLarge) => ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            format!(
                "the request head is larger than {REQUEST_HEAD_BYTES_MAX} bytes or has more \
                 than {REQUEST_HEADERS_MAX} headers"
            ),
        ),
        Some(Refusal::Timeout) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request head did not arrive within {REQUEST_HEAD_SECONDS_MAX} seconds"),
        ),
    })
}

/// A query string whose percent-decoding is not UTF-8 (GBK bytes from a Chinese Windows console,
/// say) would reach the handlers with its characters replaced by U+FFFD and search for nothing;
/// it is refused instead.
pub async fn refuse_non_utf8_queries(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> actix_web::Result<ServiceResponse<EitherBody<impl MessageBody>>> {
    if !percent_decodes_to_utf8(req.query_string()) {
        let error = ApiError::bad_request(
            "invalid_query",
            "the query string is not UTF-8; send UTF-8, percent-encoded or raw",
        );
        return Ok(req.error_response(error).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn percent_decodes_to_utf8(query: &str) -> bool {
    percent_encoding::percent_decode_str(query)
        .decode_utf8()
        .is_ok()
}
