//! Advice that shrinks an image, each piece backed by the bytes and paths
//! that call for it and the layer (the Dockerfile line) they came from: the
//! signs of a kitchen-sink image that a multi-stage build or one more
//! `rm` in the same `RUN` fixes.

use std::collections::BTreeMap;

use super::{Analysis, How};

/// One piece of advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// Stable kebab-case code: `package-cache`, `toolchain`, `deleted-later`,
    /// `rewritten-later`, `vcs-directory`.
    pub code: &'static str,
    /// What was found, for people: "apt package lists and archives".
    pub what: String,
    /// The bytes it costs.
    pub bytes: u64,
    /// The layer that brought them.
    pub layer: usize,
    /// For bytes hidden later: the layer that hid them.
    pub by: Option<usize>,
    /// The evidence, largest first (at most [`PATHS`]), with the bytes of each.
    pub paths: Vec<(Box<[u8]>, u64)>,
    /// How many paths there are in all.
    pub path_count: usize,
    /// The packages behind it, largest first, with their bytes.
    pub packages: Vec<(String, Option<u64>)>,
    /// What to do.
    pub fix: &'static str,
}

/// How many paths a piece of advice names.
pub const PATHS: usize = 5;

/// Package managers' caches and lists: a run of path components that
/// marks one, what it is, and the fix.
const CACHES: &[(&[&str], &str, &str)] = &[
    (
        &["var", "lib", "apt", "lists"],
        "apt package lists",
        "end the `apt-get install` RUN with `&& rm -rf /var/lib/apt/lists/*`",
    ),
    (
        &["var", "cache", "apt"],
        "apt's cache (downloaded packages, pkgcache.bin, srcpkgcache.bin)",
        "end the `apt-get install` RUN with `&& apt-get clean`",
    ),
    (
        &["var", "cache", "apk"],
        "apk's package cache",
        "use `apk add --no-cache`",
    ),
    (
        &["var", "cache", "dnf"],
        "dnf's package cache",
        "end the `dnf install` RUN with `&& dnf clean all`",
    ),
    (
        &["var", "cache", "yum"],
        "yum's package cache",
        "end the `yum install` RUN with `&& yum clean all`",
    ),
    (
        &[".cache", "pip"],
        "pip's download cache",
        "use `pip install --no-cache-dir`",
    ),
    (
        &[".npm", "_cacache"],
        "npm's cache",
        "end the `npm ci` RUN with `&& npm cache clean --force`, or build in another stage",
    ),
    (
        &[".cache", "yarn"],
        "yarn's cache",
        "end the `yarn install` RUN with `&& yarn cache clean`, or build in another stage",
    ),
    (
        &["cargo", "registry"],
        "cargo's registry (downloaded crates)",
        "build in another stage and COPY only the binary",
    ),
    (
        &[".cargo", "registry"],
        "cargo's registry (downloaded crates)",
        "build in another stage and COPY only the binary",
    ),
    (
        &["go", "pkg", "mod"],
        "Go's module cache",
        "build in another stage and COPY only the binary",
    ),
    (
        &[".cache", "go-build"],
        "Go's build cache",
        "build in another stage and COPY only the binary",
    ),
];

/// Version-control directories.
const VCS: &[&str] = &[".git", ".hg", ".svn"];

/// Where a run of components starts in a path's components, if it does.
fn find_run(components: &[&[u8]], run: &[&str]) -> Option<usize> {
    components
        .windows(run.len())
        .position(|w| w.iter().zip(run).all(|(c, r)| *c == r.as_bytes()))
}

/// The path of the first `n` components.
fn prefix(path: &[u8], components: &[&[u8]], n: usize) -> Box<[u8]> {
    let len = components[..n].iter().map(|c| c.len()).sum::<usize>() + n.saturating_sub(1);
    path[..len].into()
}

/// Gathers bytes per (what, layer, by), with per-root evidence.
#[derive(Default)]
struct Gather {
    found: BTreeMap<(&'static str, String, usize, Option<usize>), Found>,
}

#[derive(Default)]
struct Found {
    fix: &'static str,
    bytes: u64,
    roots: BTreeMap<Box<[u8]>, u64>,
}

impl Gather {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        code: &'static str,
        what: String,
        fix: &'static str,
        layer: usize,
        by: Option<usize>,
        root: Box<[u8]>,
        bytes: u64,
    ) {
        let found = self.found.entry((code, what, layer, by)).or_default();
        found.fix = fix;
        found.bytes += bytes;
        *found.roots.entry(root).or_default() += bytes;
    }

    fn finish(self) -> Vec<Advice> {
        let mut all: Vec<Advice> = self
            .found
            .into_iter()
            .filter(|(_, f)| f.bytes > 0)
            .map(|((code, what, layer, by), found)| {
                let mut paths: Vec<(Box<[u8]>, u64)> = found.roots.into_iter().collect();
                paths.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                let path_count = paths.len();
                paths.truncate(PATHS);
                Advice {
                    code,
                    what,
                    bytes: found.bytes,
                    layer,
                    by,
                    paths,
                    path_count,
                    packages: Vec::new(),
                    fix: found.fix,
                }
            })
            .collect();
        all.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.code.cmp(b.code)));
        all
    }
}

const GCC: &str = "the GCC compiler (cc1)";

/// A compiler toolchain's marker file: its name and the directory the
/// toolchain lives in (or the file itself when it sits in a shared `bin`).
fn toolchain(path: &[u8], components: &[&[u8]]) -> Option<(&'static str, Box<[u8]>)> {
    let n = components.len();
    let name = *components.last()?;
    let shared = |root: usize| {
        let dirs = &components[..root];
        dirs.is_empty()
            || dirs == [b"usr"]
            || dirs == [b"usr".as_slice(), b"local"]
            || dirs == [b"opt"]
    };
    match name {
        b"cc1" | b"cc1plus" => {
            let gcc = components.iter().rposition(|c| *c == b"gcc")?;
            Some((GCC, prefix(path, components, gcc + 1)))
        }
        b"rustc" | b"go" | b"javac" if n >= 2 && components[n - 2] == b"bin" => {
            let what = match name {
                b"rustc" => "the Rust compiler (rustc)",
                b"go" => "the Go toolchain (go)",
                _ => "a Java compiler (javac)",
            };
            let root = n - 2;
            if shared(root) {
                Some((what, path.into()))
            } else {
                Some((what, prefix(path, components, root)))
            }
        }
        _ => None,
    }
}

/// Every piece of advice for an image, the largest first: from its files,
/// and from its packages (which name a toolchain that a package manager
/// installed better than its files do).
pub fn advise(image: &Analysis) -> Vec<Advice> {
    let from_packages = super::packages::advice::advise(&image.packages);
    let packaged_toolchain = from_packages.iter().any(|a| a.code == "toolchain");
    let mut gather = Gather::default();
    let mut toolchains: BTreeMap<Box<[u8]>, (&'static str, usize)> = BTreeMap::new();
    let mut vcs: BTreeMap<Box<[u8]>, usize> = BTreeMap::new();
    for file in &image.files {
        let components: Vec<&[u8]> = file.path.split(|b| *b == b'/').collect();
        if let Some((run, what, fix)) = CACHES.iter().find_map(|(run, what, fix)| {
            find_run(&components, run).map(|at| (at + run.len(), what, fix))
        }) {
            let root = prefix(&file.path, &components, run);
            gather.add(
                "package-cache",
                (*what).to_string(),
                fix,
                file.layer,
                None,
                root,
                file.bytes,
            );
        }
        if let Some((what, root)) = toolchain(&file.path, &components) {
            toolchains.entry(root).or_insert((what, file.layer));
        }
        if let Some(at) = components[..components.len() - 1]
            .iter()
            .position(|c| VCS.iter().any(|v| *c == v.as_bytes()))
        {
            vcs.entry(prefix(&file.path, &components, at + 1))
                .or_insert(file.layer);
        }
    }
    for (root, (what, layer)) in toolchains {
        // GCC comes from a package manager: its packages say it, whole.
        if packaged_toolchain && what == GCC {
            continue;
        }
        let (bytes, _) = image.subtree(&root);
        gather.add(
            "toolchain",
            format!("{what} in the final image"),
            "build in another stage (`FROM ... AS build`) and COPY only what runs",
            layer,
            None,
            root,
            bytes,
        );
    }
    for (root, layer) in vcs {
        let (bytes, _) = image.subtree(&root);
        gather.add(
            "vcs-directory",
            "a version-control directory".to_string(),
            "add it to `.dockerignore` (or COPY only the sources the build needs)",
            layer,
            None,
            root,
            bytes,
        );
    }
    for hidden in &image.hidden {
        let (code, what, fix) = match hidden.how {
            How::Deleted => (
                "deleted-later",
                "files deleted by a later layer, still in the image",
                "delete them in the same RUN that makes them, or make them in another stage",
            ),
            How::Replaced => (
                "rewritten-later",
                "files rewritten by a later layer (both copies are kept)",
                "write them once: `COPY --chown`/`--chmod`, or change them in the RUN that makes them",
            ),
        };
        gather.add(
            code,
            what.to_string(),
            fix,
            hidden.layer,
            Some(hidden.by),
            hidden.path.clone(),
            hidden.bytes,
        );
    }
    let mut all = gather.finish();
    all.extend(from_packages);
    all.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.code.cmp(b.code)));
    all
}

#[cfg(test)]
mod tests {
    use super::super::tests::{analyse, dir, file, whiteout};
    use super::*;

    fn summary(advice: &[Advice]) -> Vec<(&'static str, u64, usize, Vec<String>)> {
        advice
            .iter()
            .map(|a| {
                (
                    a.code,
                    a.bytes,
                    a.layer,
                    a.paths
                        .iter()
                        .map(|(p, _)| super::super::display(p))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn caches_toolchains_vcs_and_deleted_files_each_with_their_bytes_and_layer() {
        let image = analyse(vec![
            (
                "RUN apt-get update && apt-get install -y gcc",
                vec![
                    dir("var/lib/apt/lists"),
                    file("var/lib/apt/lists/deb.debian.org_bookworm_Packages", 9000),
                    file("var/lib/apt/lists/lock", 0),
                    file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 30000),
                    file("usr/lib/gcc/x86_64-linux-gnu/12/liblto.so", 700),
                    file("usr/bin/gcc", 1000),
                ],
            ),
            (
                "COPY . /src",
                vec![
                    file("src/.git/objects/pack/p.pack", 5000),
                    file("src/.git/HEAD", 21),
                    file("src/main.c", 300),
                    file("src/build.tar", 8000),
                ],
            ),
            ("RUN rm /src/build.tar", vec![whiteout("src/build.tar")]),
            (
                "RUN pip install flask",
                vec![
                    file("root/.cache/pip/http/a", 400),
                    file("usr/local/go/bin/go", 2000),
                    file("usr/local/go/pkg/tool/compile", 3000),
                ],
            ),
        ]);
        assert_eq!(
            summary(&advise(&image)),
            [
                ("toolchain", 30700, 0, vec!["/usr/lib/gcc".to_string()]),
                (
                    "package-cache",
                    9000,
                    0,
                    vec!["/var/lib/apt/lists".to_string()]
                ),
                ("deleted-later", 8000, 1, vec!["/src/build.tar".to_string()]),
                ("vcs-directory", 5021, 1, vec!["/src/.git".to_string()]),
                ("toolchain", 5000, 3, vec!["/usr/local/go".to_string()]),
                (
                    "package-cache",
                    400,
                    3,
                    vec!["/root/.cache/pip".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn no_advice_without_bytes_and_a_system_bin_counts_the_file_only() {
        let image = analyse(vec![(
            "RUN apt-get install -y rustc",
            vec![
                file("var/lib/apt/lists/lock", 0),
                file("usr/bin/rustc", 77),
                file("usr/bin/ls", 10),
            ],
        )]);
        assert_eq!(
            summary(&advise(&image)),
            [("toolchain", 77, 0, vec!["/usr/bin/rustc".to_string()])]
        );
    }
}
