//! A real PostgreSQL server for the sink tests: Debian's `postgresql` package's binaries (found with `pg_config
//! --bindir`, else under /usr/lib/postgresql/*/bin), a cluster made by `initdb` in a temporary directory, served on
//! a free loopback port with trust authentication, stopped (immediate mode) when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The message when the server binaries are missing.
const INSTALL: &str = "the PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found: install \
    Debian's package with `apt-get install postgresql` (scripts/setup.sh does)";

/// A running server; stopped when dropped.
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// `Some`: the server runs as this system user (`runuser -u <user> --`).
    user: Option<&'static str>,
    _dir: tempfile::TempDir,
}

/// The directory of `initdb` and `pg_ctl`, if the server package is installed.
fn bin_dir() -> Option<PathBuf> {
    let from_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut candidates: Vec<PathBuf> = from_config.into_iter().collect();
    // pg_config may come from libpq-dev alone; the server's own directories, newest version first.
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    versions.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(Path::file_name)
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    candidates.extend(versions);
    candidates.into_iter().find(|dir| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).exists())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Whether this process runs as root.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    /// Makes a cluster in a temporary directory and starts it on a free loopback port.
    pub fn start() -> Postgres {
        let bin = bin_dir().unwrap_or_else(|| panic!("{INSTALL}"));
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        // initdb and the server refuse to run as root: as root, run them as the package's `postgres` user, which
        // then owns the directory.
        let user = is_root().then_some("postgres");
        if let Some(user) = user {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:{user}")])
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(status.success(), "chown of the cluster directory to {user}");
        }
        let server = Postgres {
            bin,
            data,
            port: free_port(),
            user,
            _dir: dir,
        };
        server.run(
            "initdb",
            &[
                "-D",
                server.path(&server.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={}",
            server.port,
            server._dir.path().display()
        );
        let log = server._dir.path().join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D",
                server.path(&server.data),
                "-l",
                server.path(&log),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        server
    }

    fn path<'a>(&self, p: &'a Path) -> &'a str {
        p.to_str().expect("utf-8 temp path")
    }

    /// Runs one of the server's programs (as the server's user), panicking with its output on failure.
    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut command = match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name`; returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let mut admin = self.client("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create database");
        self.url(name)
    }

    /// A client of database `name`.
    pub fn client(&self, name: &str) -> ::postgres::Client {
        ::postgres::Client::connect(&self.url(name), ::postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url(name)))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let exe = self.bin.join("pg_ctl");
        let mut command = match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
