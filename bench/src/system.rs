//! The systems a run can measure. Their order here is the order of every table.

use serde::{Deserialize, Serialize};
use testkit::Flavour;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// The app on this repository's host, `fn-host up`, databases in local files.
    FnHost,
    /// The same serving the app's wasi:http 0.2 build (`spin.wasip2.toml`).
    FnHostP2,
    /// The same with `--sqlite-durability process`: a write is acknowledged before it is
    /// synced (it survives a crash of the host, not of the machine).
    FnHostProcess,
    /// Another fn-host binary (`--baseline-fn-host`), e.g. the code before a change.
    Baseline,
    /// The same with a fresh instance for every request (`--max-instance-reuse-count 1`).
    #[serde(rename = "fn-host-reuse1")]
    FnHostReuse1,
    /// One fn-host with both databases on sqld (one per database), behind HAProxy.
    FnHostLibsql,
    /// Two fn-host processes over the same sqld servers, behind HAProxy.
    FnHostLibsqlBalanced,
    /// The same components and runtime config on the Spin CLI, `spin up` with its defaults.
    Spin,
    /// The same serving the wasi:http 0.2 build.
    SpinP2,
    /// The Spin 3 CLI (`SPIN3`), SpinKube's runtime, which serves only the wasi:http 0.2 build.
    Spin3,
    /// wasmtime's own `wasmtime serve`, serving the trivial component: the engine's floor.
    WasmtimeServe,
    /// The seed's own Python/Tornado stack (`<anchors>/tornado`).
    Tornado,
    /// A native axum build of the same three-service design (`<anchors>/native-axum`).
    Native,
}

impl System {
    /// Every system, in display order.
    pub const ALL: [System; 13] = [
        System::FnHost,
        System::FnHostP2,
        System::FnHostProcess,
        System::Baseline,
        System::FnHostReuse1,
        System::FnHostLibsql,
        System::FnHostLibsqlBalanced,
        System::Spin,
        System::SpinP2,
        System::Spin3,
        System::WasmtimeServe,
        System::Tornado,
        System::Native,
    ];

    /// The durability comparison: the durable default, the weaker mode, the code before.
    pub const DURABILITY: [System; 3] = [System::FnHost, System::FnHostProcess, System::Baseline];

    /// The shapes of a deployment: one host on local files, one on libSQL, two on libSQL.
    pub const SHAPES: [System; 3] =
        [System::FnHost, System::FnHostLibsql, System::FnHostLibsqlBalanced];

    /// What each wasi:http flavour costs, on fn-host and on the Spin CLIs.
    pub const FLAVOURS: [System; 5] =
        [System::FnHost, System::FnHostP2, System::Spin, System::SpinP2, System::Spin3];

    /// The other stacks fn-host is measured against.
    pub const REFERENCES: [System; 4] =
        [System::Spin, System::WasmtimeServe, System::Tornado, System::Native];

    /// As the JSON, `--systems` and file names spell it.
    pub fn id(self) -> &'static str {
        self.names().0
    }

    /// As the tables show it (the baseline shows the label it was given).
    pub fn label(self) -> &'static str {
        self.names().1
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            System::FnHost => ("fn-host", "fn-host"),
            System::FnHostP2 => ("fn-host-p2", "fn-host, wasi:http 0.2"),
            System::FnHostProcess => ("fn-host-process", "fn-host, durability process"),
            System::Baseline => ("baseline", "fn-host baseline"),
            System::FnHostReuse1 => ("fn-host-reuse1", "fn-host (reuse 1)"),
            System::FnHostLibsql => ("fn-host-libsql", "fn-host on libSQL + HAProxy"),
            System::FnHostLibsqlBalanced => {
                ("fn-host-libsql-balanced", "2 × fn-host on libSQL + HAProxy")
            }
            System::Spin => ("spin", "Spin"),
            System::SpinP2 => ("spin-p2", "Spin, wasi:http 0.2"),
            System::Spin3 => ("spin3", "Spin 3.6, wasi:http 0.2"),
            System::WasmtimeServe => ("wasmtime-serve", "wasmtime serve"),
            System::Tornado => ("tornado", "Tornado"),
            System::Native => ("native", "native axum"),
        }
    }

    /// The `fn-host up` arguments of this configuration (before the run's `--host-arg`s).
    pub fn fn_host_args(self) -> &'static [&'static str] {
        match self {
            System::FnHostProcess => &["--sqlite-durability", "process"],
            System::FnHostReuse1 => &["--max-instance-reuse-count", "1"],
            _ => &[],
        }
    }

    /// The build of the app it serves (the baseline may be given a manifest of its own).
    pub fn flavour(self) -> Flavour {
        let p2 = matches!(self, System::FnHostP2 | System::SpinP2 | System::Spin3);
        if p2 { Flavour::P2 } else { Flavour::P3 }
    }

    /// Whether it serves the app (wasmtime serve serves only the trivial component).
    pub fn serves_app(self) -> bool {
        self != System::WasmtimeServe
    }

    /// Whether the trivial component is measured on it: the host configurations that differ
    /// in how instances are made, and wasmtime serve beside them.
    pub fn has_floor(self) -> bool {
        matches!(self, System::FnHost | System::FnHostReuse1 | System::WasmtimeServe)
    }

    /// Whether memory is measured again `--settle` after each load (what a host gives back),
    /// a cost of each flavour too.
    pub fn tracks_memory_after_load(self) -> bool {
        System::FLAVOURS.contains(&self)
    }

    pub fn is_reference(self) -> bool {
        System::REFERENCES.contains(&self)
    }

    /// The systems a `--systems` list of ids and groups names, in display order, each once.
    pub fn parse_list(text: &str) -> Result<Vec<System>, String> {
        let mut systems = Vec::new();
        for name in text.split(',').map(|name| name.trim().to_ascii_lowercase()) {
            match name.as_str() {
                "" => {}
                "all" => systems.extend(System::ALL),
                "durability" => systems.extend(System::DURABILITY),
                "shapes" => systems.extend(System::SHAPES),
                "flavours" => systems.extend(System::FLAVOURS),
                "references" => systems.extend(System::REFERENCES),
                id => systems.push(
                    System::ALL.into_iter().find(|system| system.id() == id).ok_or_else(|| {
                        let ids: Vec<&str> = System::ALL.iter().map(|s| s.id()).collect();
                        format!(
                            "unknown system {id:?} (known: {}; groups: all, durability, \
                                 shapes, flavours, references)",
                            ids.join(", ")
                        )
                    })?,
                ),
            }
        }
        systems.sort();
        systems.dedup();
        Ok(systems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_and_lists() -> serde_json::Result<()> {
        for system in System::ALL {
            assert_eq!(serde_json::to_value(system)?, system.id(), "as the JSON spells it");
        }
        assert!(System::ALL.is_sorted(), "display order is the declared order");
        let listed = System::parse_list("native, Spin,fn-host,durability");
        let durability = [System::FnHost, System::FnHostProcess, System::Baseline];
        assert_eq!(listed, Ok([&durability[..], &[System::Spin, System::Native]].concat()));
        assert!(System::parse_list("fn-host,axum").is_err_and(|e| e.contains("\"axum\"")));
        assert_eq!(System::parse_list("spin3,flavours"), Ok(System::FLAVOURS.to_vec()));
        let p2 = System::ALL.into_iter().filter(|system| system.flavour() == Flavour::P2);
        assert_eq!(p2.collect::<Vec<_>>(), [System::FnHostP2, System::SpinP2, System::Spin3]);
        Ok(())
    }
}
