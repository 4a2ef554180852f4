//! Finding the third-party programs some suites need (the Spin CLI, sqld, LazyFS, ...).

use std::path::PathBuf;

/// The program the environment variable `variable` names, else `name` on `PATH`; `None` when
/// there is neither (the caller says what it skips). A variable that names no file is a
/// mistake, not a reason to skip: it panics.
pub fn find_tool(variable: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{variable}={} is not a file",
            path.display()
        );
        return Some(path);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
