//! `${VAR}` and `${VAR:-default}` in config values, as a shell would read them.

/// What went wrong while expanding one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    Unset(String),
    Unterminated,
    BadName(String),
}

impl InterpolateError {
    /// One line for the user: what, and what to write instead.
    pub fn message(&self) -> String {
        match self {
            InterpolateError::Unset(name) => format!(
                "environment variable `{name}` is not set; set it, or give a default: `${{{name}:-value}}`"
            ),
            InterpolateError::Unterminated => {
                "`${` is not closed; write `${VAR}`, `${VAR:-default}`, or `$$` for a literal `$`"
                    .to_string()
            }
            InterpolateError::BadName(name) => format!(
                "`{name}` is not a variable name (letters, digits and `_`, not starting with a digit)"
            ),
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Expands `${VAR}`, `${VAR:-default}` (default when unset or empty) and `$$`
/// (a literal `$`). A `$` followed by anything else is kept as it is.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(InterpolateError::Unterminated)?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if !valid_name(name) {
                return Err(InterpolateError::BadName(name.to_string()));
            }
            match (
                lookup(name).filter(|v| !v.is_empty() || default.is_none()),
                default,
            ) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => return Err(InterpolateError::Unset(name.to_string())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SHA" => Some("abc123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_like_a_shell() {
        assert_eq!(interpolate("api:${SHA}", &env).unwrap(), "api:abc123");
        assert_eq!(interpolate("api:${SHA:-dev}", &env).unwrap(), "api:abc123");
        assert_eq!(interpolate("api:${NOPE:-dev}", &env).unwrap(), "api:dev");
        assert_eq!(interpolate("api:${EMPTY:-dev}", &env).unwrap(), "api:dev");
        assert_eq!(interpolate("api:${EMPTY}", &env).unwrap(), "api:");
        assert_eq!(interpolate("a$$b", &env).unwrap(), "a$b");
        assert_eq!(interpolate("cost $5", &env).unwrap(), "cost $5");
        assert_eq!(interpolate("${SHA}${SHA}", &env).unwrap(), "abc123abc123");
    }

    #[test]
    fn refuses_what_it_cannot_expand() {
        assert_eq!(
            interpolate("api:${NOPE}", &env),
            Err(InterpolateError::Unset("NOPE".into()))
        );
        assert_eq!(
            interpolate("api:${SHA", &env),
            Err(InterpolateError::Unterminated)
        );
        assert_eq!(
            interpolate("${1X}", &env),
            Err(InterpolateError::BadName("1X".into()))
        );
        assert!(
            InterpolateError::Unset("GITHUB_SHA".into())
                .message()
                .contains("${GITHUB_SHA:-value}")
        );
    }
}
