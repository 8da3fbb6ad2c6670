//! Shell-style name patterns, as `deny-packages` takes them: `*` matches any
//! run of characters (none included), `?` any one character, everything
//! else itself. Whole names only: `gcc-*` matches `gcc-12`, not `libgcc-s1`.

/// True when `pattern` matches all of `name`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // The classic two-pointer match with one backtrack point per `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn whole_names_with_stars_and_question_marks() {
        assert!(matches("gcc-*", "gcc-12"));
        assert!(matches("gcc-*", "gcc-"));
        assert!(!matches("gcc-*", "libgcc-s1"));
        assert!(!matches("gcc-*", "gcc"));
        assert!(matches("*-dev", "libc6-dev"));
        assert!(!matches("*-dev", "libc6-dev-bin"));
        assert!(matches("build-essential", "build-essential"));
        assert!(!matches("build-essential", "build-essential-x"));
        assert!(matches("lib*-?-dev", "libfoo-1-dev"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXXbYYbZc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("@types/*", "@types/node"));
    }
}
