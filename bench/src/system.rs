//! The systems a run can measure. Their order here is the order of every table and chart.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// The app on this repository's host, `fn-host up`.
    FnHost,
    /// The same with a fresh instance for every request (`--max-instance-reuse-count 1`).
    FnHostReuse1,
    /// The same components and runtime config on the Spin CLI, `spin up` with its defaults.
    Spin,
    /// The seed's own Python/Tornado stack (`<anchors>/tornado`).
    Tornado,
    /// A native axum build of the same three-service design (`<anchors>/native-axum`).
    Native,
}

impl System {
    /// The systems fn-host is compared with, each giving a `× <label>` column.
    pub const REFERENCES: [System; 3] = [System::Spin, System::Tornado, System::Native];

    /// As the JSON and file names spell it.
    pub fn id(self) -> &'static str {
        match self {
            System::FnHost => "fn-host",
            System::FnHostReuse1 => "fn-host-reuse1",
            System::Spin => "spin",
            System::Tornado => "tornado",
            System::Native => "native",
        }
    }

    /// As tables and the chart show it.
    pub fn label(self) -> &'static str {
        match self {
            System::FnHost => "fn-host",
            System::FnHostReuse1 => "fn-host (reuse 1)",
            System::Spin => "Spin",
            System::Tornado => "Tornado",
            System::Native => "native axum",
        }
    }

    /// One of this repository's host configurations (they also run the trivial component).
    pub fn is_fn_host(self) -> bool {
        matches!(self, System::FnHost | System::FnHostReuse1)
    }

    /// A reference named on the command line.
    pub fn reference(name: &str) -> Result<System, String> {
        System::REFERENCES
            .into_iter()
            .find(|system| system.id() == name)
            .ok_or_else(|| format!("unknown reference {name:?} (known: spin, tornado, native)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_what_the_json_says() {
        for system in [
            System::FnHost,
            System::FnHostReuse1,
            System::Spin,
            System::Tornado,
            System::Native,
        ] {
            let json = serde_json::to_string(&system).unwrap();
            assert_eq!(json, format!("\"{}\"", system.id()));
        }
    }

    #[test]
    fn only_the_references_are_references() {
        assert_eq!(System::reference("spin"), Ok(System::Spin));
        assert_eq!(System::reference("native"), Ok(System::Native));
        assert!(System::reference("fn-host").is_err());
        assert!(System::reference("axum").is_err());
    }
}
