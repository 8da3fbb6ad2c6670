//! Registry credentials the way the docker CLI keeps them: `config.json` in
//! `$DOCKER_CONFIG` or `~/.docker`, with its `auths` (base64 `auth`, or
//! `username` and `password`), `credHelpers` and `credsStore` (programs named
//! `docker-credential-NAME`).
//!
//! What was tried is kept as a [`Source`], so that a refused request can say
//! where its credentials came from; the secret itself is never shown.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The key Docker Hub's credentials are stored under.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Why the docker config could not be used. Only a broken config is an error:
/// no config means anonymous, and a credential helper that fails is noted on
/// the [`Source`] and the request goes on anonymously.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot read the docker config `{path}`: {reason}\n  hint: fix its permissions, or point DOCKER_CONFIG at another directory"
    )]
    Read { path: String, reason: String },
    #[error(
        "the docker config `{path}` is not valid JSON: {reason}\n  hint: fix it, or remove it and run `docker login` again"
    )]
    Invalid { path: String, reason: String },
    #[error(
        "the credentials for `{registry}` in `{path}` cannot be used: {reason}\n  hint: run `docker login {registry}` again"
    )]
    Unusable {
        registry: String,
        path: String,
        reason: String,
    },
}

/// Where credentials came from, as a person would look for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// No credentials: no config, or nothing in it for this registry.
    Anonymous,
    /// An `auths` entry of config.json for `registry`.
    Auths { registry: String },
    /// A `credHelpers` or `credsStore` program, `docker-credential-NAME`.
    Helper { program: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Anonymous => f.write_str("anonymous"),
            Source::Auths { registry } => write!(f, "config.json auths for {registry}"),
            Source::Helper { program } => write!(f, "credential helper {program}"),
        }
    }
}

/// Credentials for one registry. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    basic: Option<(String, String)>,
    /// Where they came from (or where they were looked for).
    pub source: Source,
    /// Why configured credentials are not used: a helper that failed, an
    /// identity token. The request then goes on anonymously.
    pub note: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.basic.as_ref().map(|(u, _)| u))
            .field("password", &self.basic.as_ref().map(|_| "<redacted>"))
            .field("source", &self.source)
            .field("note", &self.note)
            .finish()
    }
}

impl Credentials {
    pub fn anonymous() -> Credentials {
        Credentials {
            basic: None,
            source: Source::Anonymous,
            note: None,
        }
    }

    pub fn basic(username: &str, password: &str, source: Source) -> Credentials {
        Credentials {
            basic: Some((username.to_string(), password.to_string())),
            source,
            note: None,
        }
    }

    /// Username and password, when there are any.
    pub fn username_password(&self) -> Option<(&str, &str)> {
        self.basic.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The source with its note, for messages: `anonymous`,
    /// `config.json auths for HOST`, `credential helper docker-credential-X
    /// (it failed: ...; so tried anonymously)`.
    pub fn describe(&self) -> String {
        match &self.note {
            Some(note) => format!("{} ({note}; so tried anonymously)", self.source),
            None => self.source.to_string(),
        }
    }

    /// `text` with the password blotted out, for text that came from elsewhere.
    pub fn redact(&self, text: &str) -> String {
        match &self.basic {
            Some((_, password)) if password.len() >= 3 => text.replace(password.as_str(), "***"),
            _ => text.to_string(),
        }
    }
}

/// The directory of config.json: `$DOCKER_CONFIG`, else `~/.docker`, the
/// home as the docker CLI finds it (on Windows `%USERPROFILE%`, else `HOME`).
pub fn config_dir() -> Option<PathBuf> {
    config_dir_in(&|name| std::env::var_os(name), cfg!(windows))
}

fn config_dir_in(env: &dyn Fn(&str) -> Option<OsString>, windows: bool) -> Option<PathBuf> {
    let profile = || env("USERPROFILE").filter(|d| windows && !d.is_empty());
    env("DOCKER_CONFIG")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            profile()
                .or_else(|| env("HOME"))
                .map(|home| Path::new(&home).join(".docker"))
        })
}

/// True for the names Docker Hub goes by.
pub fn is_docker_hub(registry: &str) -> bool {
    matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

/// The key config.json and credential helpers know `registry` by: Docker
/// Hub's is `https://index.docker.io/v1/`, any other's is `host[:port]`.
pub fn server_key(registry: &str) -> String {
    if is_docker_hub(registry) {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry.to_string()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: Option<HashMap<String, AuthEntry>>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: Option<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl AuthEntry {
    fn has_credentials(&self) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        set(&self.auth) || set(&self.identitytoken) || (set(&self.username) && set(&self.password))
    }
}

/// `https://index.docker.io/v1/` → `index.docker.io`, `http://host:5000` → `host:5000`,
/// and every Docker Hub alias to `index.docker.io`, as docker_credential matches keys.
fn normalize_key(key: &str) -> &str {
    let stripped = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .map(|rest| rest.split('/').next().unwrap_or(rest))
        .unwrap_or(key);
    if is_docker_hub(stripped) {
        "index.docker.io"
    } else {
        stripped
    }
}

impl ConfigFile {
    /// The `auths` entry for `key`: the exact key, else one that names the same registry.
    fn auth_entry(&self, key: &str) -> Option<&AuthEntry> {
        let auths = self.auths.as_ref()?;
        auths.get(key).or_else(|| {
            let wanted = normalize_key(key);
            auths
                .iter()
                .find(|(k, _)| normalize_key(k) == wanted)
                .map(|(_, v)| v)
        })
    }

    /// Where docker would take credentials for `key` from, in docker_credential's
    /// order: `credHelpers`, then `auths`, then `credsStore`.
    fn source_for(&self, key: &str, registry: &str) -> Source {
        let helper = self
            .cred_helpers
            .as_ref()
            .and_then(|h| h.get(key))
            .filter(|name| !name.is_empty());
        if let Some(name) = helper {
            return Source::Helper {
                program: format!("docker-credential-{name}"),
            };
        }
        if self.auth_entry(key).is_some_and(AuthEntry::has_credentials) {
            return Source::Auths {
                registry: registry.to_string(),
            };
        }
        match self.creds_store.as_deref().filter(|s| !s.is_empty()) {
            Some(store) => Source::Helper {
                program: format!("docker-credential-{store}"),
            },
            None => Source::Anonymous,
        }
    }
}

/// The credentials for `registry` (as written in references: `ghcr.io`,
/// `127.0.0.1:5000`, `docker.io`) from config.json in `config_dir`. Blocking:
/// it may run a credential helper.
pub fn lookup(config_dir: Option<&Path>, registry: &str) -> Result<Credentials, Error> {
    let Some(dir) = config_dir else {
        return Ok(Credentials::anonymous());
    };
    let path = dir.join("config.json");
    let shown = path.display().to_string();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::anonymous()),
        Err(e) => {
            return Err(Error::Read {
                path: shown,
                reason: e.to_string(),
            });
        }
    };
    let config: ConfigFile = serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let shown_registry = if is_docker_hub(registry) {
        "docker.io"
    } else {
        registry
    };
    let key = server_key(registry);
    let source = config.source_for(&key, shown_registry);
    if source == Source::Anonymous {
        return Ok(Credentials::anonymous());
    }
    let unusable = |reason: &str| Error::Unusable {
        registry: shown_registry.to_string(),
        path: shown.clone(),
        reason: reason.to_string(),
    };
    let without = |note: String| Credentials {
        basic: None,
        source: source.clone(),
        note: Some(note),
    };
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    match docker_credential::get_credential_from_reader(bytes.as_slice(), &key) {
        Ok(DockerCredential::UsernamePassword(user, password)) => {
            Ok(Credentials::basic(&user, &password, source))
        }
        Ok(DockerCredential::IdentityToken(_)) => Ok(without(
            "an identity token, which image-budget cannot use; log in with a username and password or an access token"
                .to_string(),
        )),
        Err(E::NoCredentialConfigured) => Ok(Credentials::anonymous()),
        Err(E::HelperCommunicationError) => Ok(without(
            "it could not be run: not installed, or not on PATH".to_string(),
        )),
        Err(E::MalformedHelperResponse) => Ok(without(
            "its answer was not credentials".to_string(),
        )),
        Err(E::HelperFailure { stdout, stderr, .. }) => {
            let said = first_line(&stdout)
                .or_else(|| first_line(&stderr))
                .unwrap_or("no message");
            if said.to_lowercase().contains("credentials not found") {
                Ok(without(format!("it has no credentials for {key}")))
            } else {
                Ok(without(format!("it failed: {said}")))
            }
        }
        Err(E::CredentialDecodingError) => Err(unusable(
            "its `auth` value is not base64 of `username:password`",
        )),
        Err(E::CredentialMismatchError) => Err(unusable(
            "its `auth` value does not match its `username` and `password`",
        )),
        Err(E::ConfigNotFound | E::ConfigReadError) => Err(Error::Invalid {
            path: shown,
            reason: "it could not be parsed".to_string(),
        }),
    }
}

/// The first non-blank line of a helper's output, cut to a sensible length.
fn first_line(text: &str) -> Option<&str> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(match line.char_indices().nth(200) {
        Some((i, _)) => &line[..i],
        None => line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        dir
    }

    // "user:s3cret-pass" in base64.
    const AUTH: &str = "dXNlcjpzM2NyZXQtcGFzcw==";

    #[test]
    fn no_config_is_anonymous() {
        let empty = tempfile::tempdir().unwrap();
        let creds = lookup(Some(empty.path()), "ghcr.io").unwrap();
        assert_eq!(creds, Credentials::anonymous());
        assert_eq!(creds.describe(), "anonymous");
        assert_eq!(lookup(None, "ghcr.io").unwrap(), Credentials::anonymous());
    }

    #[test]
    fn auths_in_base64_or_plain_fields() {
        let dir = dir_with(&format!(
            r#"{{"auths": {{"ghcr.io": {{"auth": "{AUTH}"}},
                 "http://127.0.0.1:5000/v2/": {{"username": "u2", "password": "p2"}}}}}}"#
        ));
        let creds = lookup(Some(dir.path()), "ghcr.io").unwrap();
        assert_eq!(creds.username_password(), Some(("user", "s3cret-pass")));
        assert_eq!(creds.describe(), "config.json auths for ghcr.io");
        let creds = lookup(Some(dir.path()), "127.0.0.1:5000").unwrap();
        assert_eq!(creds.username_password(), Some(("u2", "p2")));
        assert_eq!(
            lookup(Some(dir.path()), "quay.io").unwrap(),
            Credentials::anonymous()
        );
    }

    #[test]
    fn docker_hub_goes_by_its_index_key() {
        let dir = dir_with(&format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{AUTH}"}}}}}}"#
        ));
        for name in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            let creds = lookup(Some(dir.path()), name).unwrap();
            assert_eq!(creds.username_password(), Some(("user", "s3cret-pass")));
            assert_eq!(creds.describe(), "config.json auths for docker.io");
        }
        assert_eq!(server_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(server_key("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn a_missing_helper_is_noted_and_anonymous() {
        let dir = dir_with(
            r#"{"auths": {"ghcr.io": {}}, "credsStore": "image-budget-test-absent",
                "credHelpers": {"quay.io": "image-budget-test-absent-too"}}"#,
        );
        let creds = lookup(Some(dir.path()), "ghcr.io").unwrap();
        assert_eq!(creds.username_password(), None);
        assert_eq!(
            creds.source,
            Source::Helper {
                program: "docker-credential-image-budget-test-absent".into()
            }
        );
        assert!(
            creds.describe().starts_with(
                "credential helper docker-credential-image-budget-test-absent (it could not be run"
            ),
            "{}",
            creds.describe()
        );
        let creds = lookup(Some(dir.path()), "quay.io").unwrap();
        assert_eq!(
            creds.source.to_string(),
            "credential helper docker-credential-image-budget-test-absent-too"
        );
    }

    #[test]
    fn a_broken_config_is_an_error_that_names_the_file() {
        let dir = dir_with("{\"auths\": {,}}");
        let err = lookup(Some(dir.path()), "ghcr.io").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("config.json` is not valid JSON"), "{text}");
        assert!(text.contains("line 1 column"), "{text}");

        let dir = dir_with(r#"{"auths": {"ghcr.io": {"auth": "not base64!"}}}"#);
        let err = lookup(Some(dir.path()), "ghcr.io").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
    }

    #[test]
    fn the_config_dir_is_docker_config_else_in_the_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        let dir = |vars, windows| config_dir_in(&env(vars), windows);
        let all = &[
            ("DOCKER_CONFIG", "/d"),
            ("USERPROFILE", r"C:\Users\me"),
            ("HOME", "/h"),
        ];
        assert_eq!(dir(all, true), Some("/d".into()));
        assert_eq!(dir(all, false), Some("/d".into()));
        let homes = &[("USERPROFILE", r"C:\Users\me"), ("HOME", "/h")];
        assert_eq!(
            dir(homes, true),
            Some(Path::new(r"C:\Users\me").join(".docker"))
        );
        assert_eq!(dir(homes, false), Some("/h/.docker".into()));
        assert_eq!(dir(&[("USERPROFILE", r"C:\Users\me")], false), None);
        assert_eq!(
            dir(
                &[("DOCKER_CONFIG", ""), ("USERPROFILE", ""), ("HOME", "/h")],
                true
            ),
            Some("/h/.docker".into())
        );
        assert_eq!(dir(&[], true), None);
    }

    #[test]
    fn debug_and_redact_hide_the_password() {
        let creds = Credentials::basic("me", "hunter22", Source::Anonymous);
        assert!(!format!("{creds:?}").contains("hunter22"));
        assert_eq!(creds.redact("bad hunter22 here"), "bad *** here");
    }
}
