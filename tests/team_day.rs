//! A trust & safety team's day on one reference server, over real HTTP: moderators, a senior,
//! legal, the law-enforcement liaison, child-safety specialists and an admin's intake. Every
//! tier holds its items for every verb; what reaches child safety and law enforcement stays
//! with them; tokens are named and revocable; reports say who filed them and cannot rewrite
//! what the intake described; statements of reasons keep the facts of their day and say how
//! each decision was taken; times and idempotency keys cannot be turned against the log.

use modq::model::{DecisionAction, DecisionOutcome, DecisionResults, Item, Role, Scope};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;
#[path = "common/json_api.rs"]
mod json_api;

use json_api::{Server, assert_api_error};

/// One token for each role on the team.
struct Team {
    alice: String,
    bob: String,
    sam: String,
    lee: String,
    lou: String,
    cora: String,
    ada: String,
}

impl Team {
    fn of(s: &Server) -> Team {
        Team {
            alice: s.token("alice", Role::Moderator),
            bob: s.token("bob", Role::Moderator),
            sam: s.token("sam", Role::Senior),
            lee: s.token("lee", Role::Legal),
            lou: s.token("lou", Role::LawEnforcement),
            cora: s.token("cora", Role::ChildSafety),
            ada: s.token("ada", Role::Admin),
        }
    }
}

impl Server {
    /// Decisions in one batch: each one's outcome and message.
    async fn batch(&self, token: &str, decisions: Vec<Value>) -> Vec<(DecisionOutcome, String)> {
        let (status, body) = self
            .client
            .post("/v1/decisions", token, &json!({ "decisions": decisions }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let results: DecisionResults = serde_json::from_value(body).expect("results");
        results
            .results
            .into_iter()
            .map(|r| (r.outcome, r.message.unwrap_or_default()))
            .collect()
    }

    async fn decide(&self, token: &str, d: Value) -> (DecisionOutcome, String) {
        self.batch(token, vec![d]).await.remove(0)
    }

    async fn report(&self, token: &str, report: &Value) -> (StatusCode, Value) {
        self.client.post("/v1/reports", token, report).await
    }

    async fn statements(&self, token: &str) -> Vec<Value> {
        let (status, body) = self.client.get("/v1/statements", token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["statements"].as_array().cloned().unwrap_or_default()
    }

    /// Every audit entry, page by page, as an admin reads them.
    async fn whole_audit(&self, admin: &str) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut since = 0;
        loop {
            let (status, page) = self
                .client
                .get(&format!("/v1/audit?limit=7&since={since}"), admin)
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            entries.extend(page["entries"].as_array().cloned().unwrap_or_default());
            match page["next_since"].as_i64() {
                Some(next) => since = next,
                None => return entries,
            }
        }
    }
}

fn report(id: &str, reporter: &str, category: &str) -> Value {
    json!({
        "subject": {"id": id, "kind": "post", "text": format!("text of {id}"),
                    "author": {"id": "u-real", "handle": "@real"}, "language": "de",
                    "countries": ["DE"]},
        "reporter_type": reporter,
        "category": category,
        "received_at": "2026-03-01T10:00:00Z",
    })
}

fn decision(key: &str, item: &str, action: &str) -> Value {
    json!({
        "idempotency_key": key,
        "item_id": item,
        "action": action,
        "decided_at": chrono::Utc::now().to_rfc3339(),
    })
}

fn with(mut d: Value, field: &str, value: Value) -> Value {
    d[field] = value;
    d
}

fn escalate(key: &str, item: &str, tier: &str) -> Value {
    let d = with(
        decision(key, item, "escalate"),
        "escalation_target",
        json!(tier),
    );
    with(d, "note", json!(format!("for {tier}: see the report")))
}

fn reverse(key: &str, item: &str, undoes: &str) -> Value {
    with(decision(key, item, "reverse"), "reverses", json!(undoes))
}

fn applied(answer: &(DecisionOutcome, String)) -> bool {
    answer.0 == DecisionOutcome::Applied
}

fn refused_for_tier(answer: &(DecisionOutcome, String), tier: &str) {
    assert_eq!(answer.0, DecisionOutcome::Conflict, "{}", answer.1);
    assert!(
        answer
            .1
            .contains(&format!("only the {tier} role or an admin")),
        "{}",
        answer.1
    );
}

// --- 4. every tier holds its items, for every verb -----------------------------------------

#[tokio::test]
async fn every_verb_on_an_item_at_a_tier_needs_that_tiers_role() {
    let s = Server::start().await;
    let t = Team::of(&s);
    s.import(&[
        report("c1", "trusted_flagger", "child_safety"),
        report("c2", "trusted_flagger", "child_safety"),
        report("l1", "authority", "defamation"),
        report("p1", "user", "spam"),
        report("p2", "user", "spam"),
    ]);

    // 09:00 Alice sends a hash match to child safety. Legal, passing by, tries to send it
    // back and keep it in one batch: neither applies, and the item stays where it was sent.
    assert!(applied(
        &s.decide(&t.alice, escalate("a-c1", "c1", "child_safety"))
            .await
    ));
    let answers = s
        .batch(
            &t.lee,
            vec![
                reverse("lee-undo", "c1", "a-c1"),
                decision("lee-keep", "c1", "keep"),
            ],
        )
        .await;
    refused_for_tier(&answers[0], "child_safety");
    refused_for_tier(&answers[1], "child_safety");
    // Alice cannot take back an escalation to a specialist tier either: it is theirs now.
    refused_for_tier(
        &s.decide(&t.alice, reverse("a-undo", "c1", "a-c1")).await,
        "child_safety",
    );
    assert_eq!(
        s.item("c1", &t.cora)
            .await
            .escalation_target
            .map(|e| e.as_str()),
        Some("child_safety")
    );

    // 10:00 Cora takes c2 down at her tier. A senior cannot reverse a specialist's take down;
    // Cora, or an admin, can.
    assert!(applied(
        &s.decide(&t.alice, escalate("a-c2", "c2", "child_safety"))
            .await
    ));
    assert!(applied(
        &s.decide(&t.cora, decision("cora-c2", "c2", "take_down"))
            .await
    ));
    refused_for_tier(
        &s.decide(&t.sam, reverse("sam-undo", "c2", "cora-c2")).await,
        "child_safety",
    );
    assert!(applied(
        &s.decide(&t.ada, reverse("ada-undo", "c2", "cora-c2")).await
    ));
    // Back where Cora found it: escalated to child safety, and still theirs.
    refused_for_tier(
        &s.decide(&t.alice, decision("a-keep-c2", "c2", "keep"))
            .await,
        "child_safety",
    );

    // 11:00 Legal restricts l1 in Germany on a court order. Nobody outside legal widens it to
    // global, nor narrows it back once legal widened it.
    assert!(applied(
        &s.decide(&t.bob, escalate("b-l1", "l1", "legal")).await
    ));
    let de = with(
        decision("lee-de", "l1", "take_down"),
        "scope",
        json!(["DE"]),
    );
    assert!(applied(&s.decide(&t.lee, de).await));
    refused_for_tier(
        &s.decide(&t.alice, decision("a-global", "l1", "take_down"))
            .await,
        "legal",
    );
    refused_for_tier(
        &s.decide(&t.sam, decision("sam-global", "l1", "take_down"))
            .await,
        "legal",
    );
    let fr = with(
        decision("lee-fr", "l1", "take_down"),
        "scope",
        json!(["FR"]),
    );
    assert!(applied(&s.decide(&t.lee, fr).await));
    refused_for_tier(
        &s.decide(&t.alice, reverse("a-narrow", "l1", "lee-fr"))
            .await,
        "legal",
    );
    let item = s.item("l1", &t.alice).await;
    assert_eq!(
        item.restricted_in,
        Some(Scope::Countries(vec!["DE".into(), "FR".into()]))
    );
    // What each sees they may do, before pressing a key.
    assert_eq!(item.allowed_actions, Some(vec![]));
    assert_eq!(
        s.item("l1", &t.lee).await.allowed_actions,
        Some(vec![DecisionAction::TakeDown, DecisionAction::Reverse])
    );
    assert!(applied(
        &s.decide(&t.lee, reverse("lee-narrow", "l1", "lee-fr"))
            .await
    ));
    assert_eq!(
        s.item("l1", &t.alice).await.restricted_in,
        Some(Scope::Countries(vec!["DE".into()]))
    );

    // 12:00 A moderator's own `e` then `u` on the senior tier still works; a senior's take
    // down there is the senior tier's to reverse.
    assert!(applied(
        &s.decide(&t.alice, escalate("a-p1", "p1", "senior")).await
    ));
    assert!(applied(
        &s.decide(&t.alice, reverse("a-p1-undo", "p1", "a-p1")).await
    ));
    assert!(applied(
        &s.decide(&t.bob, escalate("b-p2", "p2", "senior")).await
    ));
    assert!(applied(
        &s.decide(&t.sam, decision("sam-p2", "p2", "take_down"))
            .await
    ));
    refused_for_tier(
        &s.decide(&t.bob, reverse("b-p2-undo", "p2", "sam-p2")).await,
        "senior",
    );

    // The audit log says which tier each decision needed, and its maker had that role.
    for e in s.whole_audit(&t.ada).await {
        let needed = e["tier"].as_str();
        let role = e["role"].as_str().unwrap_or_default();
        let role = Role::parse(role).expect("a role");
        if let Some(tier) = needed.and_then(modq::model::EscalationTier::parse) {
            let own_senior_undo = e["action"] == "reverse" && e["item_id"] == "p1";
            assert!(role.decides(tier) || own_senior_undo, "{e}");
        }
    }
}

// --- 5. child safety and law enforcement read their own items ------------------------------

#[tokio::test]
async fn what_reaches_child_safety_or_law_enforcement_stays_with_them() {
    let s = Server::start().await;
    let t = Team::of(&s);
    s.import(&[
        report("c1", "trusted_flagger", "child_safety"),
        report("t1", "authority", "terrorism"),
        report("p1", "user", "spam"),
    ]);
    assert!(applied(
        &s.decide(&t.alice, escalate("a-c1", "c1", "child_safety"))
            .await
    ));
    assert!(applied(
        &s.decide(&t.bob, escalate("b-t1", "t1", "law_enforcement"))
            .await
    ));

    // The item and its notes: its tier and admins only.
    for token in [&t.alice, &t.sam, &t.lee, &t.lou] {
        let (status, body) = s.client.get("/v1/items/c1", token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_api_error(&body, "forbidden");
        let (status, _) = s
            .client
            .post("/v1/items/c1/notes", token, &json!({"note": "me too"}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    for token in [&t.alice, &t.cora] {
        let (status, _) = s.client.get("/v1/items/t1", token).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(s.item("t1", &t.lou).await.id, "t1");
    let (status, _) = s
        .client
        .post(
            "/v1/items/c1/notes",
            &t.cora,
            &json!({"note": "victim named in DMs"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let theirs = s.item("c1", &t.cora).await;
    assert!(
        theirs
            .history
            .iter()
            .any(|h| h.note.as_deref() == Some("victim named in DMs"))
    );
    assert_eq!(s.item("c1", &t.ada).await.history, theirs.history);

    // Queue pages leave them out, and asking for their tier is refused.
    let (_, page) = s.client.get("/v1/queue?state=escalated", &t.alice).await;
    assert_eq!(page["items"], json!([]), "{page}");
    let (_, page) = s.client.get("/v1/queue?state=escalated", &t.cora).await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, ["c1"]);
    let (status, body) = s
        .client
        .get("/v1/queue?state=escalated&tier=child_safety", &t.sam)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Nor do items like it tell what it is.
    let (status, body) = s.client.get("/v1/queue?q=similar:c1", &t.alice).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = s
        .client
        .post("/v1/queue/select", &t.alice, &json!({"q": "similar:c1"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        s.client.get("/v1/queue?q=similar:c1", &t.cora).await.0,
        StatusCode::OK
    );

    // Cora sends c1 back: everyone reads the item again, but not the note written for her
    // tier, nor the escalation's note addressed to it.
    assert!(applied(
        &s.decide(&t.cora, reverse("cora-back", "c1", "a-c1")).await
    ));
    let seen: Item = s.item("c1", &t.alice).await;
    assert!(
        seen.history.iter().all(|h| h.note.is_none()),
        "{:?}",
        seen.history
    );
    assert!(
        s.item("c1", &t.cora)
            .await
            .history
            .iter()
            .any(|h| h.note.as_deref() == Some("victim named in DMs"))
    );
}

// --- 6. tokens: ids, unique clean names, revocation, failed authentication ------------------

fn serve_cli(s: &Server, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_modq"))
        .arg("serve")
        .arg("--db")
        .arg(s.db())
        .args(args)
        .output()
        .expect("run modq serve")
}

#[tokio::test]
async fn tokens_have_ids_unique_names_that_read_as_written_and_can_be_revoked() {
    let s = Server::start().await;
    let t = Team::of(&s);
    s.import(&[report("p1", "user", "spam")]);
    for taken in ["alice", "ALICE", " alice"] {
        let refused = modq::server::add_token(s.storage.as_ref(), taken, Role::Admin);
        assert!(refused.is_err(), "{taken:?}");
    }
    // Names that would read as another's in a terminal or the audit log.
    for hidden in [
        "ali\u{200b}ce",
        "\u{202e}ecila",
        "ali\u{00a0}ce",
        "al\u{1b}ice",
    ] {
        let refused = modq::server::add_token(s.storage.as_ref(), hidden, Role::Admin);
        assert!(refused.is_err(), "{hidden:?}");
    }
    let out = serve_cli(
        &s,
        &[
            "token",
            "add",
            "--role",
            "senior",
            "--name",
            "ali\u{2066}ce",
        ],
    );
    assert!(!out.status.success());

    assert!(applied(
        &s.decide(&t.alice, decision("k1", "p1", "keep")).await
    ));
    let listed = serve_cli(&s, &["token", "list"]);
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).expect("utf-8");
    let mut lines = listed.lines();
    assert_eq!(lines.next(), Some("id\tname\trole\tcreated\trevoked"));
    let alice_id: i64 = lines
        .find(|l| l.split('\t').nth(1) == Some("alice"))
        .and_then(|l| l.split('\t').next())
        .and_then(|id| id.parse().ok())
        .expect("alice is listed with her id");
    let entries = s.whole_audit(&t.ada).await;
    assert_eq!(entries[0]["actor_token_id"], alice_id);
    assert_eq!(entries[0]["actor"], "alice");

    // Revoked by name: refused from then on, listed with the time, the name kept.
    let out = serve_cli(&s, &["token", "revoke", "alice"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, body) = s.client.get("/v1/me", &t.alice).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let listed = String::from_utf8(serve_cli(&s, &["token", "list"]).stdout).expect("utf-8");
    let alice = listed
        .lines()
        .find(|l| l.contains("\talice\t"))
        .expect("still listed");
    assert!(!alice.ends_with("\t-"), "{alice}");
    assert!(modq::server::add_token(s.storage.as_ref(), "alice", Role::Moderator).is_err());
    // By id too; an unknown one is an error.
    let bob_id = String::from_utf8(serve_cli(&s, &["token", "list"]).stdout)
        .expect("utf-8")
        .lines()
        .find(|l| l.contains("\tbob\t"))
        .and_then(|l| l.split('\t').next().map(str::to_owned))
        .expect("bob");
    assert!(
        serve_cli(&s, &["token", "revoke", &bob_id])
            .status
            .success()
    );
    assert_eq!(
        s.client.get("/v1/me", &t.bob).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        !serve_cli(&s, &["token", "revoke", "nobody"])
            .status
            .success()
    );
    assert_eq!(s.client.get("/v1/me", &t.sam).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_address_guessing_tokens_is_slowed_to_a_trickle() {
    let s = Server::start().await;
    let mut limited = None;
    for i in 0..200 {
        let response = s
            .client
            .http
            .get(format!("{}/v1/me", s.client.base))
            .bearer_auth(format!("modq_guess_{i}"))
            .send()
            .await
            .expect("GET");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, response));
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let (tries, response) = limited.expect("guessing is limited");
    assert!(
        tries >= modq::server::DEFAULT_AUTH_FAILURES_PER_MINUTE as usize,
        "{tries}"
    );
    let wait: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(wait >= 1);
    let body: Value = response.json().await.expect("JSON");
    assert_api_error(&body, "rate_limited");
    // Without a token at all counts the same.
    let (status, _) = json_api::answer(
        s.client
            .http
            .get(format!("{}/v1/me", s.client.base))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

// --- 7. reports: who filed them, what they may say, frozen statements ----------------------

#[tokio::test]
async fn reports_name_their_filer_and_only_the_intake_describes_content() {
    let s = Server::start().await;
    let t = Team::of(&s);
    let mut described = report("p1", "user", "hate");
    described["subject"]["media"] = json!([{"kind": "image"}]);
    let (status, _) = s.report(&t.ada, &described).await;
    assert_eq!(status, StatusCode::CREATED);

    // Alice's report tries to rewrite p1: another author, a hash match, other countries,
    // other text. It is recorded as hers; the item does not change.
    let mut forged = report("p1", "user", "hate");
    forged["subject"]["text"] = json!("forged text");
    forged["subject"]["author"] = json!({"id": "u-victim"});
    forged["subject"]["countries"] = json!(["US"]);
    forged["subject"]["media"] = json!([{"kind": "image", "hash_match": "csam-hashlist"}]);
    forged.as_object_mut().map(|o| o.remove("received_at"));
    let (status, body) = s.report(&t.alice, &forged).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let item = s.item("p1", &t.alice).await;
    assert_eq!(item.text.as_deref(), Some("text of p1"));
    assert_eq!(item.author.map(|a| a.id).as_deref(), Some("u-real"));
    assert_eq!(item.countries, vec!["DE".to_string()]);
    assert!(item.media.iter().all(|m| m.hash_match.is_none()));
    let filers: Vec<(Option<i64>, Option<String>)> = s
        .sql()
        .prepare("SELECT filed_by, filer_role FROM reports WHERE item_id = 'p1' ORDER BY id")
        .expect("sql")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(filers.len(), 2);
    assert_eq!(filers[0].1.as_deref(), Some("admin"));
    assert_eq!(filers[1].1.as_deref(), Some("moderator"));
    assert_ne!(filers[0].0, filers[1].0);

    // A new item from an ordinary token carries no author, hash match or countries: taking it
    // down touches nobody's record and claims no automated detection.
    let mut planted = report("p2", "user", "spam");
    planted["subject"]["author"] = json!({"id": "u-real"});
    planted["subject"]["media"] = json!([{"kind": "image", "hash_match": "csam-hashlist"}]);
    planted.as_object_mut().map(|o| o.remove("received_at"));
    assert_eq!(s.report(&t.alice, &planted).await.0, StatusCode::CREATED);
    assert!(applied(
        &s.decide(&t.alice, decision("k-p2", "p2", "take_down"))
            .await
    ));
    let record = s.item("p1", &t.alice).await.author_record.expect("record");
    assert_eq!((record.other_items, record.taken_down), (0, 0));
    let p2 = s.item("p2", &t.alice).await;
    assert!(p2.author.is_none() && p2.countries.is_empty());
    let statements = s.statements(&t.sam).await;
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["automated_detection"], "No");

    // The intake's later description replaces what a reporter said first.
    let mut real = report("p2", "user", "spam");
    real["subject"]["text"] = json!("the real post");
    assert_eq!(s.report(&t.ada, &real).await.0, StatusCode::CREATED);
    let p2 = s.item("p2", &t.alice).await;
    assert_eq!(p2.text.as_deref(), Some("the real post"));
    assert_eq!(p2.author.map(|a| a.id).as_deref(), Some("u-real"));

    // Countries are ISO 3166 codes.
    for bad in [json!(["XX"]), json!(["Germany"]), json!(["D"])] {
        let mut r = report("p3", "user", "spam");
        r["subject"]["countries"] = bad;
        let (status, body) = s.report(&t.ada, &r).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let scoped = with(decision("k-xx", "p1", "take_down"), "scope", json!(["XX"]));
    assert_eq!(s.decide(&t.alice, scoped).await.0, DecisionOutcome::Invalid);
}

#[tokio::test]
async fn one_person_reporting_again_and_again_does_not_climb_the_queue() {
    let s = Server::start().await;
    let t = Team::of(&s);
    let mut r = report("p1", "user", "spam");
    r.as_object_mut().map(|o| o.remove("received_at"));
    let (_, first) = s.report(&t.ada, &r).await;
    assert_eq!(first["priority"], 10);
    let mut last = Value::Null;
    for _ in 0..5 {
        last = s.report(&t.alice, &r).await.1;
    }
    assert_eq!(last["priority"], 20, "alice counts once: {last}");
    let (_, bobs) = s.report(&t.bob, &r).await;
    assert_eq!(bobs["priority"], 30);
    // The intake relays many people: each of its reports counts.
    let (_, relayed) = s.report(&t.ada, &r).await;
    assert_eq!(relayed["priority"], 40);
}

#[tokio::test]
async fn a_statement_of_reasons_keeps_the_facts_of_the_day_it_was_decided() {
    let s = Server::start().await;
    let t = Team::of(&s);
    s.import(&[report("p1", "user", "hate"), report("p2", "user", "hate")]);
    assert!(applied(
        &s.decide(&t.alice, decision("k1", "p1", "take_down")).await
    ));
    let before = s.statements(&t.sam).await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["source_type"], "SOURCE_ARTICLE_16");

    // Later the intake relays a trusted flagger and a classifier with a hash match, and
    // someone reports again. None of it was known when Alice decided.
    let mut later = report("p1", "trusted_flagger", "terrorism");
    later["subject"]["media"] = json!([{"kind": "video", "hash_match": "gifct"}]);
    assert_eq!(s.report(&t.ada, &later).await.0, StatusCode::CREATED);
    assert_eq!(
        s.report(&t.ada, &report("p1", "automated", "terrorism"))
            .await
            .0,
        StatusCode::CREATED
    );
    let mut again = report("p1", "user", "spam");
    again.as_object_mut().map(|o| o.remove("received_at"));
    assert_eq!(s.report(&t.bob, &again).await.0, StatusCode::CREATED);
    // Unrelated decisions and notes go on.
    assert!(applied(
        &s.decide(&t.alice, decision("k2", "p2", "keep")).await
    ));
    let (status, _) = s
        .client
        .post("/v1/items/p1/notes", &t.bob, &json!({"note": "seen"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    assert_eq!(s.statements(&t.sam).await, before);
    let after_restart = s.restart().await;
    assert_eq!(after_restart.statements(&t.sam).await, before);
}

// --- 8. how a decision was taken, stated truthfully ----------------------------------------

#[tokio::test]
async fn a_filters_bulk_decision_is_stated_as_partly_automated() {
    let s = Server::start().await;
    let t = Team::of(&s);
    let ids = [
        "single",
        "tagged",
        "range",
        "filter",
        "similar",
        "old-client",
    ];
    let reports: Vec<Value> = ids.iter().map(|id| report(id, "user", "spam")).collect();
    s.import(&reports);
    for id in ids {
        let mut d = decision(&format!("k-{id}"), id, "take_down");
        if id != "old-client" {
            d["method"] = json!(id);
        }
        assert!(applied(&s.decide(&t.alice, d).await), "{id}");
    }
    let statements = s.statements(&t.sam).await;
    assert_eq!(statements.len(), ids.len());
    let automated: Vec<&str> = statements
        .iter()
        .map(|st| st["automated_decision"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        automated,
        [
            "AUTOMATED_DECISION_NOT_AUTOMATED",
            "AUTOMATED_DECISION_NOT_AUTOMATED",
            "AUTOMATED_DECISION_NOT_AUTOMATED",
            "AUTOMATED_DECISION_PARTIALLY",
            "AUTOMATED_DECISION_PARTIALLY",
            "AUTOMATED_DECISION_NOT_AUTOMATED",
        ]
    );
    let facts = |i: usize| statements[i]["decision_facts"].as_str().unwrap_or_default();
    assert!(
        facts(0).starts_with("Reviewed by a human moderator"),
        "{}",
        facts(0)
    );
    assert!(
        facts(3).contains("the filter, not a person, selected this item"),
        "{}",
        facts(3)
    );
    assert!(facts(3).contains("not reviewed on its own"), "{}", facts(3));
    assert!(!facts(3).contains("Reviewed by a human"), "{}", facts(3));
    assert!(facts(4).contains("similar"), "{}", facts(4));
    assert!(facts(2).contains("range"), "{}", facts(2));
    let methods: Vec<Value> = s
        .whole_audit(&t.ada)
        .await
        .into_iter()
        .map(|e| e["method"].clone())
        .collect();
    assert_eq!(
        methods,
        ["single", "tagged", "range", "filter", "similar", "single"].map(|m| json!(m))
    );
}

/// The moderator's side: `*` on a filter and `;t` sends decisions saying "filter", and a
/// plain `t` says "single".
#[tokio::test]
async fn the_client_says_how_each_decision_was_taken() {
    let server = common::TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = common::Session::open(&server, data.path()).await;
    let first = s.selected_id();
    s.press("t");
    s.wait_delivered().await;
    s.press("/cat:spam<enter>");
    s.press("*");
    s.wait_until("the server answers the selection", |app| {
        !app.tagged.is_empty()
            && app
                .flash
                .as_ref()
                .is_some_and(|f| f.text.contains("tagged"))
    })
    .await;
    s.press(";ty");
    s.wait_until("the bulk is acknowledged", |app| app.bulk.is_none())
        .await;
    s.wait_delivered().await;
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    let methods: Vec<(String, String)> = conn
        .prepare("SELECT item_id, method FROM audit ORDER BY id")
        .expect("sql")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(methods[0], (first, "single".to_string()));
    assert!(methods.len() > 2, "{methods:?}");
    assert!(
        methods[1..].iter().all(|(_, m)| m == "filter"),
        "{methods:?}"
    );
}

// --- 9. times that would break the log -----------------------------------------------------

#[tokio::test]
async fn times_far_from_the_servers_clock_cannot_break_the_audit_log() {
    let s = Server::start().await;
    let t = Team::of(&s);
    s.import(&[
        report("p1", "user", "spam"),
        report("p2", "user", "spam"),
        report("p3", "user", "spam"),
    ]);
    // Year 1 and year 9999 are stored within a day of the server's clock.
    for (key, id, at) in [
        ("k1", "p1", "0001-01-01T00:00:00Z"),
        ("k2", "p2", "9999-12-31T23:59:59Z"),
    ] {
        let d = with(decision(key, id, "keep"), "decided_at", json!(at));
        assert!(applied(&s.decide(&t.alice, d).await));
    }
    // Year -1 (what once made every audit page holding it answer 500 for good) is not an RFC
    // 3339 time at all: the schema refuses it at the door, naming the field.
    let d = with(
        decision("k3", "p3", "keep"),
        "decided_at",
        json!("-0001-01-01T00:00:00Z"),
    );
    let (status, body) = s
        .client
        .post("/v1/decisions", &t.alice, &json!({ "decisions": [d] }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("decided_at"), "{body}");
    let entries = s.whole_audit(&t.ada).await;
    assert_eq!(entries.len(), 2);
    for e in &entries {
        let at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(e["at"].clone()).expect("at");
        let decided: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(e["decided_at"].clone()).expect("decided_at");
        assert!((decided - at).abs() <= chrono::TimeDelta::days(1), "{e}");
    }

    // Reports: a time of receipt in the future is taken as now, and times before 1970 (which
    // the schema allows, and which could not be stored and read back) as 1970: every one of
    // them is stored so that the item and the audit log still read.
    for (n, (field, value)) in [
        ("received_at", json!("2999-01-01T00:00:00Z")),
        ("received_at", json!("0001-01-01T00:00:00Z")),
        ("deadline", json!("0001-01-01T00:00:00Z")),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("p{}", n + 4);
        let r = with(report(&id, "user", "spam"), field, value);
        let (status, body) = s.report(&t.ada, &r).await;
        assert!(status.is_success(), "{field}: {status} {body}");
        let (status, item) = s.client.get(&format!("/v1/items/{id}"), &t.ada).await;
        assert_eq!(status, StatusCode::OK, "{field}: {item}");
        let at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(item["reports"][0][field].clone()).expect(field);
        assert!(
            at >= chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
                && at <= chrono::Utc::now() + chrono::TimeDelta::days(1),
            "{field}: {at}"
        );
    }
}

// --- 10. idempotency keys are the sender's own, and stand for one decision -----------------

#[tokio::test]
async fn an_idempotency_key_is_the_senders_own_and_stands_for_one_decision() {
    let s = Server::start().await;
    let t = Team::of(&s);
    s.import(&[
        report("p1", "user", "spam"),
        report("p2", "user", "spam"),
        report("p3", "user", "spam"),
    ]);
    let alices = decision("k1", "p1", "take_down");
    assert!(applied(&s.decide(&t.alice, alices.clone()).await));
    // Bob's client happens to pick the same key: his decision is his own.
    let (outcome, message) = s.decide(&t.bob, decision("k1", "p2", "keep")).await;
    assert_eq!(outcome, DecisionOutcome::Applied, "{message}");
    // Alice's retry is a duplicate; the same key for another decision is refused, clearly.
    assert_eq!(
        s.decide(&t.alice, alices).await.0,
        DecisionOutcome::Duplicate
    );
    let (outcome, message) = s.decide(&t.alice, decision("k1", "p3", "keep")).await;
    assert_eq!(outcome, DecisionOutcome::Invalid);
    assert!(message.contains("already used by this token"), "{message}");
    assert_eq!(
        s.item("p3", &t.alice).await.state,
        modq::model::ReviewState::Open
    );
    // A reversal names the key on its item: Alice undoes hers, Bob's keep stands.
    assert!(applied(
        &s.decide(&t.alice, reverse("u1", "p1", "k1")).await
    ));
    assert_eq!(
        s.item("p2", &t.bob).await.state,
        modq::model::ReviewState::Kept
    );
}
