//! sqld, the libSQL server: one database per process, shared by every host pointed at it (what
//! a runtime config's `type = "libsql"` means).

use crate::process::{Daemon, StartError};
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
    /// Stops the server when dropped.
    daemon: Daemon,
    /// What [`Sqld::restart`] starts again.
    program: PathBuf,
    db_path: PathBuf,
    port: u16,
}

impl Sqld {
    /// Starts `program` on `port` with its database in `db_path` (created, or opened again with
    /// its data) and its log beside it; waits until it listens.
    pub fn start(program: &Path, db_path: &Path, port: u16) -> Sqld {
        Sqld::try_start(program, db_path, port).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Sqld::start`], saying why it could not start instead of panicking.
    pub fn try_start(program: &Path, db_path: &Path, port: u16) -> Result<Sqld, StartError> {
        let daemon = Daemon::start(
            Command::new(program)
                .arg("--db-path")
                .arg(db_path)
                .args(["--http-listen-addr", &format!("127.0.0.1:{port}")]),
            "sqld",
            &db_path.with_extension("log"),
            port,
        )?;
        Ok(Sqld {
            url: format!("http://127.0.0.1:{port}"),
            daemon,
            program: program.to_path_buf(),
            db_path: db_path.to_path_buf(),
            port,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// Kills it without warning (SIGKILL), as a crash or a power cut of its machine would.
    pub fn crash(&mut self) {
        self.daemon.kill();
    }

    /// Starts it again on its data, at the same address, after [`Sqld::crash`].
    pub fn restart(&mut self) {
        *self = Sqld::start(&self.program, &self.db_path, self.port);
    }

    /// Freezes it (SIGSTOP): connections stay open and nothing is answered, as when its
    /// machine stalls.
    pub fn pause(&mut self) {
        self.daemon.signal(libc::SIGSTOP);
    }

    /// Lets it go on after [`Sqld::pause`].
    pub fn resume(&mut self) {
        self.daemon.signal(libc::SIGCONT);
    }

    /// Its process, e.g. to measure its memory.
    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }
}
