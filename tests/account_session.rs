//! The account (issue 19, point 2), as moderators' sessions against the reference server
//! over HTTP, through modq's own event loop: the author's age and strikes on the item, the
//! catalog's proposal pre-selected in `T`, the measure in the audit and the statement of
//! reasons, undo lifting it, a ban by a senior; and the API refusing a measure it cannot
//! apply, from a valid token, with nothing applied.

mod common;
#[path = "common/received.rs"]
mod received;

use serde_json::{Value, json};

use common::{Session, TestServer, decision};
use modq::account::{AccountAction, AccountMeasure};
use modq::model::{DecisionAction, DecisionOutcome, ReviewState, Role};
use modq::server::{self, SqliteStorage};
use modq::tui::app::Layer;
use received::decide_as;

/// Four posts by one young account (made five days before the sample's now), one by an old
/// account, and one whose author the platform did not say.
const QUEUE: &str = r#"{"subject": {"id": "h-1", "kind": "post", "text": "you again? everyone hates you", "author": {"id": "u-young", "handle": "@fresh", "created_at": "2026-11-18T12:00:00Z"}, "countries": ["DE"]}, "reporter_type": "user", "category": "harassment", "received_at": "2026-11-23T08:00:00Z"}
{"subject": {"id": "h-2", "kind": "post", "text": "still here, loser?", "author": {"id": "u-young", "handle": "@fresh", "created_at": "2026-11-18T12:00:00Z"}, "countries": ["DE"]}, "reporter_type": "user", "category": "harassment", "received_at": "2026-11-23T08:01:00Z"}
{"subject": {"id": "h-3", "kind": "post", "text": "I know where you live", "author": {"id": "u-young", "handle": "@fresh", "created_at": "2026-11-18T12:00:00Z"}, "countries": ["DE"]}, "reporter_type": "user", "category": "harassment", "received_at": "2026-11-23T08:02:00Z"}
{"subject": {"id": "h-4", "kind": "post", "text": "and your sister", "author": {"id": "u-young", "handle": "@fresh", "created_at": "2026-11-18T12:00:00Z"}, "countries": ["DE"]}, "reporter_type": "user", "category": "harassment", "received_at": "2026-11-23T08:03:00Z"}
{"subject": {"id": "s-1", "kind": "post", "text": "buy followers", "author": {"id": "u-old", "created_at": "2019-02-01T00:00:00Z"}, "countries": ["FR"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T08:04:00Z"}
{"subject": {"id": "anon-1", "kind": "post", "text": "who wrote this", "countries": ["FR"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T08:05:00Z"}
"#;

fn token(server: &TestServer, name: &str, role: Role) -> String {
    let storage = SqliteStorage::open(&server.db).expect("open server db");
    server::add_token(&storage, name, role).expect("token")
}

async fn desk(server: &TestServer, token: &str) -> (tempfile::TempDir, Session) {
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open_as(server, token, data.path()).await;
    s.wait_until("the catalog arrives", |app| app.policies.is_some())
        .await;
    (data, s)
}

fn go_to(s: &mut Session, id: &str) {
    let i = s
        .app
        .entries
        .iter()
        .position(|e| e.id == id)
        .unwrap_or_else(|| panic!("{id} in the window"));
    s.select(i);
    assert_eq!(s.selected_id(), id);
}

fn struck(item: &str, key: &str) -> modq::model::Decision {
    modq::model::Decision {
        idempotency_key: key.into(),
        account: Some(AccountMeasure::strike()),
        ..decision(item, DecisionAction::TakeDown)
    }
}

async fn get(server: &TestServer, path: &str, token: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", server.api))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// The whole export is in the Transparency Database's schema (docs/sor.schema.json).
fn assert_in_schema(export: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("../docs/sor.schema.json")).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(export)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{export:#}");
}

/// The statement of reasons exported for a take down of `item`, if any.
async fn statement_for(server: &TestServer, lead: &str, item: &str) -> Option<Value> {
    let admin = token(
        server,
        &format!("auditor-{}", modq::store::new_key()),
        Role::Admin,
    );
    let audit = get(server, &format!("/v1/audit?item={item}"), &admin).await;
    let puids: Vec<String> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "take_down")
        .map(|e| format!("modq-{}", e["id"]))
        .collect();
    let export = get(server, "/v1/statements?since=2020-01-01", lead).await;
    assert_in_schema(&export);
    export["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| puids.iter().any(|p| s["puid"] == p.as_str()))
        .cloned()
}

#[tokio::test]
async fn the_third_strike_proposes_a_suspension_the_moderator_confirms_and_undo_lifts_it() {
    let server = TestServer::with_reports(QUEUE).await;
    let bob = server.add_moderator("mod-bob");
    let lead = token(&server, "lead", Role::Senior);
    let admin = token(&server, "auditor", Role::Admin);
    // Earlier today bob took down two of the account's posts, a strike each.
    for (item, key) in [("h-1", "bob-1"), ("h-2", "bob-2")] {
        let outcome = decide_as(&server.api, &bob, &struck(item, key)).await;
        assert_eq!(outcome, DecisionOutcome::Applied, "{item}");
    }

    let (_data, mut s) = desk(&server, &server.token).await;
    go_to(&mut s, "h-3");
    // The item says who the author is: five days old, two strikes in the window, and what
    // the catalog proposes for a third.
    let screen = s.screen(120, 40);
    assert!(
        screen.contains("account made 5 d ago · 2 strikes in 90 d"),
        "{screen}"
    );
    assert!(
        screen.contains("strikes 11-23 strike (harassment) · 11-23 strike (harassment)"),
        "{screen}"
    );
    assert!(
        screen.contains("proposal suspend 7 d with a take down (T)"),
        "{screen}"
    );

    // T: the account step has the proposal chosen; Tab through keeps it.
    s.press("T<tab><tab>");
    // Every size down to 1x1 draws it, no panic.
    s.draw_at_every_size();
    let screen = s.screen(120, 40);
    assert!(
        screen.contains("▸ account suspend 7 d — no posting or login"),
        "{screen}"
    );
    assert!(
        screen.contains("suspend 7 d — no posting or login · proposed (strike 3 within 90 d)"),
        "{screen}"
    );
    s.press("<tab><enter>");
    s.wait_delivered().await;

    // The server holds it: the account is suspended for a week from the decision.
    let standing = server.item("h-4").await.account.expect("a standing");
    let in_force = standing.in_force.expect("the suspension is in force");
    assert_eq!(
        in_force.measure,
        AccountMeasure {
            action: AccountAction::Suspend,
            days: Some(7)
        }
    );
    assert_eq!(standing.strikes_in_window, 3);
    assert_eq!(
        standing.proposal.map(|m| m.action),
        Some(AccountAction::Suspend),
        "a fourth strike would propose another suspension"
    );
    // The audit names the measure; the statement of reasons states it with its end date.
    let audit = get(&server, "/v1/audit?item=h-3", &admin).await;
    let take_down = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "take_down")
        .cloned()
        .expect("the take down is audited");
    assert_eq!(
        take_down["account"],
        json!({"action": "suspend", "days": 7})
    );
    assert_eq!(take_down["actor"], "mod-alice");
    let statement = statement_for(&server, &lead, "h-3")
        .await
        .expect("a statement for the take down");
    assert_eq!(statement["decision_account"], "DECISION_ACCOUNT_SUSPENDED");
    let end = in_force
        .until
        .expect("an end")
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(statement["end_date_account_restriction"], end.as_str());
    assert!(
        statement["decision_facts"]
            .as_str()
            .is_some_and(|f| f.contains("suspended for 7 days")),
        "{statement:#}"
    );
    // The earlier strikes restrict nothing: their statements have no account decision.
    let earlier = statement_for(&server, &lead, "h-1")
        .await
        .expect("a statement");
    assert!(earlier.get("decision_account").is_none(), "{earlier:#}");

    // Undo: the take down is reversed, and with it the suspension lifted.
    go_to(&mut s, "h-4");
    s.press("u");
    s.wait_delivered().await;
    assert_eq!(server.item("h-3").await.state, ReviewState::Open);
    let standing = server.item("h-4").await.account.expect("a standing");
    assert!(standing.in_force.is_none(), "{standing:?}");
    assert_eq!(standing.strikes_in_window, 2);
    assert!(
        statement_for(&server, &lead, "h-3").await.is_none(),
        "a reversed take down has no statement"
    );
}

#[tokio::test]
async fn a_senior_bans_from_t_and_the_statement_terminates_the_account() {
    let server = TestServer::with_reports(QUEUE).await;
    let sam = token(&server, "sam", Role::Senior);
    let (_data, mut s) = desk(&server, &sam).await;
    go_to(&mut s, "s-1");
    let screen = s.screen(120, 40);
    assert!(
        screen.contains("account made 7 y ago · 0 strikes in 90 d"),
        "{screen}"
    );
    // A first strike is proposed; the senior goes down the list to the ban.
    s.press("T<tab><tab>");
    let chosen = match s.app.layers.last() {
        Some(Layer::Picker { picker, .. }) => picker.account,
        other => panic!("the picker is open, not {other:?}"),
    };
    assert_eq!(chosen, Some(AccountMeasure::strike()));
    s.press("<down><down><down><down><down><enter>");
    assert!(
        s.screen(120, 40)
            .contains("account ban — the account is terminated"),
        "{}",
        s.screen(120, 40)
    );
    s.press("repeat spam network<enter>");
    s.wait_delivered().await;
    let standing = server.item("s-1").await.account.expect("a standing");
    let in_force = standing.in_force.expect("banned");
    assert_eq!(in_force.measure.action, AccountAction::Ban);
    assert_eq!(in_force.until, None, "a ban does not end by itself");
    assert_eq!(standing.proposal, None, "nothing more to propose");
    let statement = statement_for(&server, &sam, "s-1")
        .await
        .expect("a statement");
    assert_eq!(statement["decision_account"], "DECISION_ACCOUNT_TERMINATED");
    assert!(statement.get("end_date_account_restriction").is_none());
}

#[tokio::test]
async fn an_item_without_an_author_has_no_account_step() {
    let server = TestServer::with_reports(QUEUE).await;
    let (_data, mut s) = desk(&server, &server.token).await;
    go_to(&mut s, "anon-1");
    assert!(!s.screen(120, 40).contains("account "));
    s.press("T");
    let screen = s.screen(120, 40);
    assert!(!screen.contains("account"), "{screen}");
    s.press("<tab><tab><enter>");
    s.wait_delivered().await;
    assert_eq!(server.item("anon-1").await.state, ReviewState::TakenDown);
}

#[tokio::test]
async fn measures_the_api_cannot_apply_are_refused_from_a_valid_token_and_nothing_applies() {
    let server = TestServer::with_reports(QUEUE).await;
    let alice = &server.token;
    let post = |body: Value| {
        let api = server.api.clone();
        async move {
            let response = reqwest::Client::new()
                .post(format!("{api}/v1/decisions"))
                .bearer_auth(alice)
                .json(&body)
                .send()
                .await
                .expect("POST");
            let status = response.status();
            let body: Value = response.json().await.expect("JSON");
            (status, body)
        }
    };
    let take_down = |key: &str, item: &str, account: Value| {
        json!({"idempotency_key": key, "item_id": item, "action": "take_down",
               "decided_at": "2026-11-23T12:00:00Z", "account": account})
    };

    // An action the API does not know, or a field it does not take: the batch is refused.
    for account in [
        json!({"action": "obliterate"}),
        json!({"action": "suspend", "days": 0}),
        json!({"action": "suspend", "days": 366}),
        json!({"action": "suspend", "days": 7, "forever": true}),
        json!({"action": "suspend", "days": -1}),
        json!({"action": "suspend", "days": 1e12}),
        json!("ban"),
    ] {
        let (status, body) =
            post(json!({"decisions": [take_down("x", "h-1", account.clone())]})).await;
        assert!(status.is_client_error(), "{account}: {status} {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }

    // Well-formed but not appliable: each answered `invalid` (or `not_found`) with why.
    let cases = [
        (
            take_down("c", "h-1", json!({"action": "restrict"})),
            "invalid",
            "needs `days`",
        ),
        (
            take_down("d", "h-1", json!({"action": "ban", "days": 3})),
            "invalid",
            "no period",
        ),
        (
            take_down("e", "h-1", json!({"action": "ban"})),
            "invalid",
            "a ban needs",
        ),
        (
            take_down("f", "anon-1", json!({"action": "strike"})),
            "invalid",
            "no author",
        ),
        (
            take_down("g", "nobody", json!({"action": "strike"})),
            "not_found",
            "nobody",
        ),
        (
            json!({"idempotency_key": "h", "item_id": "h-1", "action": "keep",
                   "decided_at": "2026-11-23T12:00:00Z", "account": {"action": "strike"}}),
            "invalid",
            "comes with a take down",
        ),
    ];
    let batch: Vec<Value> = cases.iter().map(|(d, _, _)| d.clone()).collect();
    let (status, body) = post(json!({ "decisions": batch })).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    for ((_, outcome, says), result) in cases
        .iter()
        .zip(body["results"].as_array().expect("results"))
    {
        assert_eq!(result["outcome"], *outcome, "{result}");
        assert!(
            result["message"].as_str().is_some_and(|m| m.contains(says)),
            "{says}: {result}"
        );
    }

    // A flood of them: two thousand bans from a moderator, every one refused with why.
    let flood: Vec<Value> = (0..2000)
        .map(|i| take_down(&format!("flood-{i}"), "h-2", json!({"action": "ban"})))
        .collect();
    let (status, body) = post(json!({ "decisions": flood })).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 2000);
    assert!(results.iter().all(|r| r["outcome"] == "invalid"));
    // A period out of range anywhere in a batch refuses the whole batch, named.
    let mut batch: Vec<Value> = (0..1000)
        .map(|i| take_down(&format!("ok-{i}"), "h-2", json!({"action": "strike"})))
        .collect();
    batch.push(take_down(
        "long",
        "h-2",
        json!({"action": "suspend", "days": 100000}),
    ));
    let (status, body) = post(json!({ "decisions": batch })).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("decisions[1000].account.days")),
        "{body}"
    );

    // Nothing applied: the items are open, no measure recorded, nothing audited.
    for id in ["h-1", "h-2", "anon-1"] {
        assert_eq!(server.item(id).await.state, ReviewState::Open, "{id}");
        assert_eq!(server.audit_rows(id), 0, "{id}");
    }
    let standing = server.item("h-3").await.account.expect("a standing");
    assert_eq!(standing.strikes_in_window, 0);
    let rows: i64 = rusqlite::Connection::open(&server.db)
        .expect("db")
        .query_row("SELECT COUNT(*) FROM account_measures", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 0);
}
