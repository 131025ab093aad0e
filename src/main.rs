//! The `modq` command line: thin wiring over the library.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use modq::model::Role;
use modq::profile::Dirs;
use modq::server::{self, SqliteStorage, Storage};
use modq::session::{self, SessionError};

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

    /// File holding the API token (else the MODQ_TOKEN variable is read).
    #[arg(long, value_name = "FILE", global = true)]
    token_file: Option<PathBuf>,

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
    /// The config file (keys, theme, colours, mouse).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
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
struct ServeArgs {
    /// SQLite database file (created if missing).
    #[arg(long, value_name = "PATH")]
    db: PathBuf,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

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
        /// moderator, senior or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Who the token belongs to (recorded as the actor of every decision).
        #[arg(long)]
        name: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not a role: moderator, senior or admin"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Some(Command::Demo) => demo(cli.data_dir.as_deref()).await,
        Some(Command::Config { command }) => config(command, cli.data_dir.as_deref()),
        None => match &cli.api {
            Some(api) => {
                let token =
                    session::read_token(cli.token_file.as_deref()).map_err(|e| e.to_string())?;
                let dirs = dirs(cli.data_dir.as_deref())?;
                review(api, &token, &dirs).await
            }
            None => demo(cli.data_dir.as_deref()).await,
        },
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

async fn review(api: &str, token: &str, dirs: &Dirs) -> Result<ExitCode, String> {
    let outcome = session::review(api, token, dirs)
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
    let result = review(&demo.api.clone(), &demo.token.clone(), &dirs).await;
    demo.stop().await;
    result
}

async fn sync(cli: &Cli) -> Result<ExitCode, String> {
    let api = cli
        .api
        .as_deref()
        .ok_or("modq sync needs --api or MODQ_API")?;
    let token = session::read_token(cli.token_file.as_deref()).map_err(|e| e.to_string())?;
    let dirs = dirs(cli.data_dir.as_deref())?;
    let (backend, _me, profile, db) = session::connect(api, &token, &dirs)
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

async fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    modq::logging::to_stderr();
    let storage = SqliteStorage::open(&args.db)
        .map_err(|e| format!("cannot open the database {}: {e:#}", args.db.display()))?;
    match args.command {
        Some(ServeCommand::Import { file }) => {
            let summary = if file.as_os_str() == "-" {
                server::import_jsonl(&storage, std::io::stdin().lock())
            } else {
                let f = std::fs::File::open(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                server::import_jsonl(&storage, std::io::BufReader::new(f))
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
            let name = name
                .unwrap_or_else(|| format!("{}-{}", role.as_str(), &modq::store::new_key()[..6]));
            let token = server::add_token(&storage, &name, role)
                .map_err(|e| format!("cannot add the token: {e:#}"))?;
            println!("token for {name} ({}):", role.as_str());
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            eprintln!("modq serve: listening on http://{addr}");
            let storage: Arc<dyn Storage> = Arc::new(storage);
            server::serve(listener, storage, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| format!("server stopped: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
