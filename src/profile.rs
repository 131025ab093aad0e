//! Where modq keeps things on the moderator's machine, and under which profile.
//!
//! A profile is one (backend, API, user) triple, named when it comes from the config file's
//! `[profile.NAME]`: each gets its own cache database, so two accounts, two servers, two
//! platforms or two config profiles never share an outbox. Folders are created 0700 and files 0600, because a bastion
//! host is shared.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use directories::ProjectDirs;
use sha2::{Digest, Sha256};

use crate::backend::BackendKind;
use crate::sanitize::clean_short;

/// A profile's name on screen is cut to this many characters.
const MAX_DISPLAY_CHARS: usize = 120;

/// The folders modq uses; every one can be overridden (tests, operators, the demo).
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Session caches, one database per profile.
    pub data: PathBuf,
    /// Log files.
    pub state: PathBuf,
    /// `config.toml` (keymap, theme) lives here.
    pub config: PathBuf,
}

impl Dirs {
    /// The XDG locations, or everything under `data_override` when given.
    pub fn resolve(data_override: Option<&Path>) -> io::Result<Dirs> {
        if let Some(root) = data_override {
            return Ok(Dirs {
                data: root.to_path_buf(),
                state: root.join("log"),
                config: root.join("config"),
            });
        }
        let project = ProjectDirs::from("", "", "modq").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no home folder found to keep modq's data in (set HOME or pass --data-dir)",
            )
        })?;
        Ok(Dirs {
            data: project.data_dir().to_path_buf(),
            state: project
                .state_dir()
                .unwrap_or_else(|| project.cache_dir())
                .to_path_buf(),
            config: project.config_dir().to_path_buf(),
        })
    }

    /// The cache database of one profile.
    pub fn profile_db(&self, profile: &Profile) -> PathBuf {
        self.data
            .join("profiles")
            .join(format!("{}.sqlite", profile.slug()))
    }

    /// Every profile's cache database on this machine.
    pub fn profile_dbs(&self) -> io::Result<Vec<PathBuf>> {
        let dir = self.data.join("profiles");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut dbs = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "sqlite") {
                dbs.push(path);
            }
        }
        dbs.sort();
        Ok(dbs)
    }

    pub fn log_file(&self) -> PathBuf {
        self.state.join("modq.log")
    }
}

/// One account on one API of one platform, named when a config profile chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub backend: BackendKind,
    /// The config file's profile name (`--profile NAME`); `None` for `--api`.
    pub name: Option<String>,
    pub api: String,
    pub user: String,
}

impl Profile {
    /// The profile of `--api` on modq's own API, as every cache before config profiles was.
    pub fn modq(api: &str, user: &str) -> Profile {
        Profile {
            backend: BackendKind::Modq,
            name: None,
            api: api.trim_end_matches('/').to_string(),
            user: user.to_string(),
        }
    }

    /// Shown in the status bar: `alice@127.0.0.1:8080`, after the config profile's name when
    /// there is one (`work: alice@…`). The user name is the server's word, so it is cleaned
    /// like any untrusted text.
    pub fn display(&self) -> String {
        let host = self
            .api
            .split("://")
            .nth(1)
            .unwrap_or(&self.api)
            .trim_end_matches('/');
        let named = match &self.name {
            Some(name) => format!("{name}: {}@{host}", self.user),
            None => format!("{}@{host}", self.user),
        };
        clean_short(&named, MAX_DISPLAY_CHARS)
    }

    /// A file name: readable, and unique thanks to a hash of everything that tells profiles
    /// apart. A modq profile without a config name hashes (API, user) alone, as before there
    /// were other backends, so the caches (and unsent outboxes) of earlier versions are found.
    pub fn slug(&self) -> String {
        let readable: String = self
            .display()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(60)
            .collect();
        let key = match (self.backend, &self.name) {
            (BackendKind::Modq, None) => format!("{}\n{}", self.api, self.user),
            (backend, name) => format!(
                "{}\n{}\n{}\n{}",
                backend.as_str(),
                name.as_deref().unwrap_or(""),
                self.api,
                self.user
            ),
        };
        let digest = Sha256::digest(key.as_bytes());
        format!("{readable}-{}", &hex::encode(digest)[..12])
    }
}

/// Create `dir` and its missing parents; `dir` and every parent created here are private to
/// this user (`~/.local/share/modq` as well as its `profiles`).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    fs::create_dir_all(dir)?;
    for created in missing {
        set_mode(created, 0o700)?;
    }
    set_mode(dir, 0o700)
}

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error(
        "{unsent} decisions in {db} have not reached the server yet and would be lost;          send them with `modq sync`, or purge anyway with --force"
    )]
    Unsent { db: String, unsent: usize },
    #[error("cannot purge {path}: {message}")]
    Io { path: String, message: String },
}

/// A cache database and the journal files SQLite keeps beside it.
pub fn profile_files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

/// Deletes the profiles' local state (each database with its -wal and -shm) and answers how
/// many files went. Unless `force`, nothing is deleted while any of them holds decisions the
/// server has not acknowledged.
pub fn purge(dbs: &[PathBuf], force: bool) -> Result<usize, PurgeError> {
    if !force {
        for db in dbs.iter().filter(|db| db.exists()) {
            let io = |e: &dyn std::fmt::Display| PurgeError::Io {
                path: db.display().to_string(),
                message: e.to_string(),
            };
            let unsent = crate::store::Store::open(db)
                .and_then(|store| store.counts())
                .map_err(|e| io(&e))?
                .unsent;
            if unsent > 0 {
                return Err(PurgeError::Unsent {
                    db: db.display().to_string(),
                    unsent,
                });
            }
        }
    }
    let mut removed = 0;
    for file in dbs.iter().flat_map(|db| profile_files(db)) {
        match fs::remove_file(&file) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(PurgeError::Io {
                    path: file.display().to_string(),
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(removed)
}

/// Make sure `path` exists and only this user can read it, before anything is written to it.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        create_private_dir(parent)?;
    }
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    set_mode(path, 0o600)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_differ_by_api_user_and_config_name() {
        let a = Profile::modq("http://127.0.0.1:8080/", "alice");
        let b = Profile {
            user: "bob".into(),
            ..a.clone()
        };
        assert_eq!(a.display(), "alice@127.0.0.1:8080");
        assert_ne!(a.slug(), b.slug());
        assert!(a.slug().starts_with("alice_127_0_0_1_8080-"));
        // The cache of an unnamed modq profile is where earlier versions kept it.
        let digest = Sha256::digest(b"http://127.0.0.1:8080\nalice");
        assert!(
            a.slug().ends_with(&hex::encode(digest)[..12]),
            "{}",
            a.slug()
        );
        // Two config profiles on the same account keep two caches, apart from --api's.
        let work = Profile {
            name: Some("work".into()),
            ..a.clone()
        };
        let other = Profile {
            name: Some("other".into()),
            ..a.clone()
        };
        assert_eq!(work.display(), "work: alice@127.0.0.1:8080");
        let slugs = [a.slug(), work.slug(), other.slug()];
        assert_ne!(slugs[0], slugs[1]);
        assert_ne!(slugs[1], slugs[2]);
        assert_ne!(slugs[0], slugs[2]);
    }

    #[cfg(unix)]
    #[test]
    fn cache_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/c.sqlite");
        create_private_file(&file).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
}
