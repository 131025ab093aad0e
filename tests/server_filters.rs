//! Filters, sort orders and selections on the reference server, over real HTTP. The server
//! must mean by a filter exactly what the TUI means by it on the items in memory
//! (`query::Query::matches`), or a moderator's `*` would tag other items than they see.

#[path = "common/json_api.rs"]
mod json_api;

use std::collections::HashSet;

use json_api::{assert_api_error, serve_in};
use modq::model::{Item, QueuePage, Role, Selection};
use modq::query::{Likeness, Query, Sort};
use modq::server::{self};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    server: json_api::Running,
    token: String,
    all: Vec<Item>,
}

async fn sample() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve_in(dir.path()).await;
    server::import_jsonl(&*server.storage, modq::demo::SAMPLE_QUEUE.as_bytes()).expect("import");
    let token = server::add_token(&*server.storage, "mod-alice", Role::Moderator).expect("token");
    let mut f = Fixture {
        _dir: dir,
        server,
        token,
        all: Vec::new(),
    };
    f.all = f.pages("", "priority", 500).await;
    f
}

impl Fixture {
    /// Every page of the queue for this filter and order, concatenated.
    async fn pages(&self, q: &str, sort: &str, limit: usize) -> Vec<Item> {
        let mut items = Vec::new();
        let mut cursor = String::new();
        loop {
            let url = reqwest::Url::parse_with_params(
                &format!("{}/v1/queue", self.server.client.base),
                &[
                    ("q", q),
                    ("sort", sort),
                    ("cursor", &cursor),
                    ("limit", &limit.to_string()),
                ],
            )
            .expect("url");
            let response = self
                .server
                .client
                .http
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("GET /v1/queue");
            assert_eq!(response.status(), StatusCode::OK, "q={q:?} sort={sort}");
            let page: QueuePage = response.json().await.expect("page");
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = next,
                None => return items,
            }
        }
    }

    /// What the TUI would show for this filter, given every item.
    fn expected(&self, q: &str) -> Vec<String> {
        let query = Query::parse(q).expect("filter parses");
        let likeness = |id: &str| self.all.iter().find(|i| i.id == id).map(Likeness::of);
        self.all
            .iter()
            .filter(|i| query.matches(i, &likeness))
            .map(|i| i.id.clone())
            .collect()
    }
}

fn ids(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.id.clone()).collect()
}

#[tokio::test]
async fn the_server_and_the_tui_agree_on_every_kind_of_filter() {
    let f = sample().await;
    assert_eq!(f.all.len(), 369);
    let spammer = f
        .all
        .iter()
        .find(|i| i.author.as_ref().and_then(|a| a.handle.as_deref()) == Some("@lea.travel"))
        .expect("a prolific author");
    let author_id = spammer
        .author
        .as_ref()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let similar = format!("similar:{}", f.all[0].id);
    let author = format!("author:{author_id}");
    for q in [
        "cat:spam",
        "cat:SPAM lang:fr",
        "country:de",
        "prio:>100",
        "prio:>=50 reporter:trusted_flagger",
        "lane:urgent",
        "from:@lea.travel",
        author.as_str(),
        "semaine",
        "\"par semaine\"",
        "ЗАРАБОТОК",
        "link:quickcash-hub",
        similar.as_str(),
        "cat:hate lang:de country:DE",
        "nothing-matches-this-xyzzy",
    ] {
        let expected = f.expected(q);
        let got = ids(&f.pages(q, "priority", 13).await);
        assert_eq!(got, expected, "filter {q:?}");
    }
    for q in [
        "cat:spam",
        "ЗАРАБОТОК",
        "link:quickcash-hub",
        "from:@lea.travel",
    ] {
        assert!(!f.expected(q).is_empty(), "{q} should match something");
    }
    assert!(f.expected(&similar).len() > 1, "the sample has waves");
}

#[tokio::test]
async fn negation_and_alternatives_mean_the_same_on_the_server_and_in_the_tui() {
    let f = sample().await;
    // An item with no language, no text and no author: a negation must keep it, as the TUI
    // does (`-lang:fr` holds for an item in no language), where SQL's NULL would drop it.
    let bare = json!({
        "subject": {"id": "post-bare", "kind": "post", "countries": []},
        "reporter_type": "user",
        "category": "spam",
        "received_at": "2026-11-20T00:05:00Z",
    });
    server::import_jsonl(&*f.server.storage, bare.to_string().as_bytes()).expect("import");
    let f = Fixture {
        all: f.pages("", "priority", 500).await,
        ..f
    };
    assert_eq!(f.all.len(), 370);
    let two_authors: Vec<String> = f
        .all
        .iter()
        .filter_map(|i| i.author.as_ref().map(|a| a.id.clone()))
        .take(2)
        .collect();
    let authors = format!("author:{}", two_authors.join(","));
    let not_similar = format!("-similar:{}", f.all[0].id);
    for q in [
        "-cat:spam",
        "cat:spam,scam",
        "-cat:spam,scam,hate",
        "cat:spam,hate lang:fr,de",
        "-lang:fr",
        "-lang:fr,en,tr",
        "lane:urgent,authority",
        "-lane:standard prio:<50",
        "prio:>50,<10",
        "-prio:>=40",
        "-semaine",
        "-\"par semaine\"",
        "country:de,fr -cat:spam",
        "-country:de,fr,gb",
        "reporter:user,authority",
        "-reporter:automated",
        authors.as_str(),
        "from:@lea.travel,@nils__gaming",
        "-from:@lea.travel",
        "-link:quickcash-hub",
        "link:quickcash-hub,t.me",
        not_similar.as_str(),
        // Nothing to compare on the bare item: it is still similar to itself, in both.
        "similar:post-bare",
        "-similar:post-bare",
        "cat:spam,scam,phishing,hate,harassment -lang:en,fr,de -country:us prio:>=10",
    ] {
        let expected = f.expected(q);
        let got = ids(&f.pages(q, "priority", 29).await);
        assert_eq!(got, expected, "filter {q:?}");
        assert!(!expected.is_empty(), "{q} should match something");
    }
    for q in [
        "-lang:fr",
        "-semaine",
        "-from:@lea.travel",
        "-link:quickcash-hub",
    ] {
        assert!(
            f.expected(q).contains(&"post-bare".to_string()),
            "{q} keeps the item without that field"
        );
    }
    // Each alternative adds matches; the negation is the rest.
    let spam = f.expected("cat:spam").len();
    let scam = f.expected("cat:scam").len();
    let either = f.expected("cat:spam,scam").len();
    assert!(either > spam.max(scam) && either <= spam + scam);
    assert_eq!(f.expected("-cat:spam,scam").len(), f.all.len() - either);
}

#[tokio::test]
async fn a_hostile_filter_cannot_build_an_unbounded_statement() {
    let f = sample().await;
    let client = &f.server.client;
    let many = (0..33)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for q in [format!("cat:{many}"), format!("-cat:{many}")] {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/v1/queue", client.base),
            &[("q", q.as_str())],
        )
        .expect("url");
        let response = client
            .http
            .get(url)
            .bearer_auth(&f.token)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_api_error(&body, "bad_request");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("at most 32 terms"), "{message}");
        let (status, body) = client
            .post("/v1/queue/select", &f.token, &json!({"q": q}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    // Thirty-two is fine, and still answers.
    let most = (0..32)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(f.pages(&format!("-cat:{most}"), "age", 100).await.len() == f.all.len());
}

#[tokio::test]
async fn every_order_pages_without_repeats_or_gaps() {
    let f = sample().await;
    for sort in Sort::ALL {
        // The priority order puts urgent and overdue items first, judged when the walk began.
        let walk_began = chrono::Utc::now();
        let first = |i: &Item| server::sorts_first(i.lane, i.deadline, walk_began);
        let got = f.pages("", sort.as_str(), 17).await;
        let unique: HashSet<&str> = got.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(unique.len(), f.all.len(), "{sort:?}: repeats or gaps");
        let key_in_order = |a: &Item, b: &Item| match sort {
            Sort::Priority => (first(a), a.priority) >= (first(b), b.priority),
            Sort::Age => a.created_at <= b.created_at,
            Sort::Reports => a.reports.len() >= b.reports.len(),
            Sort::Deadline => match (a.deadline, b.deadline) {
                (Some(x), Some(y)) => x <= y,
                (Some(_), None) | (None, None) => true,
                (None, Some(_)) => false,
            },
        };
        for pair in got.windows(2) {
            assert!(
                key_in_order(&pair[0], &pair[1]),
                "{sort:?}: {} before {}",
                pair[0].id,
                pair[1].id
            );
        }
    }
}

#[tokio::test]
async fn select_finds_every_match_beyond_one_page_but_not_items_others_review() {
    let f = sample().await;
    let client = &f.server.client;
    let spam = f.expected("cat:spam");
    assert!(spam.len() > 50, "more than one page of spam");

    // Bob is reviewing the first two spam items.
    let bob = server::add_token(&*f.server.storage, "mod-bob", Role::Moderator).expect("token");
    let (status, _) = client
        .post(
            "/v1/queue/claim",
            &bob,
            &json!({"q": "cat:spam", "limit": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = client
        .post("/v1/queue/select", &f.token, &json!({"q": "cat:spam"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let selection: Selection = serde_json::from_value(body).expect("selection");
    assert_eq!(selection.ids, spam[2..].to_vec());
    assert_eq!(selection.leased_elsewhere, 2);
    assert!(!selection.truncated);

    let (_, body) = client
        .post(
            "/v1/queue/select",
            &f.token,
            &json!({"q": "cat:spam", "limit": 5}),
        )
        .await;
    let selection: Selection = serde_json::from_value(body).expect("selection");
    assert_eq!(selection.ids.len(), 5);
    assert!(selection.truncated);
}

#[tokio::test]
async fn claims_follow_the_filter_and_the_order() {
    let f = sample().await;
    // Page by page, as a moderator works: each page is handed back before the next, so the
    // cap on live leases never cuts the walk short.
    let mut claimed: Vec<String> = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let (status, body) = f
            .server
            .client
            .post(
                "/v1/queue/claim",
                &f.token,
                &json!({"q": "lang:de", "sort": "age", "limit": 10, "cursor": cursor}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: Vec<String> = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_str().unwrap_or_default().to_string())
            .collect();
        let (status, _) = f
            .server
            .client
            .post("/v1/leases/release", &f.token, &json!({"item_ids": page}))
            .await;
        assert_eq!(status, StatusCode::OK);
        claimed.extend(page);
        cursor = body["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let mut expected: Vec<&Item> = f
        .all
        .iter()
        .filter(|i| i.language.as_deref() == Some("de"))
        .collect();
    expected.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    assert_eq!(
        claimed,
        expected.iter().map(|i| i.id.clone()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn bad_filters_and_orders_are_refused_with_the_culprit_named() {
    let f = sample().await;
    let client = &f.server.client;
    let (status, body) = client.get("/v1/queue?q=lane:fast", &f.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_api_error(&body, "bad_request");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("lane:fast")
    );

    let (status, body) = client.get("/v1/queue?sort=size", &f.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("size")
    );

    // A cursor only continues the order it came from.
    let (_, page) = client.get("/v1/queue?limit=5&sort=age", &f.token).await;
    let cursor = page["next_cursor"].as_str().expect("cursor").to_string();
    let (status, body) = client
        .get(
            &format!("/v1/queue?limit=5&sort=deadline&cursor={cursor}"),
            &f.token,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap_or_default().contains("age"));
}
