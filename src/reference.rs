//! Image references, checked against the grammar docker uses
//! (`[host[:port]/]path[:tag][@digest]`), so a typo is reported as a typo
//! instead of as "image not found".

/// Checks a reference; the error says what is wrong with it.
pub fn validate(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("the reference is empty".into());
    }
    if let Some(c) = reference
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "it contains {}; references have no spaces or control characters",
            match c {
                ' ' => "a space".to_string(),
                c => format!("the character {c:?}"),
            }
        ));
    }
    // An image ID: `sha256:<hex>` or a bare hex ID.
    if let Some(hex) = reference.strip_prefix("sha256:") {
        return if hex.len() == 64 && is_lower_hex(hex) {
            Ok(())
        } else {
            Err("an image ID is `sha256:` followed by 64 lowercase hex digits".into())
        };
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    if let Some(digest) = digest {
        validate_digest(digest)?;
    }
    // The tag follows the last colon after the last slash (a colon before it is a port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        validate_tag(tag)?;
    }
    validate_name(name)
}

fn is_lower_hex(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn validate_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!(
            "`@{digest}` is not a digest; write `@sha256:` and 64 hex digits"
        ));
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '.' | '_' | '-')
        });
    if !algorithm_ok || hex.len() < 32 || !is_lower_hex(hex) {
        return Err(format!(
            "`@{digest}` is not a digest; write `@sha256:` and 64 hex digits"
        ));
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if tag.is_empty() || tag.len() > 128 || !first_ok || !rest_ok {
        return Err(format!(
            "the tag `{tag}` is not valid: up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
        ));
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the repository name is empty".into());
    }
    if name.len() > 255 {
        return Err("the repository name is longer than 255 characters".into());
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let first = components[0];
    let has_domain = components.len() > 1
        && (first.contains('.')
            || first.contains(':')
            || first == "localhost"
            || first.chars().any(|c| c.is_ascii_uppercase()));
    if has_domain {
        validate_domain(first)?;
        components.remove(0);
    }
    for component in components {
        validate_component(component)?;
    }
    Ok(())
}

fn validate_domain(domain: &str) -> Result<(), String> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || domain.starts_with('[') => (host, Some(port)),
        _ => (domain, None),
    };
    if let Some(port) = port
        && (port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("the registry port `{port}` is not a number"));
    }
    let bracketed = host.starts_with('[') && host.ends_with(']');
    let host_ok = bracketed
        || (!host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    if host_ok {
        Ok(())
    } else {
        Err(format!(
            "the registry host `{host}` is not a valid host name"
        ))
    }
}

fn validate_component(component: &str) -> Result<(), String> {
    if component.is_empty() {
        return Err(
            "the repository path has an empty part (`//`, or a leading or trailing `/`)".into(),
        );
    }
    if component.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "`{component}` has uppercase letters; repository names must be lowercase"
        ));
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bad = component
        .chars()
        .find(|c| !(alnum(*c) || matches!(c, '.' | '_' | '-')));
    if let Some(c) = bad {
        return Err(format!(
            "`{component}` contains `{c}`; repository names use lowercase letters, digits, `.`, `_` and `-`"
        ));
    }
    let bytes = component.as_bytes();
    let separators_ok = alnum(bytes[0] as char)
        && alnum(bytes[bytes.len() - 1] as char)
        && !component.contains("..")
        && !component.contains("___")
        && !component.contains("._")
        && !component.contains("_.")
        && !component.contains(".-")
        && !component.contains("-.")
        && !component.contains("_-")
        && !component.contains("-_");
    if separators_ok {
        Ok(())
    } else {
        Err(format!(
            "`{component}` must start and end with a letter or digit, with single `.`, `_` or `__`, or dashes, between them"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_what_docker_accepts() {
        for good in [
            "alpine",
            "acme/api:1.2",
            "ghcr.io/acme/api:main",
            "localhost:5000/api",
            "127.0.0.1:5000/team/api:v1.0-rc_1",
            "my_app__x/a-b--c",
            "registry.example.com/a/b/c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "api:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "0123456789ab",
            "[::1]:5000/api",
        ] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn refuses_what_docker_refuses() {
        for (bad, why) in [
            ("", "empty"),
            ("acme/API", "uppercase"),
            ("acme api", "a space"),
            ("acme/api:", "tag ``"),
            ("acme/api:-x", "tag `-x`"),
            ("acme//api", "empty part"),
            ("acme/api!", "contains `!`"),
            ("-api", "must start and end"),
            ("api@sha256:xyz", "not a digest"),
            ("localhost:port/api", "not a number"),
            ("sha256:abc", "64 lowercase hex"),
        ] {
            let error = validate(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
