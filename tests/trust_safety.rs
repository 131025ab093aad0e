//! Trust & safety flows over real HTTP against the reference server: the policy catalog,
//! escalation tiers and the roles that decide them, territorial scope, statements of
//! reasons (checked against docs/sor.schema.json), author context and allowed actions,
//! notes, lanes and the daily transparency report.

use modq::model::{
    DecisionAction, DecisionOutcome, DecisionResults, EscalationTier, HistoryEvent, Item,
    QueuePage, ReviewState, Role, Scope,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[path = "common/json_api.rs"]
mod json_api;

use json_api::{Server, assert_api_error, decision};

impl Server {
    async fn queue(&self, query: &str, token: &str) -> Vec<String> {
        let (status, body) = self.client.get(&format!("/v1/queue{query}"), token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: QueuePage = serde_json::from_value(body).expect("a QueuePage");
        page.items.into_iter().map(|i| i.id).collect()
    }

    /// One decision; its outcome and message.
    async fn decide(&self, token: &str, d: Value) -> (DecisionOutcome, String) {
        let (status, body) = self
            .client
            .post("/v1/decisions", token, &json!({ "decisions": [d] }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut results: DecisionResults = serde_json::from_value(body).expect("results");
        let r = results.results.remove(0);
        (r.outcome, r.message.unwrap_or_default())
    }

    async fn claim(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.client.post("/v1/queue/claim", token, &body).await
    }

    /// Runs the modq binary against this server with a token file; its stdout.
    async fn modq(&self, token: &str, args: &[&str]) -> String {
        let token_file = self.dir.path().join("token");
        std::fs::write(&token_file, token).expect("token file");
        // modq refuses a token file others can read.
        let mut mode = std::fs::metadata(&token_file).expect("stat").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o600);
        std::fs::set_permissions(&token_file, mode).expect("chmod 600");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_modq"))
            .arg("--api")
            .arg(&self.client.base)
            .arg("--token-file")
            .arg(&token_file)
            .args(args)
            .output()
            .await
            .expect("run modq");
        assert!(
            out.status.success(),
            "modq {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

fn report(id: &str, reporter: &str, category: &str) -> Value {
    json!({
        "subject": {"id": id, "kind": "post", "text": format!("text of {id}"),
                    "author": {"id": "u-1", "handle": "@someone"}, "language": "de",
                    "countries": ["DE", "AT"]},
        "reporter_type": reporter,
        "category": category,
        "received_at": "2026-03-01T10:00:00Z",
    })
}

fn with(mut d: Value, field: &str, value: Value) -> Value {
    d[field] = value;
    d
}

fn take_down(key: &str, item: &str) -> Value {
    let mut d = decision(key, item, "take_down");
    d["reason_code"] = Value::Null;
    d
}

fn escalate(key: &str, item: &str, tier: &str, note: Option<&str>) -> Value {
    let d = with(
        decision(key, item, "escalate"),
        "escalation_target",
        json!(tier),
    );
    with(d, "note", json!(note))
}

// --- policy catalog -----------------------------------------------------------------------

#[tokio::test]
async fn take_downs_cite_catalog_codes_and_t_defaults_from_the_report_category() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    s.import(&[
        report("p-hate", "user", "hate"),
        report("p-odd", "user", "something-new"),
        report("p-mix", "user", "spam"),
        report("p-mix", "authority", "terrorism"),
    ]);

    let (status, catalog) = s.client.get("/v1/policies", &alice).await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<&str> = catalog["policy"]
        .as_array()
        .expect("policies")
        .iter()
        .filter_map(|p| p["code"].as_str())
        .collect();
    assert!(codes.contains(&"illegal_hate_speech") && codes.contains(&"child_sexual_abuse"));

    let made_up = with(
        decision("k1", "p-hate", "take_down"),
        "reason_code",
        json!("rude"),
    );
    let (outcome, message) = s.decide(&alice, made_up).await;
    assert_eq!(outcome, DecisionOutcome::Invalid);
    assert!(message.contains("policy catalog"), "{message}");

    for (key, id) in [("k2", "p-hate"), ("k3", "p-odd"), ("k4", "p-mix")] {
        assert_eq!(
            s.decide(&alice, take_down(key, id)).await.0,
            DecisionOutcome::Applied
        );
    }
    let reason = |item: &Item| {
        item.history
            .iter()
            .rfind(|h| h.event == HistoryEvent::TakeDown)
            .and_then(|h| h.reason_code.clone())
    };
    assert_eq!(
        reason(&s.item("p-hate", &alice).await).as_deref(),
        Some("illegal_hate_speech")
    );
    assert_eq!(
        reason(&s.item("p-odd", &alice).await).as_deref(),
        Some("other_tos")
    );
    // The authority's category outweighs the user's.
    assert_eq!(
        reason(&s.item("p-mix", &alice).await).as_deref(),
        Some("terrorist_content")
    );
}

// --- escalation tiers ---------------------------------------------------------------------

#[tokio::test]
async fn an_escalated_item_is_decided_only_by_its_tier_and_its_path_is_in_the_history() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let sam = s.token("sam", Role::Senior);
    let lee = s.token("lee", Role::Legal);
    let lou = s.token("lou", Role::LawEnforcement);
    s.import(&[
        report("p1", "authority", "hate"),
        report("p2", "user", "spam"),
    ]);

    // Past the senior tier, the next people work from the note.
    let (outcome, message) = s.decide(&alice, escalate("e0", "p1", "legal", None)).await;
    assert_eq!(outcome, DecisionOutcome::Invalid);
    assert!(message.contains("needs a note"), "{message}");
    let note = Some("court order from Berlin attached to the authority report");
    let (outcome, _) = s.decide(&alice, escalate("e1", "p1", "legal", note)).await;
    assert_eq!(outcome, DecisionOutcome::Applied);

    // It left the normal queue for the legal tier's.
    assert_eq!(s.queue("", &alice).await, ["p2"]);
    assert_eq!(s.queue("?state=escalated&tier=legal", &alice).await, ["p1"]);
    assert!(
        s.queue("?state=escalated&tier=senior", &alice)
            .await
            .is_empty()
    );

    // Claims: a moderator cannot, a senior not in legal's tier, legal can.
    let (status, body) = s.claim(&alice, json!({"state": "escalated"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_api_error(&body, "bad_request");
    let (status, body) = s
        .claim(&sam, json!({"state": "escalated", "tier": "legal"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("legal role")
    );
    let (status, body) = s.claim(&sam, json!({"state": "escalated"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["items"],
        json!([]),
        "a senior's claim takes the senior tier only"
    );
    let (status, body) = s.claim(&lee, json!({"state": "escalated"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"][0]["id"], "p1");
    // Legal may also reverse the escalation (send it back), as leads may.
    assert_eq!(
        body["items"][0]["allowed_actions"],
        json!(["take_down", "keep", "escalate", "reverse"])
    );

    // Decisions: refused for everyone but legal (and admins), with the reason.
    for (token, key) in [(&alice, "d1"), (&sam, "d2")] {
        let (outcome, message) = s.decide(token, take_down(key, "p1")).await;
        assert_eq!(outcome, DecisionOutcome::Conflict);
        assert!(message.contains("only the legal role"), "{message}");
    }
    let (outcome, _) = s
        .decide(
            &lee,
            escalate("e2", "p1", "law_enforcement", Some("imminent threat named")),
        )
        .await;
    assert_eq!(outcome, DecisionOutcome::Applied);
    assert_eq!(
        s.decide(&lee, take_down("d3", "p1")).await.0,
        DecisionOutcome::Conflict
    );
    assert_eq!(
        s.decide(&lou, take_down("d4", "p1")).await.0,
        DecisionOutcome::Applied
    );

    // Decided at the law-enforcement tier, the item is read by that tier (and admins) only.
    assert_eq!(
        s.client.get("/v1/items/p1", &alice).await.0,
        StatusCode::FORBIDDEN
    );
    let item = s.item("p1", &lou).await;
    let path: Vec<(HistoryEvent, &str, Option<EscalationTier>, bool)> = item
        .history
        .iter()
        .map(|h| {
            (
                h.event,
                h.actor.as_str(),
                h.escalation_target,
                h.note.is_some(),
            )
        })
        .collect();
    assert_eq!(
        path,
        [
            (HistoryEvent::Reported, "authority", None, false),
            (
                HistoryEvent::Escalate,
                "alice",
                Some(EscalationTier::Legal),
                true
            ),
            (
                HistoryEvent::Escalate,
                "lee",
                Some(EscalationTier::LawEnforcement),
                true
            ),
            (HistoryEvent::TakeDown, "lou", None, false),
        ]
    );
}

// --- territorial scope --------------------------------------------------------------------

#[tokio::test]
async fn a_second_court_order_widens_the_restriction_and_its_reversal_narrows_it_again() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    s.import(&[report("p1", "authority", "hate")]);
    let in_countries = |key: &str, cs: &[&str]| with(take_down(key, "p1"), "scope", json!(cs));

    assert_eq!(
        s.decide(&alice, in_countries("de", &["DE"])).await.0,
        DecisionOutcome::Applied
    );
    let item = s.item("p1", &alice).await;
    assert_eq!(
        item.restricted_in,
        Some(Scope::Countries(vec!["DE".into()]))
    );
    assert_eq!(
        item.allowed_actions,
        Some(vec![DecisionAction::TakeDown, DecisionAction::Reverse])
    );

    assert_eq!(
        s.decide(&alice, in_countries("fr", &["fr"])).await.0,
        DecisionOutcome::Applied
    );
    let item = s.item("p1", &alice).await;
    assert_eq!(
        item.restricted_in,
        Some(Scope::Countries(vec!["DE".into(), "FR".into()]))
    );
    let (outcome, message) = s.decide(&alice, in_countries("de2", &["DE"])).await;
    assert_eq!(outcome, DecisionOutcome::Conflict);
    assert!(message.contains("already taken down in DE,FR"), "{message}");

    let undo = with(
        decision("undo-fr", "p1", "reverse"),
        "reverses",
        json!("fr"),
    );
    assert_eq!(s.decide(&alice, undo).await.0, DecisionOutcome::Applied);
    let item = s.item("p1", &alice).await;
    assert_eq!(
        item.restricted_in,
        Some(Scope::Countries(vec!["DE".into()]))
    );

    assert_eq!(
        s.decide(&alice, take_down("all", "p1")).await.0,
        DecisionOutcome::Applied
    );
    let item = s.item("p1", &alice).await;
    assert_eq!(item.restricted_in, Some(Scope::Global));
    assert_eq!(item.allowed_actions, Some(vec![DecisionAction::Reverse]));
}

// --- statements of reasons ----------------------------------------------------------------

fn sor_schema() -> jsonschema::Validator {
    let text = include_str!("../docs/sor.schema.json");
    let schema: Value = serde_json::from_str(text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, export: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(export)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{export:#}");
}

/// A year of take downs is not one answer: the export comes in pages of at most 1,000 take
/// downs, each page valid on its own, and `modq report sor` follows them to the end. A
/// nonsensical page is refused before anything is read.
#[tokio::test]
async fn the_statements_export_comes_in_pages_that_modq_report_follows_to_the_end() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let sam = s.token("sam", Role::Senior);
    let ids: Vec<String> = (0..1_005).map(|i| format!("p{i:04}")).collect();
    let reports: Vec<Value> = ids.iter().map(|id| report(id, "user", "hate")).collect();
    s.import(&reports);
    let batch: Vec<Value> = ids
        .iter()
        .map(|id| take_down(&format!("k-{id}"), id))
        .collect();
    let (status, body) = s
        .client
        .post("/v1/decisions", &alice, &json!({ "decisions": batch }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let validator = sor_schema();
    let mut puids = Vec::new();
    let mut after: Option<i64> = None;
    let mut pages = 0;
    loop {
        let path = match after {
            None => "/v1/statements?limit=400".to_owned(),
            Some(n) => format!("/v1/statements?limit=400&after={n}"),
        };
        let (status, mut page) = s.client.get(&path, &sam).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let next = page.as_object_mut().and_then(|p| p.remove("next_after"));
        assert_valid(&validator, &page);
        puids.extend(
            page["statements"]
                .as_array()
                .unwrap()
                .iter()
                .map(|st| st["puid"].as_str().unwrap().to_owned()),
        );
        match next {
            Some(n) => after = Some(n.as_i64().expect("a number")),
            None => break,
        }
    }
    assert_eq!(pages, 3, "400 + 400 + 205");
    assert_eq!(puids.len(), 1_005);
    let distinct: std::collections::HashSet<&String> = puids.iter().collect();
    assert_eq!(distinct.len(), 1_005, "no statement twice");

    // The default page is 1,000 take downs; modq follows next_after to the end.
    let (_, first) = s.client.get("/v1/statements", &sam).await;
    assert_eq!(first["statements"].as_array().map(Vec::len), Some(1_000));
    assert!(first["next_after"].is_i64());
    let printed = s.modq(&sam, &["report", "sor"]).await;
    let export: Value = serde_json::from_str(&printed).expect("modq prints JSON");
    assert_eq!(export["statements"].as_array().map(Vec::len), Some(1_005));
    assert_eq!(export.get("next_after"), None);

    for bad in ["limit=0", "limit=1001", "after=-1", "limit=many"] {
        let (status, body) = s.client.get(&format!("/v1/statements?{bad}"), &sam).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn every_take_down_in_force_has_a_statement_of_reasons_in_the_databases_schema() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let sam = s.token("sam", Role::Senior);
    let mut csam = report("m1", "trusted_flagger", "child_safety");
    csam["subject"]["kind"] = json!("media");
    csam["subject"]["text"] = Value::Null;
    csam["subject"]["media"] = json!([{"kind": "image", "hash_match": "csam-hashlist"}]);
    let mut account = report("a1", "automated", "impersonation");
    account["subject"]["kind"] = json!("account");
    account["subject"]["text"] = Value::Null;
    s.import(&[
        report("p1", "user", "hate"),
        report("p2", "user", "spam"),
        report("p3", "authority", "copyright"),
        report("p4", "user", "scam"),
        csam,
        account,
    ]);
    for (key, d) in [
        ("k1", take_down("k1", "p1")),
        ("k2", take_down("k2", "p2")),
        (
            "k3",
            with(take_down("k3", "p3"), "scope", json!(["DE", "US"])),
        ),
        ("k4", with(take_down("k4", "p4"), "scope", json!(["US"]))),
        ("k5", take_down("k5", "m1")),
        ("k6", take_down("k6", "a1")),
    ] {
        assert_eq!(
            s.decide(&alice, d).await.0,
            DecisionOutcome::Applied,
            "{key}"
        );
    }
    let undo = with(
        decision("k2-undo", "p2", "reverse"),
        "reverses",
        json!("k2"),
    );
    assert_eq!(s.decide(&alice, undo).await.0, DecisionOutcome::Applied);

    // Moderators do not export.
    let (status, body) = s.client.get("/v1/statements", &alice).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_api_error(&body, "forbidden");

    let (status, export) = s.client.get("/v1/statements?since=2020-01-01", &sam).await;
    assert_eq!(status, StatusCode::OK);
    let validator = sor_schema();
    assert_valid(&validator, &export);
    let statements = export["statements"].as_array().expect("statements");
    let by_category = |category: &str| {
        statements
            .iter()
            .find(|st| st["category"] == category)
            .unwrap_or_else(|| panic!("no {category} statement in {export:#}"))
    };
    // p2 was reversed and p4 restricted only outside the EEA: no statement for either.
    assert_eq!(statements.len(), 4, "{export:#}");

    let hate = by_category("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH");
    assert_eq!(hate["decision_ground"], "DECISION_GROUND_ILLEGAL_CONTENT");
    assert_eq!(hate["territorial_scope"].as_array().map(Vec::len), Some(30));
    assert_eq!(
        hate["decision_visibility"],
        json!(["DECISION_VISIBILITY_CONTENT_REMOVED"])
    );
    assert_eq!(hate["source_type"], "SOURCE_ARTICLE_16");
    assert_eq!(hate["content_type"], json!(["CONTENT_TYPE_TEXT"]));
    assert_eq!(hate["content_language"], "DE");
    assert_eq!(hate["content_date"], "2026-03-01");
    assert_eq!(
        hate["automated_decision"],
        "AUTOMATED_DECISION_NOT_AUTOMATED"
    );

    let copyright = by_category("STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS");
    assert_eq!(copyright["territorial_scope"], json!(["DE"]));
    assert_eq!(
        copyright["decision_visibility"],
        json!(["DECISION_VISIBILITY_CONTENT_DISABLED"])
    );

    let minors = by_category("STATEMENT_CATEGORY_PROTECTION_OF_MINORS");
    assert_eq!(minors["source_type"], "SOURCE_TRUSTED_FLAGGER");
    assert_eq!(minors["automated_detection"], "Yes");
    assert_eq!(minors["content_type"], json!(["CONTENT_TYPE_IMAGE"]));

    let account = by_category("STATEMENT_CATEGORY_SCAMS_AND_FRAUD");
    assert_eq!(account["source_type"], "SOURCE_VOLUNTARY");
    assert_eq!(
        account["decision_ground"],
        "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    );
    assert_eq!(account["content_type_other"], "account profile");

    // No personal data: neither the text nor the handle is in any statement.
    let text = export.to_string();
    assert!(
        !text.contains("text of") && !text.contains("@someone"),
        "{text}"
    );

    // The CLI prints the same export.
    let printed = s
        .modq(&sam, &["report", "sor", "--since", "2020-01-01"])
        .await;
    let printed: Value = serde_json::from_str(&printed).expect("JSON");
    assert_valid(&validator, &printed);
    assert_eq!(printed, export);
}

#[test]
fn the_schema_refuses_what_the_database_would_refuse() {
    let validator = sor_schema();
    let good = json!({"statements": [{
        "puid": "modq-1",
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "law",
        "illegal_content_explanation": "why",
        "decision_facts": "facts",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_VIOLENCE",
        "territorial_scope": ["DE"],
        "content_date": "2026-03-01",
        "application_date": "2026-03-02",
        "source_type": "SOURCE_ARTICLE_16",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    }]});
    assert!(validator.is_valid(&good));
    let broken = |path: &str, value: Value| {
        let mut v = good.clone();
        match value {
            Value::Null => {
                v["statements"][0].as_object_mut().map(|o| o.remove(path));
            }
            other => v["statements"][0][path] = other,
        }
        v
    };
    for bad in [
        broken("illegal_content_legal_ground", Value::Null),
        broken("territorial_scope", json!(["US"])),
        broken("puid", json!("has space")),
        broken("application_date", json!("2019-12-31")),
        broken("category", json!("STATEMENT_CATEGORY_SPAM")),
        broken("content_type", json!(["CONTENT_TYPE_OTHER"])),
        broken("decision_visibility", Value::Null),
    ] {
        assert!(!validator.is_valid(&bad), "{bad:#}");
    }
}

// --- author context, notes ----------------------------------------------------------------

#[tokio::test]
async fn the_item_shows_the_authors_record_and_its_notes_with_who_and_when() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    s.import(&[
        report("p1", "user", "spam"),
        report("p2", "user", "spam"),
        report("p3", "user", "spam"),
    ]);
    assert_eq!(
        s.decide(&alice, take_down("k1", "p1")).await.0,
        DecisionOutcome::Applied
    );
    let note = Some("same link as p1");
    assert_eq!(
        s.decide(&alice, escalate("k2", "p2", "senior", note))
            .await
            .0,
        DecisionOutcome::Applied
    );
    let record = s.item("p3", &alice).await.author_record.expect("a record");
    assert_eq!(
        (
            record.author_id.as_str(),
            record.other_items,
            record.taken_down
        ),
        ("u-1", 2, 1)
    );
    assert_eq!((record.escalated, record.open, record.kept), (1, 0, 0));

    let (status, entry) = s
        .client
        .post(
            "/v1/items/p3/notes",
            &alice,
            &json!({"note": "  posts every 5 min  "}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    assert_eq!(entry["actor"], "alice");
    assert_eq!(entry["note"], "posts every 5 min");
    let item = s.item("p3", &alice).await;
    let last = item.history.last().expect("history");
    assert_eq!(
        (last.event, last.actor.as_str()),
        (HistoryEvent::Note, "alice")
    );
    // A note does not decide anything: the item is still open and undecided.
    assert_eq!(item.state, ReviewState::Open);

    let (status, body) = s
        .client
        .post("/v1/items/p3/notes", &alice, &json!({"note": " "}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_api_error(&body, "bad_request");
    let (status, _) = s
        .client
        .post("/v1/items/nope/notes", &alice, &json!({"note": "x"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// --- lanes, order, transparency -----------------------------------------------------------

#[tokio::test]
async fn urgent_and_overdue_work_comes_first_and_lanes_are_counted() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let mut overdue = report("late", "user", "spam");
    overdue["deadline"] = json!("2026-03-01T12:00:00Z");
    let mut urgent = report("urgent", "user", "self_harm");
    urgent["lane"] = json!("urgent");
    let mut loud = vec![];
    for _ in 0..30 {
        loud.push(report("loud", "authority", "hate"));
    }
    s.import(
        &[
            &loud[..],
            &[overdue, urgent, report("quiet", "user", "spam")],
        ]
        .concat(),
    );

    // "loud" has by far the highest priority, yet urgent and overdue work comes first.
    assert_eq!(
        s.queue("", &alice).await,
        ["urgent", "late", "loud", "quiet"]
    );
    // Page by page the same order, each item once.
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let (_, body) = s
            .client
            .get(&format!("/v1/queue?limit=1&cursor={cursor}"), &alice)
            .await;
        let page: QueuePage = serde_json::from_value(body).expect("page");
        walked.extend(page.items.into_iter().map(|i| i.id));
        match page.next_cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert_eq!(walked, ["urgent", "late", "loud", "quiet"]);

    let (status, counts) = s.client.get("/v1/queue/counts", &alice).await;
    assert_eq!(status, StatusCode::OK);
    let lane = |name: &str| {
        counts["lanes"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["lane"] == name))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(lane("urgent")["open"], 1);
    assert_eq!(lane("authority")["open"], 1);
    assert_eq!(lane("standard")["open"], 2);
    assert_eq!(lane("standard")["overdue"], 1);
    assert_eq!(lane("appeals")["open"], 0);
}

#[tokio::test]
async fn the_daily_report_counts_the_days_decisions_in_json_and_csv() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let mut late = report("late", "user", "spam");
    late["deadline"] = json!("2026-03-01T12:00:00Z");
    let mut due = report("due", "trusted_flagger", "hate");
    due["deadline"] = json!("2099-01-01T00:00:00Z");
    s.import(&[
        late,
        due,
        report("ok", "user", "scam"),
        report("undone", "user", "spam"),
    ]);
    assert_eq!(
        s.decide(&alice, take_down("k1", "late")).await.0,
        DecisionOutcome::Applied
    );
    assert_eq!(
        s.decide(&alice, take_down("k2", "due")).await.0,
        DecisionOutcome::Applied
    );
    assert_eq!(
        s.decide(&alice, decision("k3", "ok", "keep")).await.0,
        DecisionOutcome::Applied
    );
    // A take down undone the same day: neither a take down nor a reversal in the figures.
    assert_eq!(
        s.decide(&alice, take_down("k4", "undone")).await.0,
        DecisionOutcome::Applied
    );
    let reversal = with(decision("k5", "undone", "reverse"), "reverses", json!("k4"));
    assert_eq!(s.decide(&alice, reversal).await.0, DecisionOutcome::Applied);

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (status, stats) = s
        .client
        .get(&format!("/v1/stats?date={today}"), &alice)
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["decisions"], 3);
    assert_eq!(stats["reversed"], 1);
    assert_eq!(
        stats["by_action"],
        json!([{"key": "take_down", "count": 2}, {"key": "keep", "count": 1}])
    );
    // Reason codes (take downs only) and report categories (every decision) stay apart.
    let sum = |list: &Value| {
        list.as_array().map_or(0, |l| {
            l.iter().filter_map(|t| t["count"].as_u64()).sum::<u64>()
        })
    };
    assert_eq!(sum(&stats["by_reason_code"]), 2);
    assert_eq!(sum(&stats["by_report_category"]), 3);
    assert!(
        stats["by_reason_code"]
            .as_array()
            .is_some_and(|c| c.contains(&json!({"key": "illegal_hate_speech", "count": 1})))
    );
    assert!(
        stats["by_report_category"]
            .as_array()
            .is_some_and(|c| c.contains(&json!({"key": "hate", "count": 1})))
    );
    assert_eq!(
        stats["by_country"],
        json!([{"key": "AT", "count": 3}, {"key": "DE", "count": 3}])
    );
    assert_eq!(
        (&stats["deadlines_met"], &stats["deadlines_missed"]),
        (&json!(1), &json!(1))
    );
    assert!(
        stats["median_seconds_to_decision"]
            .as_i64()
            .is_some_and(|s| s > 0)
    );

    let (status, body) = s.client.get("/v1/stats?date=yesterday", &alice).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_api_error(&body, "bad_request");

    let csv = s
        .modq(
            &alice,
            &["report", "daily", "--date", &today, "--format", "csv"],
        )
        .await;
    assert!(
        csv.starts_with("section,key,count\ntotal,decisions,3\ntotal,reversed,1\n"),
        "{csv}"
    );
    assert!(
        csv.contains("action,take_down,2\n") && csv.contains("deadline,missed,1\n"),
        "{csv}"
    );
    let json_out: Value =
        serde_json::from_str(&s.modq(&alice, &["report", "daily", "--date", &today]).await)
            .expect("JSON");
    assert_eq!(json_out, stats);

    let text = s
        .modq(
            &alice,
            &["report", "daily", "--date", &today, "--format", "text"],
        )
        .await;
    assert!(
        text.contains("3 standing, 1 reversed since (counted in no other figure)"),
        "{text}"
    );
    let median = text
        .lines()
        .find_map(|l| l.strip_prefix("Median time from report to decision: "))
        .expect("the median line");
    let units: Vec<&str> = median.split(' ').skip(1).step_by(2).collect();
    assert!(
        !units.is_empty() && units.iter().all(|u| ["s", "min", "h", "d"].contains(u)),
        "a human unit: {median}"
    );
    assert!(text.contains("Take downs by reason code:") && text.contains("By report category:"));
    assert!(csv.contains("time,median_to_decision,"), "{csv}");
}
