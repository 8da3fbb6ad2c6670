//! Sets of images against the engine's own accounting: a dockerd of the
//! test's own (so no other test's images count) holds the set's images; the
//! set's size equals `/system/df`'s `LayersSize` and each image's shared and
//! unique bytes equal its `SharedSize` and `Size - SharedSize` (what `docker
//! system df -v` prints). Images that share a base, a layer of the same
//! digest on different bases (stored twice), a member measured from a
//! registry, a set split across two shards and merged, and a pull request
//! that moves one image off the shared base.

mod common;

use std::path::Path;

use common::dockerd::Dockerd;
use common::registry::LocalRegistry;
use common::*;
use serde_json::Value;

/// A build context of this test's own files (each written once, so that
/// two images copying one file get one layer digest), and images built
/// from it with a Dockerfile each.
struct Context {
    dir: tempfile::TempDir,
}

impl Context {
    fn new(files: &[(&str, usize, u64)]) -> Context {
        let dir = tempfile::tempdir().unwrap();
        for (name, len, seed) in files {
            std::fs::write(dir.path().join(name), content(*len, *seed)).unwrap();
        }
        Context { dir }
    }

    fn build(&self, name: &str, dockerfile: &str) -> Image {
        let file = self.dir.path().join(format!("Dockerfile.{name}"));
        std::fs::write(&file, dockerfile).unwrap();
        let image = Image { tag: tag(name) };
        docker_ok(&[
            "build",
            "-q",
            "-f",
            file.to_str().unwrap(),
            "-t",
            &image.tag,
            self.dir.path().to_str().unwrap(),
        ]);
        image
    }
}

fn set<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["sets"]
        .as_array()
        .unwrap_or_else(|| panic!("no sets in {report:#}"))
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no set {name} in {report:#}"))
}

fn member<'a>(set: &'a Value, name: &str) -> &'a Value {
    set["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no member {name} in {set:#}"))
}

/// `budget check` against the test's own engine, its JSON report written
/// to `dir/NAME.json`.
fn check(
    dir: &Path,
    engine: &Dockerd,
    config: &str,
    extra: &[&str],
    name: &str,
) -> (std::process::Output, Value) {
    std::fs::write(dir.join("budgets.toml"), config).unwrap();
    let report = dir.join(format!("{name}.json"));
    let mut args = vec![
        "check",
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = budget_env(dir, &args, &[("DOCKER_HOST", &engine.host)]);
    let json = read_json(&report);
    (out, json)
}

#[test]
fn a_set_counts_each_layer_chain_once_as_the_engine_stores_it() {
    require_engine();
    let ctx = Context::new(&[
        ("os.bin", 300_000, 0x5e7_0001),
        ("other-os.bin", 200_000, 0x5e7_0002),
        ("common.bin", 40_000, 0x5e7_0003),
        ("api.bin", 50_000, 0x5e7_0004),
        ("web.bin", 70_000, 0x5e7_0005),
    ]);
    let base = ctx.build("set-base", "FROM scratch\nCOPY os.bin /os.bin\n");
    let other = ctx.build("set-other", "FROM scratch\nCOPY other-os.bin /os.bin\n");
    let api = ctx.build(
        "set-api",
        &format!(
            "FROM {}\nCOPY common.bin /common.bin\nCOPY api.bin /app.bin\n",
            base.tag
        ),
    );
    let web = ctx.build(
        "set-web",
        &format!("FROM {}\nCOPY web.bin /app.bin\n", base.tag),
    );
    // The same COPY on another base: the same layer digest, another chain.
    let worker = ctx.build(
        "set-worker",
        &format!("FROM {}\nCOPY common.bin /common.bin\n", other.tag),
    );
    let engine = Dockerd::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    engine.load(&[&api, &web, &worker], dir);
    let df = engine.df();
    let layers_size = df["LayersSize"].as_u64().unwrap();
    let engine_image = |tag: &str| {
        df["Images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["RepoTags"].as_array().unwrap().iter().any(|t| t == tag))
            .unwrap_or_else(|| panic!("no {tag} in /system/df: {df:#}"))
            .clone()
    };

    let config = format!(
        "[images.api]\nref = \"{}\"\n\n[images.web]\nref = \"{}\"\n\n[images.worker]\nref = \"{}\"\n\n\
         [sets.node]\nimages = [\"*\"]\nmax-size = \"{layers_size}\"\n\n\
         [sets.tight]\nimages = [\"api\", \"web\"]\nmax-size = \"300kB\"\n",
        api.tag, web.tag, worker.tag
    );
    let (out, report) = check(dir, &engine, &config, &[], "all-engine");
    assert_exit(&out, 1);
    let node = set(&report, "node");
    assert_eq!(node["size"].as_u64(), Some(layers_size), "{node:#}");
    assert_eq!(node["status"], "pass");
    // Two chains share the base; common.bin is stored twice.
    assert_eq!(node["layers"], 6);
    for (name, image) in [("api", &api), ("web", &web), ("worker", &worker)] {
        let theirs = engine_image(&image.tag);
        let m = member(node, name);
        let shared = theirs["SharedSize"].as_u64().unwrap();
        assert_eq!(m["shared"].as_u64(), Some(shared), "{name}");
        assert_eq!(
            m["unique"].as_u64(),
            Some(theirs["Size"].as_u64().unwrap() - shared),
            "{name}"
        );
    }
    assert_eq!(
        member(node, "worker")["shared"],
        0,
        "its common.bin sits on another base"
    );
    let separate: u64 = ["api", "web", "worker"]
        .iter()
        .map(|n| row(&report, n)["size"].as_u64().unwrap())
        .sum();
    assert_eq!(node["separate"].as_u64(), Some(separate));
    let tight = set(&report, "tight");
    assert_eq!(tight["status"], "fail");
    assert_eq!(tight["findings"][0]["code"], "max-size");
    assert!(report["passed"] == false);
    let err = stderr(&out);
    assert!(err.contains("fail set tight: size"), "{err}");

    // The same images measured in a registry: the same chains, the same
    // set; what a node pulls is the blobs of those chains (common.bin's
    // blob twice, as it is stored twice).
    let registry = LocalRegistry::start();
    let mut refs = Vec::new();
    let mut blobs: Vec<Vec<u64>> = Vec::new();
    for (name, image) in [("api", &api), ("web", &web), ("worker", &worker)] {
        let pushed = registry.docker_push(image, &format!("set/{name}:1"));
        let manifest = registry.manifest(&format!("set/{name}"), "1").json();
        blobs.push(
            manifest["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["size"].as_u64().unwrap())
                .collect(),
        );
        refs.push(pushed);
    }
    // api: os, common, api; web: os, web; worker: other-os, common.
    let pulled = blobs[0].iter().sum::<u64>() + blobs[1][1] + blobs[2].iter().sum::<u64>();
    let config = format!(
        "[images.api]\nref = \"docker://{}\"\n\n[images.web]\nref = \"docker://{}\"\n\n[images.worker]\nref = \"docker://{}\"\n\n\
         [sets.node]\nimages = [\"*\"]\nmax-size = \"{layers_size}\"\nmax-compressed = \"{pulled}\"\n",
        refs[0], refs[1], refs[2]
    );
    let (out, report) = check(dir, &engine, &config, &[], "registry");
    assert_exit(&out, 0);
    let node = set(&report, "node");
    assert_eq!(row(&report, "worker")["source"], "registry");
    assert_eq!(node["size"].as_u64(), Some(layers_size));
    assert_eq!(node["compressed"].as_u64(), Some(pulled));
    assert_eq!(member(node, "worker")["shared"], 0);

    // Engine images know no blob sizes: the set's pull is unknown, and a
    // max-compressed on it is an error, never a pass.
    let config = format!(
        "[images.api]\nref = \"{}\"\n\n[sets.node]\nimages = [\"api\"]\nmax-compressed = \"1GB\"\n",
        api.tag
    );
    let (out, report) = check(dir, &engine, &config, &[], "unknown-pull");
    assert_exit(&out, 2);
    let node = set(&report, "node");
    assert_eq!(node["compressed"], Value::Null);
    assert_eq!(node["status"], "error");
}

#[test]
fn shards_carry_the_sets_and_merge_judges_them() {
    require_engine();
    let ctx = Context::new(&[
        ("os.bin", 250_000, 0x5e7_1001),
        ("api.bin", 10_000, 0x5e7_1002),
        ("front.bin", 20_000, 0x5e7_1003),
    ]);
    let base = ctx.build("shard-base", "FROM scratch\nCOPY os.bin /os.bin\n");
    let api = ctx.build(
        "shard-api",
        &format!("FROM {}\nCOPY api.bin /app.bin\n", base.tag),
    );
    let front = ctx.build(
        "shard-front",
        &format!("FROM {}\nCOPY front.bin /app.bin\n", base.tag),
    );
    let engine = Dockerd::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    engine.load(&[&api, &front], dir);
    let layers_size = engine.df()["LayersSize"].as_u64().unwrap();
    // `api` and `front` fall in different shards of 2.
    let shard = |s: &str| s.parse::<image_budget::shard::Shard>().unwrap();
    assert!(shard("2/2").holds("api") && shard("1/2").holds("front"));
    let config = format!(
        "[images.api]\nref = \"{}\"\n\n[images.front]\nref = \"{}\"\n\n[sets.node]\nimages = [\"api\", \"front\"]\nmax-size = \"{}\"\n",
        api.tag,
        front.tag,
        layers_size - 1
    );
    let (one, first) = check(dir, &engine, &config, &["--shard", "1/2"], "shard1");
    let (two, second) = check(dir, &engine, &config, &["--shard", "2/2"], "shard2");
    // Neither shard can see the whole set: each passes on its own image.
    assert_exit(&one, 0);
    assert_exit(&two, 0);
    assert!(first.get("sets").is_none() && second.get("sets").is_none());
    // A run that names only some of a set's images says the set is left out.
    let (some, _) = check(dir, &engine, &config, &["api"], "named");
    assert_exit(&some, 0);
    assert!(
        stderr(&some).contains(
            "set node is not judged: not all of its images were checked in this run (api, front)"
        ),
        "{}",
        stderr(&some)
    );
    assert_eq!(first["set_plans"][0]["name"], "node");
    let merged = dir.join("merged.json");
    let out = budget(
        dir,
        &[
            "merge",
            "shard1.json",
            "shard2.json",
            "--output",
            merged.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 1);
    let merged = read_json(&merged);
    let node = set(&merged, "node");
    assert_eq!(node["size"].as_u64(), Some(layers_size));
    assert_eq!(node["status"], "fail");
    assert!(
        stderr(&out).contains("fail set node: size"),
        "{}",
        stderr(&out)
    );
    assert_eq!(merged["passed"], false);
}

#[test]
fn a_pull_request_that_moves_an_image_off_the_shared_base_says_so() {
    require_engine();
    let ctx = Context::new(&[
        ("os.bin", 180_000, 0x5e7_2001),
        ("other-os.bin", 190_000, 0x5e7_2002),
        ("api.bin", 10_000, 0x5e7_2003),
        ("web.bin", 12_000, 0x5e7_2004),
        ("worker.bin", 14_000, 0x5e7_2005),
    ]);
    let base = ctx.build("move-base", "FROM scratch\nCOPY os.bin /os.bin\n");
    let other = ctx.build("move-other", "FROM scratch\nCOPY other-os.bin /os.bin\n");
    let on = |name: &str, from: &Image| {
        ctx.build(
            &format!("move-{name}"),
            &format!("FROM {}\nCOPY {name}.bin /app.bin\n", from.tag),
        )
    };
    let (api, web, worker) = (on("api", &base), on("web", &base), on("worker", &base));
    let moved = ctx.build(
        "move-web2",
        &format!("FROM {}\nCOPY web.bin /app.bin\n", other.tag),
    );
    let engine = Dockerd::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    engine.load(&[&api, &web, &worker, &moved], dir);
    let config = |web: &Image| {
        format!(
            "[images.api]\nref = \"{}\"\n\n[images.web]\nref = \"{}\"\n\n[images.worker]\nref = \"{}\"\n\n\
             [sets.node]\nimages = [\"*\"]\nmax-growth = \"10%\"\n",
            api.tag, web.tag, worker.tag
        )
    };
    // main's run, saved as the baseline.
    let (out, main) = check(dir, &engine, &config(&web), &[], "main");
    assert_exit(&out, 0);
    std::fs::write(dir.join("main.json"), main.to_string()).unwrap();
    let before = set(&main, "node")["size"].as_u64().unwrap();
    // The pull request moves web off the shared base.
    let (out, report) = check(
        dir,
        &engine,
        &config(&moved),
        &["--baseline", "main.json"],
        "pull-request",
    );
    assert_exit(&out, 1);
    let node = set(&report, "node");
    let after = node["size"].as_u64().unwrap();
    // web's own layer is as big as before; the base it now sits on is new.
    assert_eq!(after - before, other.inspect_size());
    assert_eq!(node["status"], "fail");
    assert_eq!(node["findings"][0]["code"], "max-growth");
    let w = member(node, "web");
    assert_eq!(w["shared"], 0);
    assert_eq!(w["baseline_shared"].as_u64(), Some(base.inspect_size()));
    assert_eq!(
        w["stopped_sharing_with"],
        serde_json::json!(["api", "worker"])
    );
    let report: image_budget::model::Report = serde_json::from_value(report).unwrap();
    let body = image_budget::report::comment::render(&report, &Default::default());
    let said = format!(
        "web no longer shares {} of layers with api and worker",
        image_budget::size::human(base.inspect_size())
    );
    assert!(
        body.contains(&said),
        "{said} is not in the comment:\n{body}"
    );
    assert!(body.contains("sharing saves"), "{body}");
}
