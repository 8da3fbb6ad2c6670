//! Measuring images file by file for `budget explain`, and for the images a
//! `check` finds over a threshold: every layer's entries read (the engine's
//! export, the registry's blobs, the archive), then analysed.

use super::Exit;
use crate::analysis::Analysis;
use crate::analysis::explained::{self, Subject};
use crate::cli::ExplainArgs;
use crate::measure::cache::Cache;
use crate::measure::{Needs, Options, Sources, progress};
use crate::model::PlatformChoice;
use crate::model::{Explanation, ImageResult};
use crate::output;
use crate::report;

/// What a file-by-file measurement needs: every entry, and the size.
const FILES: Needs = Needs {
    size: true,
    compressed: false,
    wasted: true,
    files: true,
};

/// How many file changes and pieces of advice a check report keeps per image.
pub const CHANGES_KEPT: usize = 5;
pub const ADVICE_KEPT: usize = 3;

/// Measures `reference` with every layer's entries and analyses it (its
/// packages too, unless `packages` is false).
pub async fn analyse(
    sources: &Sources,
    reference: &str,
    platform: Option<&PlatformChoice>,
    packages: bool,
) -> Result<(Subject, Analysis), String> {
    let mut measured = sources
        .measure(reference, platform, FILES)
        .await
        .map_err(|e| e.to_string())?;
    if measured.is_empty() {
        return Err(format!("`{reference}` holds no image"));
    }
    let m = measured.swap_remove(0);
    let listings = m.listings.ok_or_else(|| {
        format!("`{reference}`: its source gave no file listing, so its files cannot be analysed")
    })?;
    let subject = Subject {
        reference: m.reference,
        source: m.source.to_string(),
        digest: m.digest,
        platform: m.platform,
    };
    Ok((subject, Analysis::with(m.layer_details, listings, packages)))
}

/// The explanation of a checked image over a threshold: its largest file
/// and package changes against its baseline (when the baseline is an image
/// to read, not a saved report) and the advice. `analysed` is the image's
/// analysis when the check already read it file by file.
pub async fn for_row(
    sources: &Sources,
    reference: &str,
    row: &mut ImageResult,
    analysed: Option<Analysis>,
) -> Explanation {
    let platform = row.platform.clone().map(PlatformChoice::One);
    let image = match analysed {
        Some(image) => image,
        None => match analyse(sources, reference, platform.as_ref(), true).await {
            Ok((_, image)) => image,
            Err(why) => {
                return Explanation {
                    note: Some(format!("the files could not be analysed: {why}")),
                    ..Explanation::default()
                };
            }
        },
    };
    // Every layer was read file by file: its wasted bytes are known now.
    if row.metrics.wasted.is_none() {
        row.metrics.wasted = Some(image.wasted);
    }
    let baseline = match &row.baseline {
        Some(b) if b.source == "reference" => Some(analyse(sources, &b.reference, platform.as_ref(), true)
            .await
            .map(|(_, a)| a)
            .map_err(|why| format!("no file changes: the baseline's files could not be read: {why}"))),
        Some(_) => Some(Err(
            "no file changes: the baseline is a saved report, which keeps no file list (`budget explain REF --baseline MAIN_REF` compares files)"
                .to_string(),
        )),
        // A new image: nothing to compare its files with, and nothing to say.
        None => None,
    };
    let baseline = baseline.as_ref().map(Result::as_ref);
    explained::short(&image, baseline, CHANGES_KEPT, ADVICE_KEPT)
}

/// `budget explain`.
pub async fn run(args: ExplainArgs) -> Result<Exit, String> {
    if args.platform.as_deref() == Some("all") {
        return Err(
            "`budget explain` reads one platform at a time: name one, such as `--platform linux/arm64` (`budget check` with `platform = \"all\"` checks each)".to_string(),
        );
    }
    progress::enable();
    let env = |name: &str| std::env::var(name).ok();
    let sources = Sources::new(Options {
        cache: Cache::from_env(&env),
        ..Options::default()
    });
    let platform = args.platform.clone().map(PlatformChoice::One);
    let top = usize::try_from(args.top).unwrap_or(usize::MAX);
    let packages = !args.no_packages;
    let image = analyse(&sources, &args.reference, platform.as_ref(), packages).await?;
    let baseline = match &args.baseline {
        Some(reference) => Some(analyse(&sources, reference, platform.as_ref(), packages).await?),
        None => None,
    };
    let explained = explained::explain(
        image.0,
        &image.1,
        baseline.as_ref().map(|(s, a)| (s.clone(), a)),
        top,
    );
    output::write_report(&report::explain::render(&explained, args.format), None)?;
    Ok(Exit::Pass)
}
