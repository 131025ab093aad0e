//! A database of its own for each PostgreSQL test, in the cluster `MODQ_TEST_POSTGRES_URL`
//! names (scripts/postgres.sh starts one); dropped when the test ends.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const URL_VAR: &str = "MODQ_TEST_POSTGRES_URL";

pub struct TestDb {
    /// The URL of this test's database.
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDb {
    /// A new empty database, or `None` (saying so on stderr) when no PostgreSQL is given.
    pub fn create(tag: &str) -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(URL_VAR) else {
            // Straight to stderr, past the test harness's capture: a skipped test must say
            // so even when it "passes".
            let _ = writeln!(
                std::io::stderr(),
                "NOT RUN: the PostgreSQL tests need {URL_VAR}; run them with\n  \
                 export \"$(scripts/postgres.sh up target/pg)\" && \
                 cargo test --test storage_postgres --test serve_postgres"
            );
            return None;
        };
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "modq_{tag}_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{URL_VAR} is set but PostgreSQL refused: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("a URL ending in /DATABASE");
        Some(TestDb {
            url: format!("{base}/{name}"),
            name,
            admin_url,
        })
    }

    /// This test's database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A plain connection to this test's database, as any client of it would have.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
