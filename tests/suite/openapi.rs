//! The checked-in contract is what the code generates, and what the server serves.

use crate::common::TestApp;

const CHECKED_IN: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"));

#[test]
fn the_checked_in_spec_matches_the_code() {
    let generated = moralbank::app::openapi::spec_json();
    if std::env::var("MORALBANK_UPDATE_OPENAPI").is_ok() {
        // Written aside and renamed into place: `startup` reads the file while this runs.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
        let fresh = format!("{path}.new");
        std::fs::write(&fresh, &generated).unwrap();
        std::fs::rename(&fresh, path).unwrap();
        return;
    }
    assert!(
        generated == CHECKED_IN,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

fn the_server_serves_the_checked_in_spec(app: TestApp) {
    let resp = app.request("GET", "/api/v1/openapi.json", None, &[], None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text, CHECKED_IN);
}

#[test]
fn every_error_response_in_the_spec_is_problem_json() {
    let spec: serde_json::Value = serde_json::from_str(CHECKED_IN).unwrap();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not problem+json"
                    );
                }
            }
        }
    }
}

both_backends!(the_server_serves_the_checked_in_spec);
