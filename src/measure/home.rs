//! The user's home directory, for the docker config and the cache.

use std::path::PathBuf;

/// The home directory as the docker CLI finds it (Go's `os.UserHomeDir`):
/// `HOME`; on Windows `USERPROFILE` (what docker.exe reads), else `HOME`.
pub fn home_dir(env: &dyn Fn(&str) -> Option<String>, windows: bool) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if windows {
        set("USERPROFILE").or_else(|| set("HOME"))
    } else {
        set("HOME")
    }
}
