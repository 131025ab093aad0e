//! Profiles in config.toml: a moderator with a day desk and a night desk on two servers picks
//! one with `--profile NAME`; each profile gets its secret its own way and keeps its own cache
//! and outbox. Sessions run the real App on modq's event loop against the reference server
//! over HTTP; the command-line cases run the real `modq` binary.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{Session, TestServer};
use modq::backend::Limits;
use modq::config::Config;
use modq::credentials::TokenSource;
use modq::model::ReviewState;
use modq::profile::Dirs;
use modq::session::{self, Target};

const MODQ: &str = env!("CARGO_BIN_EXE_modq");

/// A hang guard only: every run here ends in well under a second.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A private token file in `dir`, with `mode`.
fn token_file(dir: &Path, name: &str, token: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

/// Writes `text` as the config file of `data` and reads it as modq does at start.
fn write_config(data: &Path, text: &str) -> (Dirs, Config) {
    let dirs = Dirs::resolve(Some(data)).unwrap();
    std::fs::create_dir_all(&dirs.config).unwrap();
    std::fs::write(modq::config::path(&dirs), text).unwrap();
    let config = session::load_config(&dirs);
    (dirs, config)
}

/// The day desk reads its token from a private file; the night desk from a credential command.
fn two_desks(day: &TestServer, night: &TestServer, secrets: &Path) -> String {
    let day_file = token_file(secrets, "day.token", &day.token, 0o600);
    format!(
        "theme = \"mono\"\n\
         [profile.day]\n\
         backend = \"modq\"\n\
         url = \"{}\"\n\
         token_file = \"{day_file}\"\n\
         \n\
         [profile.night]\n\
         backend = \"modq\"\n\
         url = \"{}/\"\n\
         token_command = \"printf '%s\\\\n' {}\"\n",
        day.api, night.api, night.token
    )
}

#[tokio::test]
async fn the_profile_picked_is_the_server_decided_on_and_each_keeps_its_own_outbox() {
    let day = TestServer::with_sample().await;
    let night = TestServer::with_sample().await;
    let data = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let (dirs, config) = write_config(data.path(), &two_desks(&day, &night, secrets.path()));
    assert_eq!(
        config.problems,
        vec![],
        "a well-formed config has no problems"
    );
    assert_eq!(
        config
            .profiles
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["day", "night"]
    );

    // Tonight the moderator works the night desk: its token comes from its command.
    let target =
        session::profile_target(&config, "night", &TokenSource::default(), Limits::default())
            .unwrap();
    assert_eq!(target.name.as_deref(), Some("night"));
    let prepared = session::prepare_target(&target, &dirs, config.clone())
        .await
        .unwrap();
    let night_db = prepared.db.clone();
    let mut s = Session::from_prepared(prepared, common::sample_now());
    assert!(
        s.app.profile.starts_with("night: mod-alice@127.0.0.1:"),
        "the status bar names the profile: {}",
        s.app.profile
    );
    let first = s.selected_id();
    s.press("t");
    s.wait_delivered().await;
    s.quit().await;
    assert_eq!(night.item(&first).await.state, ReviewState::TakenDown);
    assert_eq!(
        day.item(&first).await.state,
        ReviewState::Open,
        "the day desk's server never heard of it"
    );

    // The day desk, from its token file, has a cache of its own with nothing in its outbox.
    let target =
        session::profile_target(&config, "day", &TokenSource::default(), Limits::default())
            .unwrap();
    let (_backend, me, profile, day_db) = session::connect_target(&target, &dirs).await.unwrap();
    assert_eq!(me.name, "mod-alice");
    assert_eq!(profile.name.as_deref(), Some("day"));
    assert_ne!(day_db, night_db);
    let day_store = modq::store::Store::open(&day_db).unwrap();
    assert_eq!(day_store.counts().unwrap().sent, 0);
    let night_store = modq::store::Store::open(&night_db).unwrap();
    assert_eq!(night_store.counts().unwrap().sent, 1);

    // The same account through --api is a third cache, where earlier versions kept it.
    let (_b, _me, _p, api_db) =
        session::connect(&night.api, &night.token, &dirs, Limits::default())
            .await
            .unwrap();
    assert_ne!(api_db, night_db);
    assert_ne!(api_db, day_db);
}

#[tokio::test]
async fn an_unknown_profile_is_refused_naming_the_profiles_there_are() {
    let data = tempfile::tempdir().unwrap();
    let (_dirs, config) = write_config(
        data.path(),
        "[profile.day]\nbackend = \"modq\"\nurl = \"http://127.0.0.1:9\"\n\
         [profile.night]\nbackend = \"modq\"\nurl = \"http://127.0.0.1:9\"\n",
    );
    let err = session::profile_target(&config, "nigth", &TokenSource::default(), Limits::default())
        .unwrap_err();
    assert_eq!(
        err,
        "no profile \"nigth\" in config.toml (profiles: \"day\", \"night\")"
    );
    let empty = Config::parse("", false);
    let err = session::profile_target(&empty, "day", &TokenSource::default(), Limits::default())
        .unwrap_err();
    assert!(err.contains("has no [profile.NAME] tables"), "{err}");
}

#[tokio::test]
async fn a_token_file_others_can_read_is_refused_and_nothing_is_sent() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let shared = token_file(secrets.path(), "shared.token", &server.token, 0o644);
    let (_dirs, config) = write_config(
        data.path(),
        &format!(
            "[profile.desk]\nbackend = \"modq\"\nurl = \"{}\"\ntoken_file = \"{shared}\"\n",
            server.api
        ),
    );
    let err = session::profile_target(&config, "desk", &TokenSource::default(), Limits::default())
        .unwrap_err();
    assert!(err.contains(&format!("chmod 600 {shared}")), "{err}");
    assert!(
        !err.contains(&server.token),
        "the secret is never repeated: {err}"
    );
}

#[tokio::test]
async fn a_backend_this_build_lacks_and_other_mistakes_are_named_with_their_lines() {
    let data = tempfile::tempdir().unwrap();
    let (_dirs, config) = write_config(
        data.path(),
        "[profile.mastodon]\n\
         backend = \"mastodon\"\n\
         url = \"http://127.0.0.1:9\"\n\
         [profile.half]\n\
         backend = \"modq\"\n\
         [profile.greedy]\n\
         backend = \"modq\"\n\
         url = \"http://127.0.0.1:9\"\n\
         token_env = \"A_TOKEN\"\n\
         token_command = \"echo b\"\n\
         [profile.typo]\n\
         backend = \"modq\"\n\
         url = \"http://127.0.0.1:9\"\n\
         tokenfile = \"/tmp/x\"\n\
         [profile.good]\n\
         backend = \"modq\"\n\
         url = \"http://127.0.0.1:9\"\n\
         [profile.good.options]\n\
         retries = 3\n",
    );
    let problems: Vec<String> = config.problems.iter().map(|p| p.to_string()).collect();
    // The backends this build has, as the message lists them.
    let has = modq::backend::BackendKind::ALL
        .iter()
        .map(|k| format!("{:?}", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let lacks = format!(
        "config.toml line 2, key \"backend\": no backend \"mastodon\" in this build of modq \
         (it has: {has})"
    );
    let want = [
        lacks.as_str(),
        "config.toml line 4, key \"half\": the profile needs url",
        "config.toml line 6, key \"greedy\": a profile takes one of token_file, token_command \
         and token_env",
        "config.toml line 14, key \"tokenfile\": a profile has no setting \"tokenfile\"",
        "config.toml line 19, key \"retries\": a backend option is a string",
    ];
    assert_eq!(problems.len(), want.len(), "{problems:#?}");
    for (got, want) in problems.iter().zip(want) {
        assert!(got.starts_with(want), "{got}\nshould start with\n{want}");
    }
    assert!(config.profiles.is_empty(), "no broken profile is usable");
    // Asked for, a broken profile says what is wrong with it instead of "unknown".
    let err = session::profile_target(
        &config,
        "mastodon",
        &TokenSource::default(),
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        format!(
            "the profile \"mastodon\" in config.toml cannot be used: line 2, key \"backend\": \
             no backend \"mastodon\" in this build of modq (it has: {has})"
        )
    );
}

#[tokio::test]
async fn options_reach_the_backend_which_refuses_one_it_does_not_know() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().unwrap();
    let (dirs, config) = write_config(
        data.path(),
        &format!(
            "[profile.desk]\nbackend = \"modq\"\nurl = \"{}\"\n\
             [profile.desk.options]\nmanagement_room = \"!abc:example.org\"\n",
            server.api
        ),
    );
    let desk = &config.profiles[0];
    assert_eq!(
        desk.options.get("management_room").map(String::as_str),
        Some("!abc:example.org"),
        "options are kept as written"
    );
    let target = Target {
        secret: server.token.clone(),
        ..session::profile_target(
            &config,
            "desk",
            &TokenSource {
                command: Some(format!("echo {}", server.token)),
                ..TokenSource::default()
            },
            Limits::default(),
        )
        .unwrap()
    };
    let Err(err) = session::connect_target(&target, &dirs).await else {
        panic!("the modq backend took an option it does not know");
    };
    assert!(
        err.to_string()
            .contains("the modq backend has no option \"management_room\" (it takes no options)"),
        "{err}"
    );
}

/// What one run of the `modq` binary left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `modq ARGS --data-dir DATA` with none of the caller's modq settings, and `env` set.
async fn modq(args: &[&str], data: &Path, env: &[(&str, &str)]) -> Run {
    let mut command = tokio::process::Command::new(MODQ);
    command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("MODQ_API")
        .env_remove("MODQ_TOKEN")
        .env_remove("MODQ_TOKEN_COMMAND")
        .env_remove("MODQ_PROFILE")
        .env_remove("MODQ_DATA_DIR")
        .env_remove("RUST_BACKTRACE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(HANG_GUARD, command.output())
        .await
        .unwrap_or_else(|_| panic!("modq {args:?} hung"))
        .unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn the_binary_picks_a_profile_with_its_secret_from_the_environment() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().unwrap();
    write_config(
        data.path(),
        &format!(
            "[profile.night]\nbackend = \"modq\"\nurl = \"{}\"\ntoken_env = \"NIGHT_DESK_TOKEN\"\n\
             [profile.day]\nbackend = \"modq\"\nurl = \"http://127.0.0.1:9\"\n",
            server.api
        ),
    );
    // MODQ_API from the environment gives way to the profile's URL, and MODQ_TOKEN (meant for
    // another server) is not sent: the profile names its own variable.
    let run = modq(
        &["--profile", "night", "sync"],
        data.path(),
        &[
            ("NIGHT_DESK_TOKEN", server.token.as_str()),
            ("MODQ_API", "http://127.0.0.1:9"),
            ("MODQ_TOKEN", "modq_meant_for_another_server"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("night: mod-alice@127.0.0.1:")
            && run.stdout.contains("delivered 0, unsent 0, refused 0"),
        "{}",
        run.stdout
    );

    // An unknown profile: exit 2 and the profiles there are.
    let run = modq(&["--profile", "evening", "sync"], data.path(), &[]).await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.starts_with(
            "modq: no profile \"evening\" in config.toml (profiles: \"night\", \"day\")"
        ),
        "{}",
        run.stderr
    );

    // The profile's variable unset: it says which variable, and never falls back to MODQ_TOKEN.
    let run = modq(
        &["--profile", "night", "sync"],
        data.path(),
        &[("MODQ_TOKEN", server.token.as_str())],
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("no token for profile \"night\": set NIGHT_DESK_TOKEN"),
        "{}",
        run.stderr
    );

    // --api typed beside --profile is a contradiction, refused.
    let run = modq(
        &["--profile", "night", "--api", &server.api, "sync"],
        data.path(),
        &[("NIGHT_DESK_TOKEN", server.token.as_str())],
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("leave out --api"), "{}", run.stderr);
}

#[tokio::test]
async fn a_refused_secret_names_the_profile_to_fix_and_purge_finds_the_profiles_cache() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().unwrap();
    let (dirs, config) = write_config(
        data.path(),
        &format!(
            "[profile.desk]\nbackend = \"modq\"\nurl = \"{}\"\n\
             token_command = \"echo modq_not_a_real_token\"\n\
             [profile.good]\nbackend = \"modq\"\nurl = \"{}\"\ntoken_env = \"GOOD_DESK_TOKEN\"\n",
            server.api, server.api
        ),
    );
    let target =
        session::profile_target(&config, "desk", &TokenSource::default(), Limits::default())
            .unwrap();
    let Err(err) = session::connect_target(&target, &dirs).await else {
        panic!("a wrong token was accepted");
    };
    let err = err.to_string();
    assert!(
        err.contains("refused the secret of profile \"desk\"")
            && err.contains("token_file, token_command or token_env in config.toml"),
        "{err}"
    );
    assert!(!err.contains("modq_not_a_real_token"), "{err}");

    // The good desk's cache, made by a sync, is the one `purge --profile good` removes.
    let env = [("GOOD_DESK_TOKEN", server.token.as_str())];
    let run = modq(&["--profile", "good", "sync"], data.path(), &env).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let before = dirs.profile_dbs().unwrap();
    assert_eq!(before.len(), 1, "{before:?}");
    let run = modq(
        &["--profile", "good", "purge", "--user", "mod-alice"],
        data.path(),
        &[],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("removed"), "{}", run.stdout);
    assert_eq!(
        dirs.profile_dbs().unwrap(),
        Vec::<std::path::PathBuf>::new()
    );
}
