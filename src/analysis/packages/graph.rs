//! Why a package is there: asked for, or pulled in by a package that was
//! (through Depends and Pre-Depends, or only through a Recommends). From
//! apt's `extended_states`: a package it did not mark `Auto-Installed` was
//! asked for.

use std::collections::{HashMap, HashSet, VecDeque};

use super::Listed;

/// What the dependency graph says of one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub manual: Option<bool>,
    /// The package asked for that brings it in (the newest such first).
    pub pulled_in_by: Option<String>,
    /// Reachable from the packages asked for only through a Recommends.
    pub recommended_only: bool,
}

/// The facts of each package of `packages` (by index), where the database
/// says which were asked for. `age` orders the packages asked for: the
/// newer one (a larger value) is named first as the one that pulled a
/// package in.
pub fn facts(packages: &[Listed], age: impl Fn(&Listed) -> usize) -> Vec<Facts> {
    let mut out = vec![Facts::default(); packages.len()];
    if packages.iter().all(|p| p.manual.is_none()) {
        return out;
    }
    // Every installed package that answers to a name: itself, or one that
    // provides it.
    let mut answers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in packages.iter().enumerate() {
        answers.entry(p.name.as_str()).or_default().push(i);
        for name in &p.provides {
            answers.entry(name.as_str()).or_default().push(i);
        }
    }
    let edges = |i: usize, recommends: bool| -> Vec<usize> {
        let p = &packages[i];
        let groups = p
            .depends
            .iter()
            .chain(recommends.then_some(&p.recommends).into_iter().flatten());
        let mut to: Vec<usize> = groups
            .flatten()
            .flat_map(|name| answers.get(name.as_str()).into_iter().flatten().copied())
            .collect();
        to.sort_unstable();
        to.dedup();
        to
    };
    let mut roots: Vec<usize> = (0..packages.len())
        .filter(|&i| packages[i].manual == Some(true))
        .collect();
    roots.sort_by(|&a, &b| {
        age(&packages[b])
            .cmp(&age(&packages[a]))
            .then_with(|| packages[a].name.cmp(&packages[b].name))
    });
    let reach = |from: &[usize], recommends: bool| -> HashSet<usize> {
        let mut seen: HashSet<usize> = from.iter().copied().collect();
        let mut queue: VecDeque<usize> = from.iter().copied().collect();
        while let Some(i) = queue.pop_front() {
            for j in edges(i, recommends) {
                if seen.insert(j) {
                    queue.push_back(j);
                }
            }
        }
        seen
    };
    let strict = reach(&roots, false);
    let all = reach(&roots, true);
    // Each root in turn, newest first, through Depends first, then also
    // through Recommends, names what it brings that no root named before.
    let mut by: Vec<Option<usize>> = vec![None; packages.len()];
    for recommends in [false, true] {
        for &root in &roots {
            for j in reach(&[root], recommends) {
                if packages[j].manual == Some(false) && by[j].is_none() {
                    by[j] = Some(root);
                }
            }
        }
    }
    for (i, facts) in out.iter_mut().enumerate() {
        facts.manual = packages[i].manual;
        facts.pulled_in_by = by[i].map(|r| packages[r].name.clone());
        facts.recommended_only =
            packages[i].manual == Some(false) && all.contains(&i) && !strict.contains(&i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Ecosystem;
    use super::*;

    fn package(name: &str, manual: bool, depends: &[&str], recommends: &[&str]) -> Listed {
        let mut p = Listed::new(Ecosystem::Dpkg, name.into(), "1".into(), None);
        p.manual = Some(manual);
        p.depends = depends
            .iter()
            .map(|g| g.split('|').map(str::to_string).collect())
            .collect();
        p.recommends = recommends.iter().map(|r| vec![r.to_string()]).collect();
        p
    }

    #[test]
    fn recommends_only_and_who_pulled_each_in() {
        let mut awk = package("mawk", false, &[], &[]);
        awk.provides = vec!["awk".into()];
        let packages = vec![
            package("base", true, &["libc"], &[]),
            package(
                "build-essential",
                true,
                &["gcc|clang", "make"],
                &["fakeroot"],
            ),
            package("gcc", false, &["libc", "cpp"], &["manpages-dev"]),
            package("clang", false, &[], &[]),
            package("cpp", false, &[], &[]),
            package("make", false, &[], &[]),
            package("fakeroot", false, &["awk"], &[]),
            package("manpages-dev", false, &[], &[]),
            package("libc", false, &[], &[]),
            awk,
            package("orphan", false, &[], &[]),
        ];
        let age = |p: &Listed| usize::from(p.name == "build-essential");
        let f = facts(&packages, age);
        let named = |n: &str| &f[packages.iter().position(|p| p.name == n).unwrap()];
        assert_eq!(
            named("gcc").pulled_in_by.as_deref(),
            Some("build-essential")
        );
        assert!(!named("gcc").recommended_only);
        // An alternative is an edge to every installed package that satisfies it.
        assert!(!named("clang").recommended_only);
        assert!(named("fakeroot").recommended_only);
        assert!(named("manpages-dev").recommended_only);
        // Through a Provides, still only by a Recommends.
        assert!(named("mawk").recommended_only);
        assert_eq!(
            named("mawk").pulled_in_by.as_deref(),
            Some("build-essential")
        );
        // The newer root names what both bring in.
        assert_eq!(
            named("libc").pulled_in_by.as_deref(),
            Some("build-essential")
        );
        assert!(!named("libc").recommended_only);
        assert_eq!(named("orphan").pulled_in_by, None);
        assert!(!named("orphan").recommended_only);
        assert_eq!(named("base").manual, Some(true));
        assert_eq!(named("base").pulled_in_by, None);
    }

    #[test]
    fn nothing_is_said_where_no_database_tells_what_was_asked_for() {
        let mut p = package("x", true, &[], &["y"]);
        p.manual = None;
        let f = facts(&[p], |_| 0);
        assert_eq!(f, [Facts::default()]);
    }
}
