//! Advice that names packages: a compiler toolchain left in the final image,
//! and the packages only a Recommends brought (`--no-install-recommends`
//! would drop them), each with the exact bytes of the packages behind it.

use std::collections::HashMap;

use super::{PackageRow, Packages};
use crate::analysis::advice::Advice;
use crate::glob;

/// Packages that build software and do not run it: compilers, their
/// support libraries, headers and build tools, by name.
const TOOLCHAIN: &[&str] = &[
    "build-essential",
    "build-base",
    "gcc",
    "gcc-*",
    "g++",
    "g++-*",
    "cpp",
    "cpp-*",
    "gfortran",
    "gfortran-*",
    "clang",
    "clang-*",
    "llvm",
    "llvm-*",
    "lld",
    "lld-*",
    "binutils",
    "binutils-*",
    "libbinutils",
    "libgprofng*",
    "libctf*",
    "libsframe*",
    "libgcc-*-dev",
    "libstdc++-*-dev",
    "libstdc++-devel",
    "libc6-dev",
    "libc-dev-bin",
    "linux-libc-dev",
    "libcrypt-dev",
    "libnsl-dev",
    "libtirpc-dev",
    "glibc-devel",
    "glibc-headers",
    "kernel-headers",
    "musl-dev",
    "libasan*",
    "liblsan*",
    "libtsan*",
    "libubsan*",
    "libhwasan*",
    "libitm*",
    "libquadmath*",
    "libcc1-*",
    "libisl*",
    "libmpc*",
    "libmpfr*",
    "make",
    "dpkg-dev",
    "rustc",
    "cargo",
    "golang",
    "golang-*",
];

/// The advice an image's packages call for, largest first.
pub fn advise(packages: &Packages) -> Vec<Advice> {
    let mut all = Vec::new();
    all.extend(toolchain(packages));
    all.extend(recommends(packages));
    all.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.code.cmp(b.code)));
    all
}

/// The layer that brought most of the rows' bytes.
fn main_layer(rows: &[&PackageRow]) -> usize {
    let mut by_layer: HashMap<usize, u64> = HashMap::new();
    for r in rows {
        *by_layer.entry(r.layer.unwrap_or(0)).or_default() += r.size.unwrap_or(0);
    }
    by_layer
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map_or(0, |(layer, _)| layer)
}

fn advice(
    code: &'static str,
    what: String,
    rows: &[&PackageRow],
    fix: &'static str,
) -> Option<Advice> {
    let bytes: u64 = rows.iter().filter_map(|r| r.size).sum();
    (bytes > 0).then(|| Advice {
        code,
        what,
        bytes,
        layer: main_layer(rows),
        by: None,
        paths: Vec::new(),
        path_count: 0,
        packages: rows.iter().map(|r| (r.name.clone(), r.size)).collect(),
        fix,
    })
}

fn names(rows: &[&PackageRow]) -> String {
    const NAMED: usize = 3;
    let mut named: Vec<&str> = rows.iter().take(NAMED).map(|r| r.name.as_str()).collect();
    if rows.len() > NAMED {
        named.push("...");
    }
    named.join(", ")
}

fn toolchain(packages: &Packages) -> Option<Advice> {
    let rows: Vec<&PackageRow> = packages
        .installed()
        .filter(|r| TOOLCHAIN.iter().any(|p| glob::matches(p, &r.name)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    advice(
        "toolchain",
        format!(
            "a compiler toolchain in the final image: {} ({} packages)",
            names(&rows),
            rows.len()
        ),
        &rows,
        "build in another stage (`FROM ... AS build`) and COPY only what runs",
    )
}

fn recommends(packages: &Packages) -> Option<Advice> {
    let rows: Vec<&PackageRow> = packages
        .installed()
        .filter(|r| r.recommended_only)
        .collect();
    if rows.is_empty() {
        return None;
    }
    let bytes: u64 = rows.iter().filter_map(|r| r.size).sum();
    advice(
        "recommends",
        format!(
            "{} packages only a Recommends brought: {}; `--no-install-recommends` would drop them, {}",
            rows.len(),
            names(&rows),
            crate::size::human(bytes)
        ),
        &rows,
        "install with `apt-get install --no-install-recommends` and name what you need",
    )
}

#[cfg(test)]
mod tests {
    use super::super::{Bucket, Ecosystem};
    use super::*;

    fn row(name: &str, size: u64, layer: usize, recommended_only: bool) -> PackageRow {
        PackageRow {
            ecosystem: Ecosystem::Dpkg,
            name: name.into(),
            version: Some("1".into()),
            size: Some(size),
            wasted: 0,
            files: 1,
            layer: Some(layer),
            manual: Some(false),
            pulled_in_by: None,
            recommended_only,
        }
    }

    #[test]
    fn a_toolchain_and_what_only_recommends_brought_with_their_bytes() {
        let packages = Packages {
            rows: vec![
                row("gcc-12", 700, 1, false),
                row("libx265-199", 160, 1, true),
                row("cpp-12", 340, 1, false),
                row("libgcc-s1", 100, 0, false),
                row("make", 40, 0, false),
                row("manpages-dev", 30, 1, true),
            ],
            unowned: Bucket::default(),
            databases: Bucket::default(),
            layers: Vec::new(),
            found: vec![Ecosystem::Dpkg],
            notes: Vec::new(),
        };
        let all = advise(&packages);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].code, "toolchain");
        assert_eq!(all[0].bytes, 1080, "gcc-12, cpp-12 and make; not libgcc-s1");
        assert_eq!(all[0].layer, 1);
        assert_eq!(
            all[0].what,
            "a compiler toolchain in the final image: gcc-12, cpp-12, make (3 packages)"
        );
        assert_eq!(all[1].code, "recommends");
        assert_eq!(all[1].bytes, 190);
        assert_eq!(
            all[1].packages,
            [
                ("libx265-199".to_string(), Some(160)),
                ("manpages-dev".to_string(), Some(30))
            ]
        );
        assert!(
            all[1].what.contains("would drop them, 190 B"),
            "{}",
            all[1].what
        );
    }
}
