//! Which package made an image big, against real package databases made
//! here: a Debian 12 root from debootstrap with `apt-get install` run in
//! containers as Dockerfiles do (checked against an independent count from
//! `dpkg-query` and the files, `tests/fixtures/dpkg-oracle`), distroless's
//! `status.d`, Python packages installed by pip, node packages by npm, an
//! rpm database made by rpm's own tools and an apk database written to its
//! specification. Every figure to the byte.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// Debian's mirror, reachable from these machines.
const MIRROR: &str = "http://deb.debian.org/debian";

/// `budget explain REF --format json` with every package listed.
fn explain(dir: &Path, reference: &str, baseline: Option<&str>) -> Value {
    let mut args = vec!["explain", reference, "--format", "json", "--top", "10000"];
    if let Some(b) = baseline {
        args.extend(["--baseline", b]);
    }
    let out = budget(dir, &args);
    assert_exit(&out, 0);
    json(&out)
}

/// name → (version, size, files) of the installed packages of an explanation.
fn installed(e: &Value) -> BTreeMap<String, (String, u64, u64)> {
    e["packages"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["version"].is_null())
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                (
                    p["version"].as_str().unwrap().to_string(),
                    p["size"].as_u64().unwrap_or_else(|| panic!("no size: {p}")),
                    p["files"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn package<'a>(e: &'a Value, name: &str) -> &'a Value {
    e["packages"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no package {name}"))
}

/// The buckets add up to the bytes the image shows and to its wasted bytes.
fn assert_adds_up(e: &Value) {
    let p = &e["packages"];
    assert_eq!(p["other"]["packages"], 0, "every package listed");
    let rows = p["top"].as_array().unwrap();
    let size: u64 = rows.iter().filter_map(|r| r["size"].as_u64()).sum::<u64>()
        + p["unowned"]["size"].as_u64().unwrap()
        + p["databases"]["size"].as_u64().unwrap();
    let wasted: u64 = rows
        .iter()
        .map(|r| r["wasted"].as_u64().unwrap())
        .sum::<u64>()
        + p["unowned"]["wasted"].as_u64().unwrap()
        + p["databases"]["wasted"].as_u64().unwrap();
    assert_eq!(size, e["visible"].as_u64().unwrap(), "visible bytes");
    assert_eq!(wasted, e["wasted"].as_u64().unwrap(), "wasted bytes");
    assert_eq!(
        e["visible"].as_u64().unwrap() + e["wasted"].as_u64().unwrap(),
        e["size"].as_u64().unwrap()
    );
}

/// The image's filesystem, as `docker export` gives it, unpacked in `dir`.
fn export(image: &Image, dir: &Path) -> PathBuf {
    let root = dir.join(format!("root-{}", image.tag.replace(['/', ':'], "_")));
    std::fs::create_dir_all(&root).unwrap();
    let id = String::from_utf8_lossy(&docker_ok(&["create", &image.tag, "/none"]).stdout)
        .trim()
        .to_string();
    let tar = dir.join("export.tar");
    docker_ok(&["export", "-o", tar.to_str().unwrap(), &id]);
    docker_ok(&["rm", &id]);
    run(
        "tar",
        &["-C", root.to_str().unwrap(), "-xf", tar.to_str().unwrap()],
    );
    std::fs::remove_file(tar).unwrap();
    root
}

/// What the independent count says each dpkg package owns.
fn oracle(root: &Path) -> BTreeMap<String, (String, u64, u64)> {
    let script = repo_root().join("tests/fixtures/dpkg-oracle");
    let out = run(script.to_str().unwrap(), &[root.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["packages"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                (
                    p["version"].as_str().unwrap().to_string(),
                    p["size"].as_u64().unwrap(),
                    p["files"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// A Debian 12 (bookworm) root made by debootstrap, imported as an image.
fn debootstrap(dir: &Path) -> Image {
    require_tool("dpkg-query");
    let found = Command::new("debootstrap").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "`debootstrap` is needed on PATH; run scripts/ensure-tools (or apt-get install debootstrap)"
    );
    let root = dir.join("debootstrap");
    run(
        "debootstrap",
        &[
            "--variant=minbase",
            "bookworm",
            root.to_str().unwrap(),
            MIRROR,
        ],
    );
    let image = import_dir(&root, "deb12");
    std::fs::remove_dir_all(root).unwrap();
    image
}

fn from(base: &Image, name: &str, steps: &str) -> Image {
    build_dockerfile(name, &[], &format!("FROM {}\n{steps}", base.tag))
}

fn check(dir: &Path, config: &str, extra: &[&str]) -> (std::process::Output, Value) {
    std::fs::write(dir.join("budgets.toml"), config).unwrap();
    let report = dir.join("report.json");
    let mut args = vec!["check", "--format", "json", "--output"];
    args.push(report.to_str().unwrap());
    args.extend(extra);
    let out = budget(dir, &args);
    let report = read_json(&report);
    (out, report)
}

#[test]
fn a_debian_image_names_each_package_with_the_exact_bytes_dpkg_owns() {
    require_engine();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let base = debootstrap(dir);
    // As the kitchen image is built: a toolchain installed where it runs.
    let kitchen = from(
        &base,
        "kitchen",
        "RUN apt-get update && apt-get install -y build-essential\n",
    );

    // Every package of both images as dpkg owns it, counted independently.
    for image in [&base, &kitchen] {
        let e = explain(dir, &image.tag, None);
        assert_adds_up(&e);
        let root = export(image, dir);
        let mine = installed(&e);
        let theirs = oracle(&root);
        assert_eq!(
            mine.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        );
        for (name, want) in &theirs {
            assert_eq!(&mine[name], want, "{name} in {}", image.tag);
        }
        std::fs::remove_dir_all(root).unwrap();
    }
    let e = explain(dir, &kitchen.tag, Some(&base.tag));
    assert_eq!(e["packages"]["found"], serde_json::json!(["dpkg"]));
    // Its bytes are the oracle's (above); here, where it came from.
    let gcc = package(&e, "gcc-12");
    assert_eq!(gcc["layer"], 2);
    assert_eq!(gcc["manual"], false);
    assert_eq!(gcc["pulled_in_by"], "build-essential");
    assert_eq!(package(&e, "build-essential")["manual"], true);

    // The layer that ran apt-get added exactly the packages the base lacks,
    // and the diff against the base names the same ones.
    let base_names: BTreeSet<String> = installed(&explain(dir, &base.tag, None))
        .into_keys()
        .collect();
    let kitchen_names: BTreeSet<String> = installed(&e).into_keys().collect();
    let new: BTreeSet<String> = kitchen_names.difference(&base_names).cloned().collect();
    let layer2: BTreeSet<String> = e["layers"][1]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["change"], "added");
            c["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(layer2, new);
    let changes = &e["package_changes"];
    assert_eq!(changes["added"].as_u64().unwrap() as usize, new.len());
    assert_eq!(changes["removed"], 0);
    let diffed: BTreeSet<String> = changes["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(diffed, new);
    assert!(
        changes["top"][0]["delta"].as_i64().unwrap()
            >= changes["top"][1]["delta"].as_i64().unwrap()
    );

    // Recommends: what --no-install-recommends leaves out is exactly what
    // the analysis says only a Recommends brought.
    let lean = from(
        &base,
        "lean",
        "RUN apt-get update && apt-get install -y --no-install-recommends build-essential\n",
    );
    let lean_names: BTreeSet<String> = installed(&explain(dir, &lean.tag, None))
        .into_keys()
        .collect();
    let dropped: BTreeSet<String> = kitchen_names.difference(&lean_names).cloned().collect();
    let flagged: BTreeSet<String> = e["packages"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["recommended_only"] == true)
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!dropped.is_empty());
    assert_eq!(flagged, dropped);
    let recommends = e["advice"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "recommends")
        .expect("recommends advice");
    let flagged_bytes: u64 = flagged
        .iter()
        .map(|n| package(&e, n)["size"].as_u64().unwrap())
        .sum();
    assert_eq!(recommends["size"].as_u64().unwrap(), flagged_bytes);
    let toolchain = e["advice"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "toolchain")
        .expect("toolchain advice");
    assert!(
        toolchain["what"]
            .as_str()
            .unwrap()
            .starts_with("a compiler toolchain in the final image: gcc-12"),
        "{toolchain}"
    );

    // A package purged in a later layer: its bytes are that package's
    // wasted bytes, and the layer says it removed it.
    let purged = from(&kitchen, "purged", "RUN apt-get purge -y g++-12\n");
    let p = explain(dir, &purged.tag, None);
    assert_adds_up(&p);
    let gpp = package(&p, "g++-12");
    assert_eq!(gpp["version"], Value::Null);
    assert_eq!(
        gpp["wasted"].as_u64().unwrap(),
        package(&e, "g++-12")["size"].as_u64().unwrap()
    );
    let removed: Vec<&Value> = p["layers"][2]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "removed")
        .collect();
    assert!(removed.iter().any(|c| c["name"] == "g++-12"), "{removed:?}");

    // A diversion dpkg keeps (a local one, renaming tar's /bin/tar).
    let diverted = from(
        &base,
        "diverted",
        "RUN dpkg-divert --local --rename --divert /bin/tar.real --add /bin/tar\n",
    );
    let d = explain(dir, &diverted.tag, None);
    assert_adds_up(&d);
    let root = export(&diverted, dir);
    assert_eq!(
        installed(&d)["tar"],
        oracle(&root)["tar"],
        "tar's own /bin/tar is at /usr/bin/tar.real"
    );

    // deny-packages fails the kitchen image, naming gcc-12 and its bytes,
    // and passes the multi-stage build that copies only the program. (On
    // a Debian final stage `gcc-*` would also match gcc-12-base, the
    // C runtime's documentation every Debian image holds.)
    let staged = build_dockerfile(
        "staged",
        &[],
        &format!(
            "FROM {} AS build\nRUN printf 'int main(void){{return 0;}}\\n' > /m.c && gcc -O2 -static -o /m /m.c\nFROM scratch\nCOPY --from=build /m /m\n",
            kitchen.tag
        ),
    );
    let (out, report) = check(
        dir,
        &format!(
            "[defaults]\ndeny-packages = [\"gcc-*\"]\n\n[images.kitchen]\nref = \"{}\"\n\n[images.staged]\nref = \"{}\"\n",
            kitchen.tag, staged.tag
        ),
        &[],
    );
    assert_exit(&out, 1);
    let k = row(&report, "kitchen");
    assert_eq!(k["status"], "fail");
    let gcc_size = package(&e, "gcc-12")["size"].as_u64().unwrap();
    let finding = k["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().starts_with("holds gcc-12 "))
        .unwrap_or_else(|| panic!("no gcc-12 finding: {k:#}"));
    assert_eq!(finding["code"], "deny-packages");
    assert_eq!(finding["metric"], "packages");
    assert_eq!(finding["actual"].as_u64(), Some(gcc_size));
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .ends_with("denied by `gcc-*` in deny-packages")
    );
    // The failing image is explained from the same reading: its packages.
    assert!(
        k["explanation"]["packages"][0]["name"].is_string(),
        "{:#}",
        k["explanation"]
    );
    assert_eq!(row(&report, "staged")["status"], "pass");

    // A pull request that adds a package: the comment names it with its
    // bytes, the package that asked for it and the layer.
    let main = retag(&kitchen, &format!("{}-main", kitchen.tag.replace(":t", "")));
    let grown = from(
        &kitchen,
        "grown",
        "RUN apt-get install -y --no-install-recommends zstd\n",
    );
    let zstd = package(&explain(dir, &grown.tag, None), "zstd")["size"]
        .as_u64()
        .unwrap();
    let (out, report) = check(
        dir,
        &format!(
            "[images.app]\nref = \"{}\"\nbaseline = \"{}\"\nmax-growth = \"1kB\"\n",
            grown.tag, main.tag
        ),
        &[],
    );
    assert_exit(&out, 1);
    let change = &row(&report, "app")["explanation"]["packages"][0];
    assert_eq!(change["name"], "zstd", "{change}");
    assert_eq!(change["change"], "added");
    assert_eq!(change["size"].as_u64(), Some(zstd));
    assert_eq!(change["manual"], true);
    let report: image_budget::model::Report = serde_json::from_value(report).unwrap();
    let body = image_budget::report::comment::render(&report, &Default::default());
    let line = body
        .lines()
        .find(|l| l.contains("zstd") && l.contains("added, asked for"))
        .unwrap_or_else(|| panic!("the comment names no zstd package:\n{body}"));
    let human = image_budget::size::human(zstd);
    assert!(line.contains(&format!("+{human}")), "{line}");
    assert!(
        line.contains("apt-get install -y --no-install-recommends zstd"),
        "{line}"
    );
}

/// A distroless-style root: packages of this machine's own dpkg database
/// written as `status.d/NAME` and `NAME.md5sums`, with their files.
#[test]
fn distroless_status_d_counts_the_files_each_md5sums_lists() {
    require_engine();
    require_tool("dpkg-query");
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let status_d = root.join("var/lib/dpkg/status.d");
    std::fs::create_dir_all(&status_d).unwrap();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for name in ["netbase", "tzdata", "debianutils"] {
        let paragraph = run("dpkg-query", &["-s", name]).stdout;
        std::fs::write(status_d.join(name), &paragraph).unwrap();
        let sums = std::fs::read_to_string(format!("/var/lib/dpkg/info/{name}.md5sums"))
            .unwrap_or_else(|e| panic!("this machine's {name}.md5sums: {e}"));
        std::fs::write(status_d.join(format!("{name}.md5sums")), &sums).unwrap();
        let mut bytes = 0;
        for line in sums.lines() {
            let path = line.split_once("  ").unwrap().1;
            let from = Path::new("/").join(path);
            let to = root.join(path);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
            bytes += std::fs::symlink_metadata(&to).unwrap().len();
        }
        want.insert(name.to_string(), bytes);
    }
    // A package whose builder wrote no md5sums: named, bytes unknown.
    std::fs::write(
        status_d.join("base-files"),
        run("dpkg-query", &["-s", "base-files"]).stdout,
    )
    .unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=debian\n").unwrap();
    let image = import_dir(&root, "distroless");
    let e = explain(work.path(), &image.tag, None);
    assert_adds_up(&e);
    for (name, bytes) in &want {
        assert_eq!(package(&e, name)["size"].as_u64(), Some(*bytes), "{name}");
    }
    assert_eq!(package(&e, "base-files")["size"], Value::Null);
    assert_eq!(e["packages"]["unowned"]["size"], 10, "/etc/os-release");
    let notes = e["packages"]["notes"].to_string();
    assert!(notes.contains("base-files"), "{notes}");
}

/// Python packages installed by pip and node packages by npm, copied into an
/// image: each package's bytes as Python's own metadata reader and npm's
/// tree count them.
#[test]
fn pip_and_npm_packages_own_what_their_records_and_directories_hold() {
    require_engine();
    require_tool("npm");
    let work = tempfile::tempdir().unwrap();
    let ctx = work.path().join("ctx");
    let prefix = ctx.join("py");
    run(
        "python3",
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-compile",
            "--ignore-installed",
            "--prefix",
            prefix.to_str().unwrap(),
            "six==1.16.0",
            "click==8.1.7",
            "flask==3.0.0",
        ],
    );
    let node = ctx.join("app");
    std::fs::create_dir_all(&node).unwrap();
    // is-odd 3 wants is-number 6, the app is-number 7: a nested node_modules.
    run(
        "npm",
        &[
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            node.to_str().unwrap(),
            "is-number@7.0.0",
            "is-odd@3.0.1",
        ],
    );
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY py /usr/local\nCOPY app /app\n",
    )
    .unwrap();
    let image = Image { tag: tag("pynode") };
    docker_ok(&["build", "-q", "-t", &image.tag, ctx.to_str().unwrap()]);
    let e = explain(work.path(), &image.tag, None);
    assert_adds_up(&e);
    assert_eq!(e["packages"]["found"], serde_json::json!(["python", "npm"]));

    // Python's importlib.metadata reads each RECORD; the files are summed.
    let site = std::fs::read_dir(prefix.join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("site-packages");
    let oracle = run(
        "python3",
        &[
            "-c",
            "import importlib.metadata as m, json, os, sys\n\
             out = {}\n\
             for d in m.distributions(path=[sys.argv[1]]):\n\
             \x20   out[d.metadata['Name'].lower()] = (d.version, sum(os.lstat(f.locate()).st_size for f in d.files))\n\
             print(json.dumps(out))",
            site.to_str().unwrap(),
        ],
    );
    let python: BTreeMap<String, (String, u64)> = serde_json::from_slice(&oracle.stdout).unwrap();
    assert_eq!(python.len(), 3);
    for (name, (version, bytes)) in &python {
        let p = e["packages"]["top"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str().unwrap().to_lowercase() == *name)
            .unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(p["ecosystem"], "python");
        assert_eq!(p["version"].as_str(), Some(version.as_str()));
        assert_eq!(p["size"].as_u64(), Some(*bytes), "{name}");
    }
    // flask's console script, listed as ../../../bin/flask, is among the
    // files both count.
    assert!(prefix.join("bin/flask").is_file());

    // npm's own tree names the packages; each owns its directory but what
    // is nested in its node_modules.
    fn tree_bytes(dir: &Path) -> u64 {
        let mut total = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                if entry.file_name() != "node_modules" {
                    total += tree_bytes(&entry.path());
                }
            } else {
                total += meta.len();
            }
        }
        total
    }
    let modules = node.join("node_modules");
    let want = [
        ("is-number", "7.0.0", modules.join("is-number")),
        ("is-odd", "3.0.1", modules.join("is-odd")),
    ];
    let npm_rows: Vec<&Value> = e["packages"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "npm")
        .collect();
    for (name, version, path) in &want {
        let p = npm_rows
            .iter()
            .find(|p| p["name"] == *name && p["version"] == *version)
            .unwrap_or_else(|| panic!("no {name} {version} in {npm_rows:?}"));
        assert_eq!(p["size"].as_u64(), Some(tree_bytes(path)), "{name}");
    }
    // The nested is-number 6 is counted under is-odd's node_modules, once.
    let nested = modules.join("is-odd/node_modules/is-number");
    assert!(nested.is_dir(), "npm nested is-number 6 under is-odd");
    let all_npm: u64 = npm_rows.iter().map(|p| p["size"].as_u64().unwrap()).sum();
    let sum: u64 = want.iter().map(|(_, _, p)| tree_bytes(p)).sum::<u64>() + tree_bytes(&nested);
    assert_eq!(all_npm, sum);
}

/// An rpm database made by Debian's rpm tools in a root of its own, and an
/// apk database written to its specification.
#[test]
fn rpm_and_apk_databases_name_their_packages_files() {
    require_engine();
    require_tool("rpm");
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("rpmroot");
    let made = run(
        repo_root()
            .join("tests/fixtures/make-rpm-root")
            .to_str()
            .unwrap(),
        &[root.to_str().unwrap()],
    );
    assert!(String::from_utf8_lossy(&made.stdout).contains("/opt/budget-fixture/sub/data.bin"));
    // The apk database (lib/apk/db/installed, one record per package: P the
    // name, V the version, F a directory, R a file in it).
    let apk = root.join("lib/apk/db");
    std::fs::create_dir_all(&apk).unwrap();
    std::fs::write(
        apk.join("installed"),
        "C:Q1hdUpqRv5mYgJEqW52UmVsvmeGNE=\nP:musl\nV:1.2.4-r2\nA:x86_64\nF:lib\nR:ld-musl-x86_64.so.1\nZ:Q1abc=\n\nP:zlib\nV:1.3.1-r0\nA:x86_64\nD:so:libc.musl-x86_64.so.1\nF:lib\nR:libz.so.1.3.1\nR:libz.so.1\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::write(root.join("lib/ld-musl-x86_64.so.1"), content(600_000, 1)).unwrap();
    std::fs::write(root.join("lib/libz.so.1.3.1"), content(90_000, 2)).unwrap();
    std::os::unix::fs::symlink("libz.so.1.3.1", root.join("lib/libz.so.1")).unwrap();
    let image = import_dir(&root, "rpmapk");
    let e = explain(work.path(), &image.tag, None);
    assert_adds_up(&e);
    assert_eq!(e["packages"]["found"], serde_json::json!(["apk", "rpm"]));
    let fixture = package(&e, "budget-fixture");
    assert_eq!(fixture["ecosystem"], "rpm");
    assert_eq!(fixture["version"], "1:2.5-3");
    assert_eq!(fixture["size"], 16, "hello.txt (6) and sub/data.bin (10)");
    assert_eq!(fixture["files"], 2);
    assert_eq!(package(&e, "musl")["size"], 600_000);
    assert_eq!(
        package(&e, "zlib")["size"],
        90_000 + "libz.so.1.3.1".len() as u64
    );
    // rpm's and apk's own files are the databases'.
    let db_bytes: u64 = walk(&root.join("var/lib/rpm")) + walk(&apk);
    assert_eq!(e["packages"]["databases"]["size"].as_u64(), Some(db_bytes));
    assert_eq!(e["packages"]["unowned"]["size"], 0);
}

/// The bytes of the files under `dir`.
fn walk(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                walk(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}
