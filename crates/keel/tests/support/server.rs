//! The real `keel serve` binary as a child process (for several processes on one database, a
//! database that goes away, a data directory that fills up), the `keel` command line, and a
//! private PostgreSQL server that a test may stop and start.
#![allow(dead_code)]

use reqwest::Client;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The administrator the servers of these tests start with.
pub const ADMIN_EMAIL: &str = "admin@keel.test";
/// Their password.
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

/// Where the server keeps its data: `--data-dir` for a `sqlite:` URL (the file's directory),
/// `--database-url` otherwise.
pub fn store_args(url: &str) -> Vec<String> {
    match url.strip_prefix("sqlite:") {
        Some(path) => {
            let dir = Path::new(path).parent().expect("data dir");
            vec!["--data-dir".into(), dir.display().to_string()]
        }
        None => vec!["--database-url".into(), url.to_string()],
    }
}

/// Runs the `keel` command line on the database `url` with `args` and extra environment.
pub fn cli(url: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(store_args(url))
        .args(args)
        .envs(envs.iter().copied())
        .env_remove("DATABASE_URL")
        .env_remove("KEEL_CONFIG")
        .output()
        .expect("run keel")
}

/// A new API token of `email`, made with `keel token create`.
pub fn token(url: &str, email: &str) -> String {
    let out = cli(url, &["token", "create", "--email", email, "--name", "tests"], &[]);
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.split_whitespace()
        .find(|w| w.starts_with("keel_"))
        .unwrap_or_else(|| panic!("no token in: {text}"))
        .to_string()
}

/// A running `keel serve`; killed and reaped when dropped, so a failing test leaves none behind.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `keel serve` on `url` (with the administrator above and `envs`) and waits until
    /// `/readyz` answers 200.
    pub async fn start(url: &str, envs: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(store_args(url))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("KEEL_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("KEEL_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("KEEL_LOG", "warn")
            .envs(envs.iter().copied())
            .env_remove("DATABASE_URL")
            .env_remove("KEEL_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start keel serve");
        let log = Arc::new(Mutex::new(String::new()));
        let (sink, stderr) = (log.clone(), child.stderr.take().expect("stderr"));
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap_or_else(|p| p.into_inner());
                l.push_str(&line);
                l.push('\n');
            }
        });
        let server = Server { child, base: format!("http://127.0.0.1:{port}"), log };
        let deadline = Instant::now() + Duration::from_secs(60);
        let c = Client::new();
        loop {
            if let Ok(r) = c.get(server.url("/readyz")).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "keel serve did not become ready:\n{}", server.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server wrote to its standard error so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Panics if the server panicked or exited.
    pub fn assert_alive_without_panic(&mut self) {
        let log = self.log();
        assert!(!log.contains("panicked"), "the server panicked:\n{log}");
        assert!(self.child.try_wait().expect("try_wait").is_none(), "the server exited:\n{log}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process runs as root (PostgreSQL refuses to run as root; mounts need it).
pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL server of the test's own (`initdb` and `pg_ctl` on a temporary directory and a
/// free port), so a test may stop it without touching anybody else's database. Stopped and
/// removed when dropped.
pub struct PrivatePg {
    dir: PathBuf,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl PrivatePg {
    /// Creates and starts one; `None` (after reporting the skip) when the PostgreSQL server
    /// binaries are not installed.
    pub fn start() -> Option<PrivatePg> {
        let bin = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
            let mut v: Vec<PathBuf> = d
                .filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .filter(|b| b.join("initdb").exists())
                .collect();
            v.sort();
            v.pop()
        });
        let Some(bin) = bin else {
            keel_testkit::skip("private PostgreSQL: no initdb under /usr/lib/postgresql/*/bin");
            return None;
        };
        let n =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("keel_pg_{}_{}", std::process::id(), n % 1_000_000_000));
        std::fs::create_dir_all(&dir).expect("pg dir");
        if is_root() {
            let ok = Command::new("chown").arg("postgres:").arg(&dir).status().is_ok_and(|s| s.success());
            assert!(ok, "chown of the private PostgreSQL directory to postgres");
        }
        let pg = PrivatePg { dir, bin, port: free_port() };
        let data = pg.dir.join("data");
        let out = pg.run(
            "initdb",
            &["-D", &data.display().to_string(), "-U", "postgres", "--auth=trust", "--no-sync"],
        );
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        pg.up();
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(&self.dir).stdin(Stdio::null()).output().expect("run a PostgreSQL tool")
    }

    /// The server's URL for database `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.display()
        );
        let data = self.dir.join("data").display().to_string();
        let log = self.dir.join("log").display().to_string();
        let out = self.run("pg_ctl", &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server: `fast` ends the sessions and shuts down cleanly.
    pub fn down(&self) {
        let data = self.dir.join("data").display().to_string();
        let out = self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A small tmpfs mounted on a fresh directory (root only), for a data directory that fills up
/// or turns read-only; unmounted and removed when dropped.
pub struct SmallFs {
    /// The mount point.
    pub dir: PathBuf,
}

impl SmallFs {
    /// Mounts `size` (e.g. `"4m"`); `None` when this process may not mount.
    pub fn mount(size: &str) -> Option<SmallFs> {
        let n =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("keel_fs_{}_{}", std::process::id(), n % 1_000_000_000));
        std::fs::create_dir_all(&dir).ok()?;
        let ok = is_root()
            && Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
                .arg(&dir)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if ok {
            Some(SmallFs { dir })
        } else {
            let _ = std::fs::remove_dir(&dir);
            None
        }
    }

    /// Remounts read-only (`true`) or read-write.
    pub fn set_read_only(&self, ro: bool) {
        let opt = if ro { "remount,ro" } else { "remount,rw" };
        let ok = Command::new("mount").args(["-o", opt]).arg(&self.dir).status().is_ok_and(|s| s.success());
        assert!(ok, "mount -o {opt}");
    }

    /// Grows or shrinks the filesystem.
    pub fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount -o remount,size={size}");
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
