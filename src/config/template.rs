//! The placeholders a baseline may name besides `{name}`: `{merge-base}`
//! and `{merge-base:N}`, the commit the branch left main at (in full, or its
//! first N hex digits). Checked when the config is read; filled by the
//! baseline finder once git has told the commit.

/// The spelling of the placeholder, with an optional length: `{merge-base:8}`.
const MERGE_BASE: &str = "merge-base";

/// True when a template names the merge base.
pub fn uses_merge_base(template: &str) -> bool {
    template.contains("{merge-base}") || template.contains("{merge-base:")
}

/// Checks a `{...}` placeholder of a baseline template; `name` is handled by
/// the config. The error says what to write.
pub fn check_placeholder(inner: &str) -> Result<(), String> {
    if inner == MERGE_BASE {
        return Ok(());
    }
    if let Some(len) = inner.strip_prefix("merge-base:") {
        return match len.parse::<usize>() {
            Ok(n) if (4..=40).contains(&n) => Ok(()),
            _ => Err(format!(
                "`{{{inner}}}`: the length of a short commit is a number from 4 to 40, such as `{{merge-base:8}}`"
            )),
        };
    }
    Err(format!(
        "unknown placeholder `{{{inner}}}`; the placeholders are `{{name}}`, `{{merge-base}}` and `{{merge-base:N}}`"
    ))
}

/// The template with the merge-base placeholders replaced by `commit`.
pub fn fill(template: &str, commit: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{merge-base") {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            break;
        };
        let inner = &after[1..close];
        let len = inner
            .strip_prefix("merge-base:")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(commit.len());
        out.push_str(&commit[..len.min(commit.len())]);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_with_the_commit() {
        let c = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(fill("acme/api:{merge-base}", c), format!("acme/api:{c}"));
        assert_eq!(
            fill("acme/api:sha-{merge-base:8}", c),
            "acme/api:sha-01234567"
        );
        assert_eq!(
            fill("reports/{merge-base:7}.json", c),
            "reports/0123456.json"
        );
        assert_eq!(fill("acme/api:main", c), "acme/api:main");
        assert!(uses_merge_base("x:{merge-base:8}"));
        assert!(!uses_merge_base("x:main"));
        assert!(check_placeholder("merge-base").is_ok());
        assert!(check_placeholder("merge-base:8").is_ok());
        assert!(check_placeholder("merge-base:99").is_err());
        assert!(
            check_placeholder("sha")
                .unwrap_err()
                .contains("unknown placeholder")
        );
    }
}
