//! What the HTTP layer answers before any handler runs is problem+json too, and what curl sends
//! as typed — raw UTF-8 in a query — is understood. These tests speak HTTP/1.1 over a raw TCP
//! socket, since an HTTP client library would never send such bytes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::TestApp;
use serde_json::Value;

/// One answer read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn assert_problem(&self, status: u16, code: &str) {
        let body = String::from_utf8_lossy(&self.body);
        assert_eq!(self.status, status, "{body}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let json = self.json();
        assert_eq!(json["status"], status, "{body}");
        assert_eq!(json["code"], code, "{body}");
        assert!(
            json["title"].is_string() && json["detail"].is_string(),
            "{body}"
        );
    }
}

/// Parses every answer in `bytes` (pipelined answers follow each other).
fn parse_answers(mut bytes: &[u8]) -> Vec<Raw> {
    let mut out = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).to_string();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let body_start = end + 4;
        let body = bytes[body_start..(body_start + length).min(bytes.len())].to_vec();
        bytes = &bytes[(body_start + length).min(bytes.len())..];
        out.push(Raw {
            status,
            headers,
            body,
        });
    }
    out
}

/// Sends `request` as is and reads until the server closes the connection (or 10 s pass).
fn exchange(app: &TestApp, request: &[u8]) -> Vec<Raw> {
    let mut stream = TcpStream::connect(app.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    parse_answers(&received)
}

fn one(app: &TestApp, request: &[u8]) -> Raw {
    let mut answers = exchange(app, request);
    assert_eq!(answers.len(), 1, "{answers:?}");
    answers.remove(0)
}

fn get_with_raw_target(app: &TestApp, target: &[u8]) -> Vec<u8> {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(
        format!(
            " HTTP/1.1\r\nHost: moralbank\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            app.admin_token
        )
        .as_bytes(),
    );
    request
}

fn raw_utf8_in_a_query_is_read_like_its_percent_encoding(app: TestApp) {
    for name in ["王五", "王小明", "张三"] {
        app.create_member(name);
    }
    let raw = one(
        &app,
        &get_with_raw_target(&app, "/api/v1/members?q=王".as_bytes()),
    );
    assert_eq!(raw.status, 200, "{}", String::from_utf8_lossy(&raw.body));
    let encoded = app.get("/api/v1/members?q=%E7%8E%8B", &app.admin_token);
    assert_eq!(raw.json(), encoded.body);
    let names: Vec<&str> = encoded.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["王五", "王小明"]);
    // Raw UTF-8 in the path is read the same way: no such route, as problem+json.
    one(&app, &get_with_raw_target(&app, "/api/v1/会员".as_bytes()))
        .assert_problem(404, "route_not_found");
    // Bytes that are not UTF-8 are not a search: a clear 400, not an empty answer.
    one(
        &app,
        &get_with_raw_target(&app, b"/api/v1/members?q=\xff\xfe"),
    )
    .assert_problem(400, "invalid_query");
}

fn malformed_requests_get_problem_json(app: TestApp) {
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..120)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "a space in the target",
            b"GET /api/v1/members?q=a b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "a control character in the target",
            b"GET /api/\x01v1 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "a header line without a colon",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "no Host header in HTTP/1.1",
            b"GET /healthz HTTP/1.1\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "an unknown HTTP version",
            b"GET /healthz HTTP/7.0\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "two Content-Length headers",
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
                .to_vec(),
            400,
            "malformed_request",
        ),
        (
            "Content-Length and chunked together",
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}"
                .to_vec(),
            400,
            "malformed_request",
        ),
        (
            "a head larger than the limit",
            big_header.into_bytes(),
            431,
            "request_header_fields_too_large",
        ),
        (
            "more headers than the limit",
            many_headers.into_bytes(),
            431,
            "request_header_fields_too_large",
        ),
    ];
    for (what, request, status, code) in cases {
        let answers = exchange(&app, &request);
        assert_eq!(answers.len(), 1, "{what}: {answers:?}");
        let answer = &answers[0];
        assert_eq!(answer.status, status, "{what}: {answer:?}");
        answer.assert_problem(status, code);
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    }
}

fn pipelined_requests_with_bodies_keep_their_framing(app: TestApp) {
    app.create_member("王五");
    let login = br#"{"username":"admin","password":"admin-password-for-tests"}"#;
    let mut request = Vec::new();
    // A request with a Content-Length body, one with a chunked body, then raw UTF-8: each is read
    // whole, in order, on one connection.
    request.extend_from_slice(
        format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            login.len()
        )
        .as_bytes(),
    );
    request.extend_from_slice(login);
    request.extend_from_slice(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let (head, tail) = login.split_at(10);
    for chunk in [head, tail] {
        request.extend_from_slice(format!("{:x};ext=1\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
    request.extend_from_slice(&get_with_raw_target(
        &app,
        "/api/v1/members?q=王".as_bytes(),
    ));
    let answers = exchange(&app, &request);
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!(answers[0].status, 200, "{answers:?}");
    assert!(answers[0].json()["access_token"].is_string());
    assert_eq!(answers[1].status, 200, "{answers:?}");
    assert!(answers[1].json()["access_token"].is_string());
    assert_eq!(answers[2].status, 200, "{answers:?}");
    assert_eq!(answers[2].json()["items"][0]["name"], "王五");
}

fn a_request_head_that_never_ends_times_out_as_problem_json(app: TestApp) {
    let mut stream = TcpStream::connect(app.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    let answers = parse_answers(&received);
    assert_eq!(answers.len(), 1, "{answers:?}");
    answers[0].assert_problem(408, "request_timeout");
}

both_backends!(
    raw_utf8_in_a_query_is_read_like_its_percent_encoding,
    malformed_requests_get_problem_json,
    pipelined_requests_with_bodies_keep_their_framing,
    a_request_head_that_never_ends_times_out_as_problem_json,
);
