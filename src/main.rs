//! The `modq` command line: thin wiring over the library.

// A panic in front of a moderator is a crash over their work: production code returns
// errors, and reads slices with `get`, iterators or `split_*`, never `[i]` or `[a..b]`. Every
// unwrap/expect in `src/` sits in a `#[cfg(test)]` module, where a failed one is a failed test
// and never runs in modq; CI's clippy enforces this for everything else.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use modq::backend::modq::{Limits, ModqClient};
use modq::backend::{Backend, BackendKind, BackendOptions};
use modq::credentials::TokenSource;
use modq::model::Role;
use modq::profile::Dirs;
use modq::server::{self, SqliteStorage, Storage};
use modq::session::{self, SessionError, Target};

/// modq — review a moderation queue from the keyboard.
///
/// Without --api (or MODQ_API), modq opens a built-in demo: the reference server runs
/// in-process on 127.0.0.1 with a sample queue. Keys: j/k move, t take down, a keep,
/// e escalate, u undo, ? help, q quit. Keys, theme and mouse: `modq config default`.
#[derive(Debug, Parser)]
#[command(name = "modq", version, about, long_about)]
struct Cli {
    /// Base URL of a modq API v1 server, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "MODQ_API", global = true)]
    api: Option<String>,

    /// Review the queue of this `[profile.NAME]` in config.toml: its backend (modq, or a
    /// platform), URL, secret and options. Its URL replaces MODQ_API.
    #[arg(long, value_name = "NAME", env = "MODQ_PROFILE", global = true)]
    profile: Option<String>,

    /// --api was typed on the command line (not taken from MODQ_API): with --profile, that is
    /// a contradiction to refuse rather than a default to ignore.
    #[arg(skip)]
    api_typed: bool,

    /// File holding the API token; it must be private (chmod 600). Else --token-command, else
    /// the MODQ_TOKEN variable.
    #[arg(long, value_name = "FILE", global = true)]
    token_file: Option<PathBuf>,

    /// Command printing the API token on its first line, run with `sh -c` (like git's
    /// credential helpers), e.g. `pass show modq/alice`.
    #[arg(long, value_name = "CMD", env = "MODQ_TOKEN_COMMAND", global = true)]
    token_command: Option<String>,

    /// Refuse API answers larger than this many MiB.
    #[arg(long, value_name = "MIB", env = "MODQ_MAX_RESPONSE_MB", global = true,
          default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_response_mb: u32,

    /// Seconds an API request may take before modq calls the API offline and retries.
    #[arg(long, value_name = "SECS", env = "MODQ_TIMEOUT_SECS", global = true,
          default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,

    /// Seconds opening a connection to the API may take.
    #[arg(long, value_name = "SECS", env = "MODQ_CONNECT_TIMEOUT_SECS", global = true,
          default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    connect_timeout: u64,

    /// Keep session caches and logs here instead of the XDG data and state folders.
    #[arg(long, value_name = "DIR", env = "MODQ_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open the TUI on the built-in demo queue (what modq does without --api).
    Demo,
    /// Run the reference moderation API server (or manage its database).
    Serve(ServeArgs),
    /// Send a profile's unsent decisions without opening the TUI; exits 1 if any are left.
    Sync,
    /// Transparency reports from the server's audit table (needs --api and a token).
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// The config file (keys, theme, colours, mouse, profiles).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Delete a profile's local state (its session cache); refuses while decisions are unsent.
    Purge(PurgeArgs),
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Statements of reasons (EU DSA Transparency Database format) for take downs in force,
    /// printed as JSON `{"statements": [...]}`. Needs a senior, specialist or admin token.
    Sor {
        /// Only take downs applied on or after this UTC day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
    /// The daily transparency report, net of reversals: decisions by action, reason code,
    /// report category, lane and country, median time to decision, deadlines met and missed.
    Daily {
        /// The UTC day (YYYY-MM-DD); today when absent.
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        /// json, csv, or text (for people: the median in minutes and seconds).
        #[arg(long, value_enum, default_value = "json")]
        format: ReportFormat,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    Csv,
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print where modq reads its config file.
    Path,
    /// Print the full default config, commented: a starting point to save and edit.
    Default,
    /// Read the config file and name each problem in it; exits 1 if there are any.
    Check,
}

#[derive(Debug, clap::Args)]
struct PurgeArgs {
    /// Whose profile on --api; asked of the server with the token when absent.
    #[arg(long)]
    user: Option<String>,
    /// Every profile on this machine.
    #[arg(long, conflicts_with = "user")]
    all: bool,
    /// Delete even when decisions have not reached the server; they are lost.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// SQLite database file (created if missing), or a PostgreSQL URL
    /// (`postgres://user@host:port/db`) that several `modq serve` may share.
    #[arg(long, value_name = "PATH|URL")]
    db: PathBuf,

    /// Connections to PostgreSQL this server keeps at most (with `--db postgres://…`).
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_PG_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_connections: u32,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Policy catalog (TOML, like assets/policies.toml); the built-in one when absent.
    #[arg(long, value_name = "FILE")]
    policies: Option<PathBuf>,

    /// Support resources sent to self-harm items' reporters (TOML, like
    /// assets/support-resources.toml, whose entries are examples to verify); the built-in
    /// one when absent.
    #[arg(long, value_name = "FILE")]
    support_resources: Option<PathBuf>,

    /// Requests per second each token may make (bursts of twice that pass); more get 429.
    #[arg(long, value_name = "PER_SECOND", default_value_t = server::DEFAULT_RATE_PER_SECOND,
          value_parser = clap::value_parser!(u32).range(1..))]
    rate: u32,

    /// Failed authentications (missing, unknown or revoked tokens) each client address may
    /// make per minute; past them it gets 429 until its allowance refills.
    #[arg(long, value_name = "PER_MINUTE",
          default_value_t = server::DEFAULT_AUTH_FAILURES_PER_MINUTE,
          value_parser = clap::value_parser!(u32).range(1..))]
    auth_failures: u32,

    /// Connections open at once; a connection past the cap is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_connections: usize,

    /// Seconds a connection has to send a whole request head once it is ready for one (new,
    /// or after its last answer); then it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = server::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,

    /// Seconds a connection may move no byte either way while no request of its is being
    /// handled; then it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = server::DEFAULT_IDLE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,

    /// Seconds a request body may take to arrive; slower ones get 408.
    #[arg(long, value_name = "SECONDS", default_value_t = server::DEFAULT_BODY_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout: u64,

    /// Bytes of JSON one queue or claim page may hold; a page ends early past it, and says
    /// there is more.
    #[arg(long, value_name = "BYTES", default_value_t = server::DEFAULT_PAGE_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..))]
    page_bytes: usize,

    /// Live leases one moderator may hold at once: what they can review before a lease runs
    /// out (a screenful and a short prefetch). Claims past it are trimmed.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_LEASES,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_leases: u32,

    /// The longest lease granted, in seconds; longer requests are cut to it.
    #[arg(long, value_name = "SECONDS", default_value_t = server::DEFAULT_MAX_LEASE_SECONDS,
          value_parser = clap::value_parser!(u32).range(i64::from(server::MIN_LEASE_SECONDS)..=i64::from(server::MAX_LEASE_SECONDS)))]
    max_lease_seconds: u32,

    #[command(subcommand)]
    command: Option<ServeCommand>,
}

#[derive(Debug, Subcommand)]
enum ServeCommand {
    /// Load a JSON Lines file of reports (the POST /v1/reports body, one per line).
    Import {
        /// The file; `-` reads standard input.
        file: PathBuf,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token; it is printed alone on the last line and stored only hashed.
    Add {
        /// moderator, senior, legal, law_enforcement, child_safety or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Who the token belongs to (shown as the actor of every decision): unique, and
        /// without control, bidi or invisible characters.
        #[arg(long)]
        name: Option<String>,
    },
    /// Print every token: id, name, role, when created and when revoked.
    List,
    /// Revoke a token by its id or name: it is refused from then on. Its name stays taken
    /// and its decisions keep it.
    Revoke {
        /// The token's id (from `token list`) or name.
        token: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a role: moderator, senior, legal, law_enforcement, child_safety or admin"
        )
    })
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    cli.api_typed = matches.value_source("api") == Some(ValueSource::CommandLine);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("modq: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(message) => {
            // Messages quote servers and files: one last guard before the terminal.
            eprintln!("modq: {}", modq::sanitize::clean_short(&message, 2000));
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Sync) => sync(&cli).await,
        Some(Command::Report { ref command }) => report(&cli, command).await,
        Some(Command::Purge(ref args)) => purge(&cli, args).await,
        Some(Command::Demo) => demo(cli.data_dir.as_deref()).await,
        Some(Command::Config { command }) => config(command, cli.data_dir.as_deref()),
        None if cli.api.is_none() && cli.profile.is_none() => demo(cli.data_dir.as_deref()).await,
        None => {
            let dirs = dirs(cli.data_dir.as_deref())?;
            let config = session::load_config(&dirs);
            let target = target(&cli, &dirs, &config, "modq")?;
            review(&target, &dirs, config).await
        }
    }
}

/// What the command line points at: `--profile NAME` from config.toml, else `--api` with the
/// token from --token-file, --token-command or MODQ_TOKEN. `command` names the command in
/// the error when there is neither.
fn target(
    cli: &Cli,
    dirs: &Dirs,
    config: &modq::config::Config,
    command: &str,
) -> Result<Target, String> {
    let command_line = TokenSource {
        file: cli.token_file.clone(),
        command: cli.token_command.clone(),
        ..TokenSource::default()
    };
    let Some(name) = &cli.profile else {
        let api = cli
            .api
            .as_deref()
            .ok_or_else(|| format!("{command} needs --profile NAME, or --api (MODQ_API)"))?;
        let token = command_line.read().map_err(|e| e.to_string())?;
        return Ok(Target::modq(api, &token, limits(cli)));
    };
    if cli.api_typed {
        return Err(format!(
            "--profile {name} takes its URL from config.toml; leave out --api"
        ));
    }
    session::profile_target(config, name, &command_line, limits(cli))
        .map_err(|e| format!("{e} ({})", modq::config::path(dirs).display()))
}

/// A target that must be modq's own API (reports read what only modq's server keeps).
fn modq_target(target: Target, command: &str) -> Result<Target, String> {
    if target.backend != BackendKind::Modq {
        return Err(format!(
            "{command} reads modq's own API; profile {:?} is a {} profile",
            target.name.as_deref().unwrap_or_default(),
            target.backend.as_str()
        ));
    }
    Ok(target)
}

fn limits(cli: &Cli) -> Limits {
    Limits {
        max_response_bytes: usize::try_from(cli.max_response_mb)
            .unwrap_or(usize::MAX / (1024 * 1024))
            * 1024
            * 1024,
        request_timeout: Duration::from_secs(cli.timeout),
        connect_timeout: Duration::from_secs(cli.connect_timeout),
    }
}

fn dirs(data_dir: Option<&Path>) -> Result<Dirs, String> {
    let dirs = Dirs::resolve(data_dir).map_err(|e| e.to_string())?;
    if let Err(e) = modq::logging::to_file(&dirs.log_file()) {
        // A session without a log is still a working session.
        eprintln!(
            "modq: cannot write the log {}: {e}",
            dirs.log_file().display()
        );
    }
    Ok(dirs)
}

fn config(command: ConfigCommand, data_dir: Option<&Path>) -> Result<ExitCode, String> {
    let path = || {
        Dirs::resolve(data_dir)
            .map(|d| modq::config::path(&d))
            .map_err(|e| e.to_string())
    };
    match command {
        ConfigCommand::Path => println!("{}", path()?.display()),
        ConfigCommand::Default => print!("{}", modq::config::default_text()),
        ConfigCommand::Check => {
            let path = path()?;
            let config = modq::config::Config::load(&path, false);
            for problem in &config.problems {
                println!("{}", modq::sanitize::clean_line(&problem.to_string()));
            }
            if !config.problems.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
            println!("{}: no problems", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn review(
    target: &Target,
    dirs: &Dirs,
    config: modq::config::Config,
) -> Result<ExitCode, String> {
    let outcome = session::review(target, dirs, config)
        .await
        .map_err(|e| e.to_string())?;
    let left = outcome.left;
    println!(
        "modq: {} decisions this session; {} unsent (kept for next time), {} refused by the server.",
        outcome.decided, left.unsent, left.failed
    );
    match outcome.error {
        Some(message) => Err(message),
        None => Ok(ExitCode::SUCCESS),
    }
}

async fn demo(data_dir: Option<&Path>) -> Result<ExitCode, String> {
    let demo = modq::demo::Demo::start()
        .await
        .map_err(|e| format!("cannot start the demo server: {e:#}"))?;
    // The demo's cache lives beside its database unless the caller chose a folder.
    let cache = data_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| demo.dir.path().join("cache"));
    let mut dirs = dirs(Some(&cache))?;
    // The demo is a way to try modq: with the moderator's own keys and theme.
    if data_dir.is_none()
        && let Ok(home) = Dirs::resolve(None)
    {
        dirs.config = home.config;
    }
    let config = session::load_config(&dirs);
    let target = Target::modq(&demo.api, &demo.token, Limits::default());
    let result = review(&target, &dirs, config).await;
    demo.stop().await;
    result
}

async fn sync(cli: &Cli) -> Result<ExitCode, String> {
    let dirs = dirs(cli.data_dir.as_deref())?;
    let config = session::load_config(&dirs);
    let target = target(cli, &dirs, &config, "modq sync")?;
    let (backend, _me, profile, db) = session::connect_target(&target, &dirs)
        .await
        .map_err(|e: SessionError| e.to_string())?;
    let report = modq::sync::flush_all(&*backend, &db)
        .await
        .map_err(|e| format!("session cache {}: {e}", db.display()))?;
    println!(
        "{}: delivered {}, unsent {}, refused {}",
        profile.display(),
        report.delivered,
        report.counts.unsent,
        report.counts.failed
    );
    if let Some(e) = report.error {
        eprintln!("modq: {e}");
    }
    Ok(if report.counts.unsent == 0 && report.counts.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `modq report …`: one read from the API, printed to standard output.
async fn report(cli: &Cli, command: &ReportCommand) -> Result<ExitCode, String> {
    let dirs = Dirs::resolve(cli.data_dir.as_deref()).map_err(|e| e.to_string())?;
    let config = modq::config::Config::load(&modq::config::path(&dirs), false);
    let target = modq_target(target(cli, &dirs, &config, "modq report")?, "modq report")?;
    let api = target.url.as_str();
    let client = ModqClient::with_limits(api, &target.secret, target.limits)
        .map_err(|e| session::explain(api, &e))?;
    let out = match command {
        ReportCommand::Sor { since } => {
            print_statements(&client, since.as_deref()).await?;
            return Ok(ExitCode::SUCCESS);
        }
        ReportCommand::Daily { date, format } => {
            let stats = client
                .daily_stats(date.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            match format {
                ReportFormat::Json => pretty(&stats)?,
                ReportFormat::Csv => server::stats::to_csv(&stats),
                // Keys come from reporters: no control character reaches the terminal.
                ReportFormat::Text => server::stats::to_text(&stats)
                    .lines()
                    .map(modq::sanitize::clean_line)
                    .collect::<Vec<_>>()
                    .join("\n"),
            }
        }
    };
    print!("{out}");
    if !out.ends_with('\n') {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// The statements of reasons as the Transparency Database's batch body,
/// `{"statements": [...]}`, one statement a line, each page written as it arrives. A failure
/// part way leaves the output unfinished JSON (and the exit status says so), never an
/// export that looks whole.
async fn print_statements(client: &ModqClient, since: Option<&str>) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let wrote = |e: std::io::Error| format!("writing the statements: {e}");
    out.write_all(b"{\"statements\": [").map_err(wrote)?;
    let mut pages = client.statements(since);
    let mut first = true;
    while let Some(page) = pages.next().await.map_err(|e| e.to_string())? {
        for statement in page {
            let line = serde_json::to_string(&statement).map_err(|e| e.to_string())?;
            let sep: &[u8] = if first { b"\n" } else { b",\n" };
            first = false;
            out.write_all(sep)
                .and_then(|()| out.write_all(line.as_bytes()))
                .map_err(wrote)?;
        }
        out.flush().map_err(wrote)?;
    }
    out.write_all(b"\n]}\n")
        .and_then(|()| out.flush())
        .map_err(wrote)
}

fn pretty<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

async fn purge(cli: &Cli, args: &PurgeArgs) -> Result<ExitCode, String> {
    let dirs = Dirs::resolve(cli.data_dir.as_deref()).map_err(|e| e.to_string())?;
    let dbs = if args.all {
        dirs.profile_dbs().map_err(|e| e.to_string())?
    } else {
        let config = modq::config::Config::load(&modq::config::path(&dirs), false);
        let user = match &args.user {
            // Whose profile is known: no secret is needed to find its cache.
            Some(user) => {
                let target = match &cli.profile {
                    Some(name) => {
                        let p = config.profile(name)?;
                        Target {
                            backend: p.backend,
                            name: Some(p.name.clone()),
                            url: p.url.clone(),
                            secret: String::new(),
                            options: BackendOptions::new(),
                            limits: limits(cli),
                        }
                    }
                    None => Target::modq(
                        cli.api.as_deref().ok_or(
                            "modq purge needs --profile NAME or --api (MODQ_API) to know which \
                             profile, or --all",
                        )?,
                        "",
                        limits(cli),
                    ),
                };
                target.profile(user)
            }
            None => {
                let target = target(cli, &dirs, &config, "modq purge (or --all)")?;
                let backend = modq::backend::open(
                    target.backend,
                    &target.url,
                    &target.secret,
                    &target.options,
                    target.limits,
                )
                .map_err(|e| session::explain_target(&target, &e))?;
                let me = backend.me().await.map_err(|e| {
                    format!(
                        "{} Or name the profile with --user.",
                        session::explain_target(&target, &e)
                    )
                })?;
                target.profile(&me.name)
            }
        };
        let profile = user;
        vec![dirs.profile_db(&profile)]
    };
    let removed = modq::profile::purge(&dbs, args.force).map_err(|e| e.to_string())?;
    println!("modq: removed {removed} files of local state.");
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    modq::logging::to_stderr();
    let mut policies = match &args.policies {
        None => modq::policy::PolicyCatalog::builtin(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the policy catalog {}: {e}", path.display()))?;
            modq::policy::PolicyCatalog::parse(&text)
                .map_err(|e| format!("the policy catalog {} is invalid: {e:#}", path.display()))?
        }
    };
    if let Some(path) = &args.support_resources {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the support resources {}: {e}", path.display()))?;
        policies.support = modq::support::SupportCatalog::parse(&text).map_err(|e| {
            format!(
                "the support resources {} are invalid: {e:#}",
                path.display()
            )
        })?;
    }
    // PostgreSQL's client blocks on a runtime of its own: it is opened, used by the
    // commands and finally dropped outside this async context.
    let storage: Arc<dyn Storage> = tokio::task::block_in_place(|| open_storage(&args))?;
    // An early `?` leaves this block, not the function: the storage is still dropped below.
    let answer: Result<ExitCode, String> = async {
        match args.command {
            Some(ServeCommand::Import { file }) => {
                let summary = if file.as_os_str() == "-" {
                    tokio::task::block_in_place(|| {
                        server::import_jsonl(&*storage, std::io::stdin().lock())
                    })
                } else {
                    let f = std::fs::File::open(&file)
                        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                    tokio::task::block_in_place(|| {
                        server::import_jsonl(&*storage, std::io::BufReader::new(f))
                    })
                }
                .map_err(|e| format!("import stopped: {e:#}"))?;
                println!(
                    "imported {} reports ({} new items)",
                    summary.reports, summary.items
                );
                Ok(ExitCode::SUCCESS)
            }
            Some(ServeCommand::Token {
                command: TokenCommand::Add { role, name },
            }) => {
                let name = name.unwrap_or_else(|| {
                    // The key's end: its start is the clock, the same for tokens made together.
                    let key = modq::store::new_key();
                    format!("{}-{}", role.as_str(), &key[key.len() - 6..])
                });
                let (id, token) =
                    tokio::task::block_in_place(|| server::create_token(&*storage, &name, role))
                        .map_err(|e| format!("cannot add the token: {e:#}"))?;
                println!("token {id} for {name} ({}):", role.as_str());
                println!("{token}");
                Ok(ExitCode::SUCCESS)
            }
            Some(ServeCommand::Token {
                command: TokenCommand::List,
            }) => {
                let tokens = tokio::task::block_in_place(|| storage.tokens())
                    .map_err(|e| format!("cannot read the tokens: {e:#}"))?;
                print!("{}", token_table(&tokens));
                Ok(ExitCode::SUCCESS)
            }
            Some(ServeCommand::Token {
                command: TokenCommand::Revoke { token },
            }) => {
                let revoked = tokio::task::block_in_place(|| {
                    storage.revoke_token(&token, chrono::Utc::now())
                })
                .map_err(|e| format!("cannot revoke the token: {e:#}"))?
                .ok_or_else(|| format!("no token has the id or name {token:?}"))?;
                print!("revoked:\n{}", token_table(std::slice::from_ref(&revoked)));
                Ok(ExitCode::SUCCESS)
            }
            None => {
                let listener = tokio::net::TcpListener::bind(args.listen)
                    .await
                    .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                eprintln!("modq serve: listening on http://{addr}");
                let options = server::ServerOptions {
                    rate_per_second: args.rate,
                    auth_failures_per_minute: args.auth_failures,
                    connections: server::ConnectionLimits {
                        max_connections: args.max_connections,
                        header_timeout: std::time::Duration::from_secs(args.header_timeout),
                        idle_timeout: std::time::Duration::from_secs(args.idle_timeout),
                        body_timeout: std::time::Duration::from_secs(args.body_timeout),
                    },
                    page_bytes: args.page_bytes,
                    leases: server::LeasePolicy {
                        max_leases: args.max_leases,
                        max_lease_seconds: args.max_lease_seconds,
                    },
                    ..server::ServerOptions::default()
                };
                server::serve_with_policies(
                    listener,
                    Arc::clone(&storage),
                    options,
                    policies,
                    async {
                        let _ = tokio::signal::ctrl_c().await;
                    },
                )
                .await
                .map_err(|e| format!("server stopped: {e}"))?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
    .await;
    tokio::task::block_in_place(|| drop(storage));
    answer
}

/// The storage `--db` names: PostgreSQL for a `postgres://` URL, else a SQLite file.
fn open_storage(args: &ServeArgs) -> Result<Arc<dyn Storage>, String> {
    match args.db.to_str().filter(|db| server::is_postgres_url(db)) {
        Some(url) => server::PostgresStorage::open_with(url, args.db_connections)
            .map(|s| Arc::new(s) as Arc<dyn Storage>)
            // The URL may carry a password: the error names the database by its kind only.
            .map_err(|e| format!("cannot open the PostgreSQL database: {e:#}")),
        None => SqliteStorage::open(&args.db)
            .map(|s| Arc::new(s) as Arc<dyn Storage>)
            .map_err(|e| format!("cannot open the database {}: {e:#}", args.db.display())),
    }
}

/// Tokens as `modq serve token list` prints them: a header, then one tab-separated line each.
fn token_table(tokens: &[server::TokenRecord]) -> String {
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut out = String::from("id\tname\trole\tcreated\trevoked\n");
    for t in tokens {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            t.id,
            // Names from before schema 8 were not checked: shown safely all the same.
            modq::sanitize::clean_line(&t.name),
            t.role.as_str(),
            time(t.created_at),
            t.revoked_at.map_or_else(|| "-".to_string(), time),
        ));
    }
    out
}
