//! The systems a run can measure. Their order here is the order of every table and chart.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// The app on this repository's host, `fn-host up`, databases in local files.
    FnHost,
    /// The same with `--sqlite-durability process`: a write is acknowledged before it is
    /// synced (it survives a crash of the host, not of the machine).
    FnHostProcess,
    /// Another fn-host binary (`--baseline-fn-host`), e.g. the code before a change.
    Baseline,
    /// The same with a fresh instance for every request (`--max-instance-reuse-count 1`).
    #[serde(rename = "fn-host-reuse1")]
    FnHostReuse1,
    /// One fn-host with both databases on sqld, one sqld per database.
    FnHostLibsql,
    /// Two fn-host processes over the same sqld servers, HAProxy in front.
    FnHostLibsqlBalanced,
    /// The same components and runtime config on the Spin CLI, `spin up` with its defaults.
    Spin,
    /// The seed's own Python/Tornado stack (`<anchors>/tornado`).
    Tornado,
    /// A native axum build of the same three-service design (`<anchors>/native-axum`).
    Native,
}

impl System {
    /// Every system, in display order.
    pub const ALL: [System; 9] = [
        System::FnHost,
        System::FnHostProcess,
        System::Baseline,
        System::FnHostReuse1,
        System::FnHostLibsql,
        System::FnHostLibsqlBalanced,
        System::Spin,
        System::Tornado,
        System::Native,
    ];

    /// What another program serves: each gives every other system a `× <label>` column.
    pub const COMPARED_WITH: [System; 4] = [
        System::Baseline,
        System::Spin,
        System::Tornado,
        System::Native,
    ];

    /// Issue 7's comparison: the durable default, the weaker mode, the code before.
    pub const DURABILITY: [System; 3] = [System::FnHost, System::FnHostProcess, System::Baseline];

    /// Issue 13's shapes: one host on local files, one on libSQL, two on libSQL balanced.
    pub const SHAPES: [System; 3] = [
        System::FnHost,
        System::FnHostLibsql,
        System::FnHostLibsqlBalanced,
    ];

    /// The other stacks fn-host is measured against.
    pub const REFERENCES: [System; 3] = [System::Spin, System::Tornado, System::Native];

    /// As the JSON, `--systems` and file names spell it.
    pub fn id(self) -> &'static str {
        match self {
            System::FnHost => "fn-host",
            System::FnHostProcess => "fn-host-process",
            System::Baseline => "baseline",
            System::FnHostReuse1 => "fn-host-reuse1",
            System::FnHostLibsql => "fn-host-libsql",
            System::FnHostLibsqlBalanced => "fn-host-libsql-balanced",
            System::Spin => "spin",
            System::Tornado => "tornado",
            System::Native => "native",
        }
    }

    /// As tables and the chart show it (the baseline shows the label it was given).
    pub fn label(self) -> &'static str {
        match self {
            System::FnHost => "fn-host",
            System::FnHostProcess => "fn-host, durability process",
            System::Baseline => "fn-host baseline",
            System::FnHostReuse1 => "fn-host (reuse 1)",
            System::FnHostLibsql => "fn-host on libSQL",
            System::FnHostLibsqlBalanced => "2 × fn-host on libSQL + HAProxy",
            System::Spin => "Spin",
            System::Tornado => "Tornado",
            System::Native => "native axum",
        }
    }

    /// The `fn-host up` arguments that make this configuration (the run's `--host-arg`s
    /// come after them).
    pub fn fn_host_args(self) -> &'static [&'static str] {
        match self {
            System::FnHostProcess => &["--sqlite-durability", "process"],
            System::FnHostReuse1 => &["--max-instance-reuse-count", "1"],
            _ => &[],
        }
    }

    /// A configuration of this repository's host whose floor (the trivial component on the
    /// same configuration) is measured: the ones that differ in how instances are made.
    pub fn has_floor(self) -> bool {
        matches!(self, System::FnHost | System::FnHostReuse1)
    }

    /// Memory at start, at the end of each load and after it settles is tracked (issue 10's
    /// bound: what fn-host gives back after load, beside Spin).
    pub fn tracks_memory_after_load(self) -> bool {
        matches!(self, System::FnHost | System::Spin)
    }

    pub fn is_reference(self) -> bool {
        System::REFERENCES.contains(&self)
    }

    /// The systems a `--systems` list names: ids, or the groups `all`, `durability`,
    /// `shapes` and `references`; in display order, each once.
    pub fn parse_list(text: &str) -> Result<Vec<System>, String> {
        let mut systems = Vec::new();
        for name in text.split(',').map(|name| name.trim().to_ascii_lowercase()) {
            match name.as_str() {
                "" => {}
                "all" => systems.extend(System::ALL),
                "durability" => systems.extend(System::DURABILITY),
                "shapes" => systems.extend(System::SHAPES),
                "references" => systems.extend(System::REFERENCES),
                id => systems.push(
                    System::ALL
                        .into_iter()
                        .find(|system| system.id() == id)
                        .ok_or_else(|| {
                            let ids: Vec<&str> = System::ALL.iter().map(|s| s.id()).collect();
                            format!(
                                "unknown system {id:?} (known: {}; groups: all, durability, \
                                 shapes, references)",
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
    fn ids_are_what_the_json_says() {
        for system in System::ALL {
            let json = serde_json::to_string(&system).unwrap();
            assert_eq!(json, format!("\"{}\"", system.id()));
        }
    }

    #[test]
    fn lists_of_systems() {
        assert_eq!(
            System::parse_list("native, Spin,fn-host,spin"),
            Ok(vec![System::FnHost, System::Spin, System::Native])
        );
        assert_eq!(
            System::parse_list("baseline,durability"),
            Ok(System::DURABILITY.to_vec())
        );
        assert_eq!(System::parse_list("shapes"), Ok(System::SHAPES.to_vec()));
        assert_eq!(System::parse_list("all"), Ok(System::ALL.to_vec()));
        assert!(
            System::parse_list("fn-host,axum")
                .is_err_and(|error| error.contains("unknown system \"axum\""))
        );
    }

    #[test]
    fn display_order_is_the_declared_order() {
        let mut sorted = System::ALL;
        sorted.sort();
        assert_eq!(sorted, System::ALL);
    }
}
