use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "GITHUB_SHA" => Some("abc123".into()),
        "LIMIT" => Some("20MB".into()),
        _ => None,
    }
}

fn plan(text: &str) -> Plan {
    parse(Path::new("budgets.toml"), text, &env).unwrap_or_else(|e| panic!("{e}"))
}

fn problems(text: &str) -> Vec<String> {
    match parse(Path::new("budgets.toml"), text, &env) {
        Ok(plan) => panic!("expected problems, got {plan:?}"),
        Err(Error::Invalid(problems)) => problems
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn reads_images_with_defaults_merged() {
    let plan = plan(
        r#"
[defaults]
baseline = "ghcr.io/acme/{name}:main"
max-growth = "5%"
warn-growth = "2%"
max-layers = 30

[images.api]
ref = "ghcr.io/acme/api:${GITHUB_SHA:-dev}"
max-size = "150MB"
warn-size = "140MiB"
max-layers = 20
platform = "linux/amd64"

[images.worker]
ref = "acme/worker:${TAG:-dev}"
max-size = "${LIMIT}"
max-growth = "10MB"
"#,
    );
    assert_eq!(plan.images.len(), 2);
    let api = &plan.images[0];
    assert_eq!(api.name, "api");
    assert_eq!(api.reference, "ghcr.io/acme/api:abc123");
    assert_eq!(api.reference_at.to_string(), "budgets.toml:9:7");
    assert_eq!(api.baseline.as_deref(), Some("ghcr.io/acme/api:main"));
    assert_eq!(
        api.platform,
        Some(PlatformChoice::One("linux/amd64".into()))
    );
    assert_eq!(
        api.budget,
        Budget {
            max_size: Some(150_000_000),
            warn_size: Some(140 * 1_048_576),
            max_layers: Some(20),
            max_wasted: None,
            max_compressed: None,
            max_growth: Some(Growth::Percent {
                digits: 5,
                scale: 0
            }),
            warn_growth: Some(Growth::Percent {
                digits: 2,
                scale: 0
            }),
            deny_packages: Vec::new(),
        }
    );
    let worker = &plan.images[1];
    assert_eq!(worker.name, "worker");
    assert_eq!(worker.reference, "acme/worker:dev");
    assert_eq!(worker.baseline.as_deref(), Some("ghcr.io/acme/worker:main"));
    assert_eq!(worker.budget.max_size, Some(20_000_000));
    assert_eq!(worker.budget.max_layers, Some(30));
    assert_eq!(worker.budget.max_growth, Some(Growth::Bytes(10_000_000)));
}

#[test]
fn plain_byte_counts_are_accepted() {
    let plan = plan("[images.a]\nref = \"a\"\nmax-size = 1048576\nmax-growth = 4096\n");
    assert_eq!(plan.images[0].budget.max_size, Some(1_048_576));
    assert_eq!(plan.images[0].budget.max_growth, Some(Growth::Bytes(4096)));
}

#[test]
fn every_problem_is_reported_at_its_place() {
    let got = problems(
        r#"[defaults]
max_growth = "5%"

[images.api]
ref = "acme/api:${NOPE}"
max-size = "150 MBB"
warn-size = 0
max-layers = -3
colour = "blue"

[images.web]
max-size = "1GB"
"#,
    );
    assert_eq!(
        got,
        vec![
            "budgets.toml:2:1: unknown key `max_growth` in `[defaults]`; did you mean `max-growth`?",
            "budgets.toml:5:7: in `ref`: environment variable `NOPE` is not set; set it, or give a default: `${NOPE:-value}`",
            "budgets.toml:6:12: `max-size` = \"150 MBB\": unknown unit `MBB`; write a size such as \"150MB\" (SI, 1 MB = 1,000,000 bytes), \"140MiB\" (IEC, 1 MiB = 1,048,576 bytes) or a number of bytes",
            "budgets.toml:7:13: `warn-size` must be greater than zero; remove the key for no limit",
            "budgets.toml:8:14: `max-layers` must be a whole number above zero, found -3",
            "budgets.toml:9:1: unknown key `colour` in `[images.api]`; expected one of: ref, baseline, platform, max-size, warn-size, max-compressed, max-layers, max-wasted, max-growth, warn-growth, deny-packages",
            "budgets.toml:11:9: image `web` has no `ref`: add `ref = \"REPOSITORY:TAG\"` to `[images.web]`",
        ]
    );
}

#[test]
fn a_misspelt_ref_is_one_problem() {
    let got = problems("[images.api]\nreff = \"acme/api\"\n");
    assert_eq!(
        got,
        vec!["budgets.toml:2:1: unknown key `reff` in `[images.api]`; did you mean `ref`?"]
    );
}

#[test]
fn syntax_errors_point_at_the_line() {
    let got = problems("[images.api]\nref = \"acme/api\nmax-size = 3\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("budgets.toml:2:"), "{got:?}");
    assert!(got[0].contains("invalid TOML"), "{got:?}");
}

#[test]
fn empty_and_imageless_configs_are_refused() {
    assert_eq!(
        problems(""),
        vec![
            "budgets.toml:1:1: no images to check: add a table such as `[images.api]` with `ref = \"acme/api:latest\"`"
        ]
    );
    assert_eq!(problems("[defaults]\nmax-growth = \"5%\"\n").len(), 1);
    assert_eq!(
        problems("images = 3\n"),
        vec![
            "budgets.toml:1:10: `images` must be a table of images: write `[images.NAME]` with a `ref`"
        ]
    );
}

#[test]
fn types_are_checked() {
    let got = problems("[images.api]\nref = 3\nmax-size = true\nplatform = \"amd64\"\n");
    assert_eq!(
        got,
        vec![
            "budgets.toml:2:7: `ref` must be a string such as \"acme/api:1.2\", found the number 3",
            "budgets.toml:3:12: `max-size` must be a size, found `true`; write a size such as \"150MB\" (SI, 1 MB = 1,000,000 bytes), \"140MiB\" (IEC, 1 MiB = 1,048,576 bytes) or a number of bytes",
            "budgets.toml:4:12: `amd64` is not a platform: write `os/arch` or `os/arch/variant` (\"linux/amd64\", \"linux/arm64/v8\") or \"all\"",
        ]
    );
}

#[test]
fn warn_size_must_be_below_max_size() {
    let got = problems("[images.api]\nref = \"a\"\nmax-size = \"10MB\"\nwarn-size = \"10MB\"\n");
    assert_eq!(
        got,
        vec![
            "budgets.toml:4:13: `warn-size` (10.0 MB) must be below `max-size` (10.0 MB), or the warning can never fire"
        ]
    );
}

#[test]
fn max_wasted_is_a_size_budget() {
    let plan = parse(
        Path::new("budgets.toml"),
        "[defaults]\nmax-wasted = \"6MB\"\n[images.api]\nref = \"a\"\n[images.web]\nref = \"b\"\nmax-wasted = \"1MiB\"\n",
        &|_| None,
    )
    .unwrap();
    assert_eq!(plan.images[0].budget.max_wasted, Some(6_000_000));
    assert_eq!(plan.images[1].budget.max_wasted, Some(1_048_576));
    let got = problems(
        "[defaults]\nbaseline = \"acme/{name}:{sha}\"\n[images.api]\nref = \"a\"\nmax-wasted = \"lots\"\n",
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("budgets.toml:5:14: `max-wasted` = \"lots\": `lots` is not a number"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("budgets.toml:2:12: in `baseline`"),
        "{got:?}"
    );
}

#[test]
fn zero_growth_and_negative_sizes_are_refused() {
    let got = problems(
        "[images.api]\nref = \"a\"\nmax-growth = \"0%\"\nmax-size = \"-1MB\"\nwarn-growth = -4\n",
    );
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].contains("`max-growth` must be greater than zero"));
    assert!(got[1].contains("sizes cannot be negative"));
    assert!(got[2].contains("`warn-growth` = -4 is not allowed"));
}

#[test]
fn images_keep_their_order() {
    let plan = plan("[images.zeta]\nref = \"z\"\n[images.alpha]\nref = \"a\"\n");
    let names: Vec<_> = plan.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha"]);
}

#[test]
fn locations_count_characters_not_bytes() {
    let got = problems("# café ☕\n[images.api]\nref = \"a\"\nmax-size = \"x\"\n");
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("budgets.toml:4:12:"), "{got:?}");
}

#[test]
fn merge_base_and_registries_are_read() {
    let plan = plan(
        r#"
[registries]
insecure = ["registry.internal:5000", "10.0.0.7"]

[images.api]
ref = "registry.internal:5000/api:${GITHUB_SHA:-dev}"
baseline = "registry.internal:5000/{name}:{merge-base:8}"
max-compressed = "60MB"
platform = "all"
"#,
    );
    assert_eq!(
        plan.insecure_registries,
        ["registry.internal:5000", "10.0.0.7"]
    );
    let api = &plan.images[0];
    assert_eq!(
        api.baseline.as_deref(),
        Some("registry.internal:5000/api:{merge-base:8}")
    );
    assert_eq!(api.budget.max_compressed, Some(60_000_000));
    assert_eq!(api.platform, Some(PlatformChoice::All));
    let got =
        problems("[registries]\ninsecure = [\"http://x\"]\nsecure = []\n[images.a]\nref = \"a\"\n");
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("budgets.toml:2:13: an insecure registry is written"));
    assert!(got[1].starts_with("budgets.toml:3:1: unknown key `secure` in `[registries]`"));
}

#[test]
fn deny_packages_is_a_list_of_patterns_per_image_or_in_defaults() {
    let plan = plan(
        r#"
[defaults]
deny-packages = ["gcc-*", "*-dev"]

[images.api]
ref = "acme/api:1"

[images.builder]
ref = "acme/builder:1"
deny-packages = ["build-essential"]
"#,
    );
    assert_eq!(plan.images[0].budget.deny_packages, ["gcc-*", "*-dev"]);
    assert_eq!(plan.images[1].budget.deny_packages, ["build-essential"]);
    assert!(plan.images[0].budget.has(BudgetKey::DenyPackages));
}

#[test]
fn deny_packages_problems_point_at_the_entry() {
    let found = problems(
        r#"
[images.api]
ref = "acme/api:1"
deny-packages = "gcc-*"

[images.web]
ref = "acme/web:1"
deny-packages = ["gcc-*", 3, ""]

[images.db]
ref = "acme/db:1"
deny-packages = []
deny-pakages = ["x"]
"#,
    );
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(
        found[0].starts_with("budgets.toml:4:17: `deny-packages` must be a list"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("budgets.toml:8:27: each `deny-packages` entry"),
        "{}",
        found[1]
    );
    assert!(found[2].starts_with("budgets.toml:8:30: "), "{}", found[2]);
    assert!(
        found[3].starts_with("budgets.toml:12:17: `deny-packages` is empty"),
        "{}",
        found[3]
    );
    assert!(
        found[4].contains("unknown key `deny-pakages`") && found[4].contains("deny-packages"),
        "{}",
        found[4]
    );
}

#[test]
fn sets_name_images_of_the_config_and_take_size_budgets() {
    let plan = plan(
        r#"
[images.api]
ref = "acme/api:1"

[images.web]
ref = "acme/web:1"

[sets.node]
images = ["api", "web"]
max-size = "1.5GB"
max-compressed = "600MB"
max-growth = "5%"

[sets.all]
images = ["*"]
"#,
    );
    assert_eq!(plan.sets.len(), 2);
    assert_eq!(plan.sets[0].name, "node");
    assert_eq!(plan.sets[0].images, ["api", "web"]);
    assert_eq!(plan.sets[0].budget.max_size, Some(1_500_000_000));
    assert_eq!(plan.sets[0].budget.max_compressed, Some(600_000_000));
    assert_eq!(plan.sets[1].images, ["api", "web"]);
    // An image is measured for its sets' budgets too.
    assert_eq!(plan.images[0].set_budgets.max_size, Some(1_500_000_000));
    assert_eq!(plan.images[0].budget.max_size, None);
}

#[test]
fn set_problems_point_at_their_place() {
    let found = problems(
        r#"
[images.api]
ref = "acme/api:1"

[sets.node]
images = ["api", "wbe"]
max-layers = 3
colour = "red"

[sets.empty]
max-size = "1GB"
"#,
    );
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(
        found[0].starts_with(
            "budgets.toml:6:18: `wbe` in `[sets.node]` is not an image of this config"
        ),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("budgets.toml:7:1: `max-layers` is an image's budget, not a set's"),
        "{}",
        found[1]
    );
    assert!(
        found[2].starts_with("budgets.toml:8:1: unknown key `colour` in `[sets.node]`"),
        "{}",
        found[2]
    );
    assert!(
        found[3].starts_with("budgets.toml:10:7: set `empty` has no `images`"),
        "{}",
        found[3]
    );
}
