//! `budget init`: a budgets.toml from today's sizes plus headroom: the images
//! measured, the file rendered (pure) and written.

use std::collections::HashSet;
use std::fmt::Write;

use super::Exit;
use crate::cli::InitArgs;
use crate::measure::cache::Cache;
use crate::measure::{Needs, Options, Sources};
use crate::model::Metrics;
use crate::output;
use crate::size;

/// What `init` needs to know of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    pub reference: String,
    pub size: u64,
    pub layers: u64,
}

/// A config key for a reference: its repository's last path part, made safe
/// for a bare TOML key (`ghcr.io/acme/api:1.2` gives `api`).
pub fn name_for(reference: &str) -> String {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let repo = last.split(':').next().unwrap_or(last);
    let name: String = repo
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "image".to_string()
    } else {
        name
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The config text: one `[images.NAME]` per image, budgets at today's size
/// plus `headroom` percent, each rounded up to a tidy figure.
pub fn render(images: &[Measured], headroom: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Size budgets for image-budget, written by `budget init` from today's sizes plus {headroom}% headroom."
    );
    out.push_str("# Every key is described in budgets.example.toml. Sizes: 1 MB = 1,000,000 bytes, 1 MiB = 1,048,576.\n\n");
    out.push_str("[defaults]\n");
    out.push_str("# Compare each image with its main-branch build; growth limits apply only with a baseline.\n");
    out.push_str("# baseline = \"registry.example.com/acme/{name}:main\"\n");
    out.push_str("max-growth = \"5%\"\n");
    out.push_str("warn-growth = \"2%\"\n");
    let mut taken = HashSet::new();
    for image in images {
        let base = name_for(&image.reference);
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        let extra_layers = (image.layers * headroom).div_ceil(100).max(1);
        let _ = write!(
            out,
            "\n[images.{name}]\nref = {}\nmax-size = {}  # today: {}\nmax-layers = {}  # today: {}\n",
            toml_string(&image.reference),
            toml_string(&size::budget_with_headroom(image.size, headroom)),
            size::exact(image.size),
            image.layers + extra_layers,
            image.layers,
        );
    }
    out
}

/// `budget init`.
pub async fn run(args: InitArgs) -> Result<Exit, String> {
    if args.config.exists() && !args.force {
        return Err(format!(
            "`{}` exists already; pass --force to overwrite it, or -c to write another file",
            args.config.display()
        ));
    }
    let env = |name: &str| std::env::var(name).ok();
    let sources = Sources::new(Options {
        cache: Cache::from_env(&env),
        ..Options::default()
    });
    let needs = Needs {
        size: true,
        ..Needs::default()
    };
    let mut measured = Vec::new();
    let mut failures = Vec::new();
    for reference in &args.references {
        match sources.measure(reference, None, needs).await {
            Ok(mut all) => match all.swap_remove(0).metrics {
                Metrics {
                    size: Some(size),
                    layers: Some(layers),
                    ..
                } => measured.push(Measured {
                    reference: reference.clone(),
                    size,
                    layers,
                }),
                _ => failures.push(format!(
                    "the uncompressed size of `{reference}` is unknown at its source; pull it into the engine first"
                )),
            },
            Err(e) => failures.push(e.to_string()),
        }
    }
    if !failures.is_empty() {
        return Err(format!(
            "{}\nnothing was written",
            failures.join("\nerror: ")
        ));
    }
    let text = render(&measured, args.headroom);
    std::fs::write(&args.config, text)
        .map_err(|e| format!("cannot write `{}`: {e}", args.config.display()))?;
    output::say(&format!(
        "wrote {} with {} image{} (today's sizes plus {}% headroom)",
        args.config.display(),
        measured.len(),
        if measured.len() == 1 { "" } else { "s" },
        args.headroom
    ));
    Ok(Exit::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use std::path::Path;

    #[test]
    fn names_come_from_the_repository() {
        assert_eq!(name_for("ghcr.io/acme/api:1.2"), "api");
        assert_eq!(name_for("localhost:5000/web"), "web");
        assert_eq!(name_for("acme/my.app@sha256:abc"), "my-app");
        assert_eq!(name_for("Worker"), "worker");
    }

    #[test]
    fn the_written_config_loads_and_allows_today_plus_headroom() {
        let images = [
            Measured {
                reference: "acme/api:1.2".into(),
                size: 12_345_678,
                layers: 4,
            },
            Measured {
                reference: "other/api:latest".into(),
                size: 999,
                layers: 1,
            },
        ];
        let text = render(&images, 10);
        let plan = config::parse(Path::new("budgets.toml"), &text, &|_| None)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(plan.images.len(), 2);
        assert_eq!(plan.images[0].name, "api");
        assert_eq!(plan.images[1].name, "api-2");
        assert_eq!(plan.images[0].budget.max_size, Some(13_600_000));
        assert_eq!(plan.images[0].budget.max_layers, Some(5));
        assert_eq!(plan.images[1].budget.max_size, Some(1_100));
        assert!(text.contains("# today: 12,345,678 bytes"), "{text}");
    }
}
