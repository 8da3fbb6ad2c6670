//! The file-level difference between an image and its baseline: files added,
//! removed, grown and shrunk, and the directories where the change spreads
//! over more than one entry, largest change first, each with the layer that
//! brought it.

use std::collections::HashMap;

use super::{Analysis, is_under};

/// What happened at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Grown,
    Shrunk,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Grown => "grown",
            Change::Shrunk => "shrunk",
        }
    }
}

/// One changed file or directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub path: Box<[u8]>,
    pub directory: bool,
    pub change: Change,
    /// Bytes in the baseline (a directory: of the files under it); None when
    /// absent there.
    pub before: Option<u64>,
    /// Bytes in the image; None when absent.
    pub after: Option<u64>,
    /// The image's layer that brought it (a directory: its largest changed
    /// file's), or for a removed entry, None.
    pub layer: Option<usize>,
    /// For a removed file, the baseline's layer that had it.
    pub baseline_layer: Option<usize>,
}

impl Changed {
    pub fn delta(&self) -> i128 {
        i128::from(self.after.unwrap_or(0)) - i128::from(self.before.unwrap_or(0))
    }
}

/// The changes from a baseline, largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// The visible bytes' change.
    pub delta: i128,
    pub added: usize,
    pub removed: usize,
    pub grown: usize,
    pub shrunk: usize,
    pub changes: Vec<Changed>,
}

fn change(before: Option<u64>, after: Option<u64>) -> Option<Change> {
    match (before, after) {
        (None, Some(_)) => Some(Change::Added),
        (Some(_), None) => Some(Change::Removed),
        (Some(b), Some(a)) if a > b => Some(Change::Grown),
        (Some(b), Some(a)) if a < b => Some(Change::Shrunk),
        _ => None,
    }
}

/// The parent directory of a path; the root is empty.
fn parent(path: &[u8]) -> &[u8] {
    path.iter()
        .rposition(|b| *b == b'/')
        .map_or(&path[..0], |i| &path[..i])
}

/// How `image` differs from `baseline`, file by file. Directories are listed
/// where changes to more than one of their entries meet (the root aside:
/// that is `delta`), so a change deep in one subtree is named once, at the
/// file, and a package's worth of files is named at its directory.
pub fn diff(image: &Analysis, baseline: &Analysis) -> Diff {
    let mut changes = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (now, then) = (&image.files, &baseline.files);
    while i < now.len() || j < then.len() {
        let order = match (now.get(i), then.get(j)) {
            (Some(a), Some(b)) => a.path.cmp(&b.path),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (after, before) = match order {
            std::cmp::Ordering::Less => {
                i += 1;
                (Some(&now[i - 1]), None)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (None, Some(&then[j - 1]))
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (Some(&now[i - 1]), Some(&then[j - 1]))
            }
        };
        if let Some(change) = change(before.map(|f| f.bytes), after.map(|f| f.bytes)) {
            let file = after.or(before).expect("one side");
            changes.push(Changed {
                path: file.path.clone(),
                directory: false,
                change,
                before: before.map(|f| f.bytes),
                after: after.map(|f| f.bytes),
                layer: after.map(|f| f.layer),
                baseline_layer: before.filter(|_| after.is_none()).map(|f| f.layer),
            });
        }
    }

    // Per directory: the change under each of its entries (bytes moved,
    // either way), and the layer of its largest changed file.
    let mut churn: HashMap<&[u8], HashMap<&[u8], u128>> = HashMap::new();
    let mut largest: HashMap<&[u8], (u128, Option<usize>)> = HashMap::new();
    for c in &changes {
        let size = c.delta().unsigned_abs();
        let mut child: &[u8] = &c.path;
        loop {
            let dir = parent(child);
            if dir.is_empty() {
                break;
            }
            *churn.entry(dir).or_default().entry(child).or_default() += size;
            let best = largest.entry(dir).or_insert((0, None));
            if size > best.0 || best.1.is_none() && c.layer.is_some() {
                *best = (size, c.layer);
            }
            child = dir;
        }
    }
    let mut dirs = Vec::new();
    for (dir, entries) in &churn {
        let total: u128 = entries.values().sum();
        let most = entries.values().copied().max().unwrap_or(0);
        // Where no one entry holds half the change, the directory is the
        // place to name; otherwise that entry is.
        if entries.len() < 2 || most * 2 >= total {
            continue;
        }
        let side = |a: &Analysis| {
            let (bytes, files) = a.subtree(dir);
            (files > 0).then_some(bytes)
        };
        let (before, after) = (side(baseline), side(image));
        if let Some(change) = change(before, after) {
            dirs.push(Changed {
                path: (*dir).into(),
                directory: true,
                change,
                before,
                after,
                layer: largest.get(dir).and_then(|l| l.1),
                baseline_layer: None,
            });
        }
    }
    changes.extend(dirs);
    changes.sort_by(|a, b| {
        b.delta()
            .abs()
            .cmp(&a.delta().abs())
            .then_with(|| b.directory.cmp(&a.directory))
            .then_with(|| a.path.cmp(&b.path))
    });
    let count = |kind: Change| {
        changes
            .iter()
            .filter(|c| !c.directory && c.change == kind)
            .count()
    };
    Diff {
        delta: i128::from(image.visible) - i128::from(baseline.visible),
        added: count(Change::Added),
        removed: count(Change::Removed),
        grown: count(Change::Grown),
        shrunk: count(Change::Shrunk),
        changes,
    }
}

impl Diff {
    /// The `n` largest changes; a file under a directory already named is
    /// left out (the directory stands for it).
    pub fn top(&self, n: usize) -> Vec<&Changed> {
        let mut shown: Vec<&Changed> = Vec::new();
        for c in &self.changes {
            if shown.len() == n {
                break;
            }
            let named = !c.directory
                && shown
                    .iter()
                    .any(|s| s.directory && is_under(&c.path, &s.path));
            if !named {
                shown.push(c);
            }
        }
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{analyse, dir, file};
    use super::*;

    fn paths(changes: &[&Changed]) -> Vec<(String, &'static str, i128)> {
        changes
            .iter()
            .map(|c| (super::super::display(&c.path), c.change.as_str(), c.delta()))
            .collect()
    }

    #[test]
    fn files_added_removed_grown_and_the_directory_where_they_meet() {
        let baseline = analyse(vec![(
            "ADD base",
            vec![
                dir("app"),
                file("app/main.js", 100),
                file("app/old.js", 30),
                file("etc/conf", 5),
            ],
        )]);
        let image = analyse(vec![
            (
                "ADD base",
                vec![dir("app"), file("app/main.js", 100), file("etc/conf", 5)],
            ),
            (
                "RUN npm install",
                vec![
                    file("app/node_modules/left-pad/index.js", 4000),
                    file("app/node_modules/left-pad/package.json", 600),
                    file("app/main.js", 150),
                ],
            ),
        ]);
        let d = diff(&image, &baseline);
        assert_eq!(d.delta, 4600 + 50 - 30);
        assert_eq!((d.added, d.removed, d.grown, d.shrunk), (2, 1, 1, 0));
        assert_eq!(
            paths(&d.changes.iter().collect::<Vec<_>>()),
            [
                (
                    "/app/node_modules/left-pad/index.js".to_string(),
                    "added",
                    4000
                ),
                (
                    "/app/node_modules/left-pad/package.json".to_string(),
                    "added",
                    600
                ),
                ("/app/main.js".to_string(), "grown", 50),
                ("/app/old.js".to_string(), "removed", -30),
            ]
        );
        // Neither /app (node_modules holds most of its change) nor
        // left-pad (index.js holds most of its) is where the change spreads.
        assert!(d.changes.iter().all(|c| !c.directory));
        let removed = d
            .changes
            .iter()
            .find(|c| c.change == Change::Removed)
            .unwrap();
        assert_eq!((removed.layer, removed.baseline_layer), (None, Some(0)));
        let grown = d
            .changes
            .iter()
            .find(|c| c.change == Change::Grown)
            .unwrap();
        assert_eq!(grown.layer, Some(1));
    }

    #[test]
    fn top_names_a_directory_once_not_every_file_in_it() {
        let baseline = analyse(vec![("ADD", vec![file("keep", 1)])]);
        let mut many = vec![file("keep", 1)];
        for k in 0..10 {
            many.push(file(&format!("usr/lib/pkg/f{k}"), 100 + k));
        }
        many.push(file("bin/tool", 50));
        let image = analyse(vec![("RUN install", many)]);
        let d = diff(&image, &baseline);
        assert_eq!(
            paths(&d.top(3)),
            [
                ("/usr/lib/pkg".to_string(), "added", 1045),
                ("/bin/tool".to_string(), "added", 50),
            ]
        );
        assert_eq!(d.changes.len(), 12, "the files are all still in changes");
        assert_eq!(d.changes[0].layer, Some(0));
    }
}
