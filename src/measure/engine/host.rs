//! Where the engine is, found as the docker CLI finds it: `DOCKER_HOST`
//! (an empty one is unset, as docker treats it), else the context that
//! `DOCKER_CONTEXT` or the docker config's `currentContext` names (Docker
//! Desktop, colima and rootless docker set one), else podman's
//! `CONTAINER_HOST`, else the default socket (on Windows, the default named
//! pipe).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::measure::home::home_dir;

#[cfg(not(windows))]
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// Docker Desktop's and dockerd's pipe when no context names another.
#[cfg(windows)]
pub const DEFAULT_HOST: &str = "npipe:////./pipe/docker_engine";
const DEFAULT_FROM: &str = if cfg!(windows) {
    "the default named pipe"
} else {
    "the default socket"
};

/// The engine's address and what named it, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineHost {
    pub host: String,
    /// `DOCKER_HOST`, `docker context \`colima\``, `CONTAINER_HOST`, or
    /// `the default socket` (`the default named pipe` on Windows).
    pub from: String,
}

/// The docker config directory: `DOCKER_CONFIG`, else `~/.docker`.
fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    set("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| home_dir(env, cfg!(windows)).map(|h| h.join(".docker")))
}

/// Finds the engine; the error says which setting names something unusable.
pub fn find(env: &dyn Fn(&str) -> Option<String>) -> Result<EngineHost, String> {
    let set = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(host) = set("DOCKER_HOST") {
        return Ok(EngineHost {
            host,
            from: "DOCKER_HOST".into(),
        });
    }
    let dir = config_dir(env);
    let (context, named_by) = match set("DOCKER_CONTEXT") {
        Some(c) => (Some(c), "DOCKER_CONTEXT"),
        None => (
            dir.as_deref().and_then(current_context),
            "`currentContext` in the docker config",
        ),
    };
    if let Some(name) = context.filter(|c| c != "default") {
        let Some(dir) = dir else {
            return Err(format!(
                "{named_by} names the docker context `{name}`, but there is no docker config directory (set DOCKER_CONFIG or {})",
                if cfg!(windows) { "USERPROFILE" } else { "HOME" }
            ));
        };
        return context_host(&dir, &name)
            .map(|host| EngineHost {
                host,
                from: format!("docker context `{name}`"),
            })
            .map_err(|why| format!("{named_by} names the docker context `{name}`: {why}\n  hint: list them with `docker context ls`, or set DOCKER_HOST"));
    }
    if let Some(host) = set("CONTAINER_HOST") {
        return Ok(EngineHost {
            host,
            from: "CONTAINER_HOST".into(),
        });
    }
    Ok(EngineHost {
        host: DEFAULT_HOST.into(),
        from: DEFAULT_FROM.into(),
    })
}

fn current_context(dir: &Path) -> Option<String> {
    let text = std::fs::read(dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_slice(&text).ok()?;
    config["currentContext"]
        .as_str()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// A context's docker endpoint, from `contexts/meta/<sha256 of its name>/meta.json`.
fn context_host(dir: &Path, name: &str) -> Result<String, String> {
    let hex: String = Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = dir
        .join("contexts")
        .join("meta")
        .join(hex)
        .join("meta.json");
    let text = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let meta: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    meta["Endpoints"]["docker"]["Host"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .ok_or_else(|| format!("{} has no docker endpoint", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn context(dir: &Path, name: &str, host: &str) {
        let hex: String = Sha256::digest(name.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta = dir.join("contexts/meta").join(hex);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            serde_json::json!({"Name": name, "Metadata": {},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}})
            .to_string(),
        )
        .unwrap();
    }

    #[test]
    fn docker_host_wins_and_an_empty_one_is_unset() {
        let found = find(&env_of(vec![
            ("DOCKER_HOST", "tcp://10.0.0.2:2375".into()),
            ("CONTAINER_HOST", "unix:///run/podman/podman.sock".into()),
        ]))
        .unwrap();
        assert_eq!(found.host, "tcp://10.0.0.2:2375");
        assert_eq!(found.from, "DOCKER_HOST");
        let found = find(&env_of(vec![("DOCKER_HOST", String::new())])).unwrap();
        assert_eq!(found.host, DEFAULT_HOST);
    }

    #[test]
    fn contexts_from_the_variable_or_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        context(
            dir.path(),
            "colima",
            "unix:///home/me/.colima/default/docker.sock",
        );
        context(dir.path(), "remote", "tcp://build:2376");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths": {}, "currentContext": "colima"}"#,
        )
        .unwrap();
        let found = find(&env_of(vec![("DOCKER_CONFIG", d.clone())])).unwrap();
        assert_eq!(found.host, "unix:///home/me/.colima/default/docker.sock");
        assert_eq!(found.from, "docker context `colima`");
        let found = find(&env_of(vec![
            ("DOCKER_CONFIG", d.clone()),
            ("DOCKER_CONTEXT", "remote".into()),
        ]))
        .unwrap();
        assert_eq!(found.host, "tcp://build:2376");
        // `default` is the default socket (or podman's, when it names one).
        let found = find(&env_of(vec![
            ("DOCKER_CONFIG", d.clone()),
            ("DOCKER_CONTEXT", "default".into()),
            ("CONTAINER_HOST", "unix:///run/podman/podman.sock".into()),
        ]))
        .unwrap();
        assert_eq!(found.host, "unix:///run/podman/podman.sock");
        assert_eq!(found.from, "CONTAINER_HOST");
        let err = find(&env_of(vec![
            ("DOCKER_CONFIG", d),
            ("DOCKER_CONTEXT", "gone".into()),
        ]))
        .unwrap_err();
        assert!(
            err.starts_with("DOCKER_CONTEXT names the docker context `gone`"),
            "{err}"
        );
        assert!(err.contains("docker context ls"), "{err}");
    }

    #[test]
    fn home_holds_the_config_when_docker_config_is_unset() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".docker");
        context(
            &dir,
            "desktop-linux",
            "unix:///home/me/.docker/desktop/docker.sock",
        );
        std::fs::write(
            dir.join("config.json"),
            r#"{"currentContext":"desktop-linux"}"#,
        )
        .unwrap();
        let found = find(&env_of(vec![("HOME", home.path().display().to_string())])).unwrap();
        assert_eq!(found.host, "unix:///home/me/.docker/desktop/docker.sock");
        assert_eq!(find(&env_of(vec![])).unwrap().host, DEFAULT_HOST);
    }

    #[test]
    fn windows_finds_the_home_in_userprofile_else_home() {
        let both = env_of(vec![
            ("USERPROFILE", r"C:\Users\me".into()),
            ("HOME", "/c/Users/git".into()),
        ]);
        assert_eq!(home_dir(&both, true), Some(PathBuf::from(r"C:\Users\me")));
        assert_eq!(home_dir(&both, false), Some(PathBuf::from("/c/Users/git")));
        let profile = env_of(vec![("USERPROFILE", r"C:\Users\me".into())]);
        assert_eq!(home_dir(&profile, false), None);
        let empty_profile = env_of(vec![
            ("USERPROFILE", String::new()),
            ("HOME", "/c/Users/git".into()),
        ]);
        assert_eq!(
            home_dir(&empty_profile, true),
            Some(PathBuf::from("/c/Users/git"))
        );
        assert_eq!(home_dir(&env_of(vec![]), true), None);
    }

    #[test]
    fn docker_desktop_on_windows_names_a_pipe_that_is_passed_on() {
        let dir = tempfile::tempdir().unwrap();
        context(
            dir.path(),
            "desktop-linux",
            "npipe:////./pipe/dockerDesktopLinuxEngine",
        );
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"desktop-linux"}"#,
        )
        .unwrap();
        let found = find(&env_of(vec![(
            "DOCKER_CONFIG",
            dir.path().display().to_string(),
        )]))
        .unwrap();
        assert_eq!(found.host, "npipe:////./pipe/dockerDesktopLinuxEngine");
        assert_eq!(found.from, "docker context `desktop-linux`");
        let default = find(&env_of(vec![])).unwrap();
        if cfg!(windows) {
            assert_eq!(default.host, "npipe:////./pipe/docker_engine");
            assert_eq!(default.from, "the default named pipe");
        } else {
            assert_eq!(default.host, "unix:///var/run/docker.sock");
            assert_eq!(default.from, "the default socket");
        }
    }
}
