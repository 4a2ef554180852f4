//! Finding the third-party programs some suites need (the Spin CLIs, sqld, LazyFS, ...).

use std::path::PathBuf;

/// Names the variables of the tools that must be found, comma-separated: CI sets it for every
/// tool it provides, so that a test which cannot find one fails instead of skipping.
pub const REQUIRED_TOOLS: &str = "REQUIRED_TOOLS";

/// The program the environment variable `variable` names, else `name` on `PATH`; `None` when
/// there is neither (the caller says what it skips). A variable that names no file is a
/// mistake, not a reason to skip: it panics, and so does a missing tool that
/// [`REQUIRED_TOOLS`] lists.
pub fn find_tool(variable: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{variable}={} is not a file", path.display());
        return Some(path);
    }
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    assert!(
        found.is_some() || !required(variable),
        "{REQUIRED_TOOLS} lists {variable}, but it is not set and there is no `{name}` on PATH"
    );
    found
}

/// Whether [`REQUIRED_TOOLS`] lists `variable`.
pub fn required(variable: &str) -> bool {
    std::env::var(REQUIRED_TOOLS)
        .unwrap_or_default()
        .split(',')
        .any(|listed| listed.trim() == variable)
}
