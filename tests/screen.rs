//! What the screen shows, region by region, in scripted sessions against the reference
//! server: the list's order after the filter changes, the item pane scrolling, the lane tabs
//! at every width, the overlays' scrolling, the hint line following the context.

mod common;

use common::{Session, TestServer};
use modq::tui::app::QueueEnd;

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.

async fn session() -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let session = Session::open(&server, data.path()).await;
    (server, data, session)
}

/// The open queue's ids as the server orders them in `sort` (over HTTP, as a client sees it).
async fn server_order(server: &TestServer, sort: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/v1/queue", server.api),
            &[
                ("limit", "500"),
                ("sort", sort),
                ("cursor", cursor.as_str()),
            ],
        )
        .expect("queue url");
        let page: modq::model::QueuePage = reqwest::Client::new()
            .get(url)
            .bearer_auth(&server.token)
            .send()
            .await
            .expect("GET queue")
            .json()
            .await
            .expect("queue JSON");
        ids.extend(page.items.into_iter().map(|i| i.id));
        match page.next_cursor {
            Some(next) => cursor = next,
            None => return ids,
        }
    }
}

async fn settle(s: &mut Session, what: &str) {
    s.wait_until(what, |app| app.queue_end != QueueEnd::Loading)
        .await;
}

/// The window's ids that the server still lists, in the window's order, and whether that is
/// the server's order.
fn in_server_order(s: &Session, server: &[String]) -> Result<(), String> {
    let rank: std::collections::HashMap<&str, usize> = server
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let shown: Vec<(usize, &str)> = s
        .app
        .visible
        .iter()
        .filter_map(|&i| s.app.entries.get(i))
        .filter_map(|e| rank.get(e.id.as_str()).map(|&r| (r, e.id.as_str())))
        .collect();
    match shown.windows(2).find(|w| w[0].0 > w[1].0) {
        Some(w) => Err(format!(
            "{} is shown above {}, which the server puts first",
            w[0].1, w[1].1
        )),
        None => Ok(()),
    }
}

#[tokio::test]
async fn narrowing_then_widening_the_filter_merges_pages_in_the_order_shown() {
    // Each way of widening again, in each sort order: the list is the server's order, the
    // items kept from the narrow filter (one of them decided here) merged in where they go.
    for (sort_presses, sort) in [("", "priority"), ("o", "age"), ("ooo", "deadline")] {
        for widen in [
            "/<bs><bs><bs><bs><bs><bs><bs><bs><bs><bs>cat:spam<enter>",
            ":filter<enter>",
        ] {
            let (server, _data, mut s) = session().await;
            s.press(sort_presses);
            settle(&mut s, "the sorted queue arrives").await;
            s.press("/quickcash<enter>");
            settle(&mut s, "the filtered queue arrives").await;
            assert!(s.app.visible.len() >= 3, "{}", s.screen(120, 40));
            // A decision of this session stays in the window whatever the filter.
            s.press("ja");
            s.press(widen);
            settle(&mut s, "the widened queue arrives").await;
            let screen = s.screen(120, 40);
            assert!(
                s.app.visible.len() > 20,
                "{sort} {widen}: the page arrived\n{screen}"
            );
            let order = server_order(&server, sort).await;
            if let Err(why) = in_server_order(&s, &order) {
                panic!("{sort}, then {widen}: {why}\n{screen}");
            }
            // What is on top is what the server has on top, and what the title says.
            let first = s.app.visible.first().and_then(|&i| s.app.entries.get(i));
            let top = order
                .iter()
                .find(|id| s.app.visible.iter().any(|&i| s.app.entries[i].id == **id));
            assert_eq!(first.map(|e| &e.id), top, "{sort} {widen}\n{screen}");
            if sort != "priority" {
                assert!(screen.contains(&format!("· by {sort} ")), "{screen}");
            }
            s.quit().await;
        }
    }
}
