//! HAProxy in front of a cluster's hosts, configured as the repository ships it
//! (`deploy/haproxy.cfg`): round robin, health checks on Spin's health path, and a connection a
//! host refuses retried on another.

use crate::paths::repo_root;
use crate::process::Daemon;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The header the balancer adds to every answer: the host (`127.0.0.1:<port>`) that gave it.
pub const SERVED_BY: &str = "x-served-by";

/// The HAProxy named by `HAPROXY`, else `haproxy` on PATH; else why there is none.
pub fn balancer_program() -> Result<PathBuf, &'static str> {
    crate::find_tool("HAPROXY", "haproxy").ok_or(
        "no HAProxy (set HAPROXY to one or put `haproxy` on PATH; `apt-get install haproxy`)",
    )
}

/// A running HAProxy; killed when dropped.
pub struct Balancer {
    /// Where clients reach the hosts, e.g. `http://127.0.0.1:40000`.
    pub url: String,
    daemon: Daemon,
}

impl Balancer {
    /// Starts `program` on `port` in front of `hosts` (their URLs), its configuration and log
    /// in `dir`; waits until it listens.
    pub fn start(program: &Path, dir: &Path, port: u16, hosts: &[&str]) -> Balancer {
        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, configuration(port, hosts)).expect("write haproxy.cfg");
        // `-db`: in the foreground, its log on stderr.
        let daemon = Daemon::spawn(
            Command::new(program).arg("-db").arg("-f").arg(&config),
            "HAProxy",
            &dir.join("haproxy.log"),
        )
        .listening_on(port);
        Balancer {
            url: format!("http://127.0.0.1:{port}"),
            daemon,
        }
    }

    /// Everything it logged so far: a line per request, and each host it finds down or up.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// The repository's `deploy/haproxy.cfg`, listening on `port` in front of `hosts`: its
/// `bind` address and its `server` lines (one per host, named by its address, what
/// [`SERVED_BY`] says) replaced.
fn configuration(port: u16, hosts: &[&str]) -> String {
    let path = repo_root().join("deploy/haproxy.cfg");
    let shipped =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        shipped.contains(&format!("set-header {SERVED_BY} %[srv_name]")),
        "{} no longer says which host answered in {SERVED_BY}",
        path.display()
    );
    let mut config = String::new();
    for line in shipped.lines() {
        match line.trim_start() {
            bind if bind.starts_with("bind ") => {
                config.push_str(&format!("    bind 127.0.0.1:{port}\n"));
            }
            server if server.starts_with("server ") => {}
            _ => config.push_str(&format!("{line}\n")),
        }
    }
    for url in hosts {
        let address = url.trim_start_matches("http://");
        config.push_str(&format!("    server {address} {address}\n"));
    }
    config
}
