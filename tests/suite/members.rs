//! Passbook numbers the service generates never collide: not with each other under concurrency,
//! and not with numbers typed in by hand.

use std::collections::BTreeSet;
use std::sync::Barrier;

use crate::common::{Resp, TestApp};
use serde_json::{json, Value};

/// Members created at once without a number.
const CONCURRENT_CREATIONS: usize = 32;
/// Rounds of generated and hand-typed numbers racing for the same values.
const RACE_ROUNDS: usize = 4;

fn create(app: &TestApp, body: &Value) -> Resp {
    app.post("/api/v1/members", &app.admin_token, body)
}

fn create_all_at_once(app: &TestApp, bodies: &[Value]) -> Vec<Resp> {
    let start = Barrier::new(bodies.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .iter()
            .map(|body| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    create(app, body)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("creation thread"))
            .collect()
    })
}

fn member_nos(answers: &[Resp]) -> BTreeSet<String> {
    answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.text);
            a.body["member_no"].as_str().expect("member_no").to_string()
        })
        .collect()
}

fn concurrent_members_without_a_number_all_get_distinct_numbers(app: TestApp) {
    let bodies: Vec<Value> = (0..CONCURRENT_CREATIONS)
        .map(|i| json!({"name": format!("居民{i}")}))
        .collect();
    let answers = create_all_at_once(&app, &bodies);
    let numbers = member_nos(&answers);
    assert_eq!(numbers.len(), CONCURRENT_CREATIONS, "{numbers:?}");
    // Nothing was skipped either: the numbers are exactly the first ones of the sequence.
    let expected: BTreeSet<String> = (1..=CONCURRENT_CREATIONS)
        .map(|n| format!("M{n:06}"))
        .collect();
    assert_eq!(numbers, expected);
}

fn a_hand_chosen_number_equal_to_the_next_generated_one_is_skipped(app: TestApp) {
    assert_eq!(app.create_member("一号")["member_no"], "M000001");
    let chosen = create(&app, &json!({"name": "手写", "member_no": "M000002"}));
    assert_eq!(chosen.status, 201, "{}", chosen.text);
    let next = create(&app, &json!({"name": "三号"}));
    assert_eq!(next.status, 201, "{}", next.text);
    assert_eq!(next.body["member_no"], "M000003");
    // A hand-chosen number that is taken is still refused, and refused cleanly.
    create(&app, &json!({"name": "重复", "member_no": "m000003"}))
        .assert_problem(409, "member_no_taken");
}

fn hand_chosen_numbers_racing_the_generator_never_make_it_fail(app: TestApp) {
    let mut highest = 0;
    let mut all_numbers = BTreeSet::new();
    for round in 0..RACE_ROUNDS {
        // Half the requests type in the very numbers the other half are about to be given.
        let bodies: Vec<Value> = (0..CONCURRENT_CREATIONS)
            .map(|i| {
                if i % 2 == 0 {
                    json!({
                        "name": format!("手写{round}-{i}"),
                        "member_no": format!("M{:06}", highest + i / 2 + 1),
                    })
                } else {
                    json!({"name": format!("自动{round}-{i}")})
                }
            })
            .collect();
        let answers = create_all_at_once(&app, &bodies);
        let mut created = Vec::new();
        for (body, answer) in bodies.iter().zip(answers) {
            if body.get("member_no").is_some() && answer.status != 201 {
                // A typed number the generator handed out a moment earlier is taken: that
                // refusal is right. A generated number is never refused.
                answer.assert_problem(409, "member_no_taken");
                continue;
            }
            assert_eq!(answer.status, 201, "round {round}, {body}: {}", answer.text);
            if body.get("member_no").is_some() {
                assert_eq!(answer.body["member_no"], body["member_no"]);
            }
            created.push(answer);
        }
        let numbers = member_nos(&created);
        assert_eq!(numbers.len(), created.len(), "{numbers:?}");
        highest = numbers
            .iter()
            .filter_map(|n| n.strip_prefix('M')?.parse::<usize>().ok())
            .max()
            .unwrap_or(highest);
        for number in numbers {
            assert!(all_numbers.insert(number.clone()), "{number} given twice");
        }
    }
}

both_backends!(
    concurrent_members_without_a_number_all_get_distinct_numbers,
    a_hand_chosen_number_equal_to_the_next_generated_one_is_skipped,
    hand_chosen_numbers_racing_the_generator_never_make_it_fail,
);
