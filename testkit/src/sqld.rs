//! sqld, the libSQL server: one database per process, shared by every host pointed at it (what
//! a runtime config's `type = "libsql"` means).

use crate::process::Daemon;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The sqld named by `SQLD`, else `sqld` on PATH; else why there is none.
pub fn sqld_program() -> Result<PathBuf, &'static str> {
    crate::find_tool("SQLD", "sqld").ok_or(
        "no sqld, the libSQL server (set SQLD to one or put `sqld` on PATH; \
         `../shared/tools/sqld/install.sh` unpacks one)",
    )
}

/// A libSQL server on a port of this machine; killed when dropped.
pub struct Sqld {
    /// Its HTTP API, the `url` of a runtime config's `type = "libsql"` database.
    pub url: String,
    /// Held for its `Drop`, which stops the server.
    _daemon: Daemon,
}

impl Sqld {
    /// Starts `program` on `port` with its database in `db_path` (created, or opened again with
    /// its data) and its log beside it; waits until it listens.
    pub fn start(program: &Path, db_path: &Path, port: u16) -> Sqld {
        let log = db_path.with_extension("log");
        let daemon = Daemon::spawn(
            Command::new(program)
                .arg("--db-path")
                .arg(db_path)
                .args(["--http-listen-addr", &format!("127.0.0.1:{port}")]),
            "sqld",
            &log,
        )
        .listening_on(port);
        Sqld {
            url: format!("http://127.0.0.1:{port}"),
            _daemon: daemon,
        }
    }
}
