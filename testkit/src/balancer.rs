//! HAProxy in front of a cluster's hosts, configured as the repository ships it
//! (`deploy/haproxy.cfg`): round robin, health checks on Spin's health path, and a connection a
//! host refuses retried on another.

use crate::paths::repo_root;
use crate::process::{Daemon, StartError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's HAProxy configuration, relative to its root.
pub const SHIPPED_CONFIG: &str = "deploy/haproxy.cfg";

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
    /// Starts `program` on `port` in front of `hosts` (their URLs), configured as this
    /// repository ships it, its configuration and log in `dir`; waits until it listens.
    pub fn start(program: &Path, dir: &Path, port: u16, hosts: &[&str]) -> Balancer {
        let shipped = repo_root().join(SHIPPED_CONFIG);
        Balancer::try_start(program, &shipped, dir, port, hosts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Balancer::start`] configured from `shipped` (a repository's [`SHIPPED_CONFIG`]),
    /// saying why it could not start instead of panicking.
    pub fn try_start(
        program: &Path,
        shipped: &Path,
        dir: &Path,
        port: u16,
        hosts: &[&str],
    ) -> Result<Balancer, StartError> {
        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, configuration(shipped, port, hosts)?)
            .map_err(|e| StartError::new(format!("write {}: {e}", config.display())))?;
        // `-db`: in the foreground, its log on stderr.
        let daemon = Daemon::start(
            Command::new(program).arg("-db").arg("-f").arg(&config),
            "HAProxy",
            &dir.join("haproxy.log"),
            port,
        )?;
        Ok(Balancer { url: format!("http://127.0.0.1:{port}"), daemon })
    }

    /// Its process, e.g. to measure its memory.
    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// Everything it logged so far: a line per request, and each host it finds down or up.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// The shipped configuration at `path`, listening on `port` in front of `hosts`: its `bind`
/// address and its `server` lines (one per host, named by its address, what [`SERVED_BY`]
/// says) replaced.
fn configuration(path: &Path, port: u16, hosts: &[&str]) -> Result<String, StartError> {
    let shipped = std::fs::read_to_string(path)
        .map_err(|e| StartError::new(format!("read {}: {e}", path.display())))?;
    if !shipped.contains(&format!("set-header {SERVED_BY} %[srv_name]")) {
        return Err(StartError::new(format!(
            "{} no longer says which host answered in {SERVED_BY}",
            path.display()
        )));
    }
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
    Ok(config)
}
