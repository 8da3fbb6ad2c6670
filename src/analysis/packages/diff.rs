//! The packages that changed against a baseline: added, removed, upgraded
//! (another version), grown or shrunk (the same version, other bytes),
//! largest change first, each with the layer that installed it and why it
//! is there.

use std::collections::HashMap;

use super::{Key, PackageRow};
use crate::analysis::Analysis;
use crate::model::PackageChange;

/// The package changes of an image against its baseline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageDiff {
    pub added: usize,
    pub removed: usize,
    pub upgraded: usize,
    pub grown: usize,
    pub shrunk: usize,
    /// Largest change first.
    pub changes: Vec<PackageChange>,
}

fn clamp(delta: i128) -> i64 {
    i64::try_from(delta).unwrap_or(if delta < 0 { i64::MIN } else { i64::MAX })
}

/// A package of `image` as a change from `before` (None: not in the
/// baseline).
pub fn change(
    image: &Analysis,
    after: Option<&PackageRow>,
    before: Option<&PackageRow>,
) -> Option<PackageChange> {
    let any = after.or(before)?;
    let size = after.and_then(|a| a.size);
    let baseline_size = before.and_then(|b| b.size);
    let version = after.and_then(|a| a.version.clone());
    let baseline_version = before.and_then(|b| b.version.clone());
    let delta = match (after, before) {
        (Some(_), Some(_)) => size
            .zip(baseline_size)
            .map(|(a, b)| clamp(i128::from(a) - i128::from(b))),
        (Some(_), None) => size.map(|a| clamp(a.into())),
        (None, _) => baseline_size.map(|b| clamp(-i128::from(b))),
    };
    let change = match (after, before) {
        (Some(_), None) => "added",
        (None, _) => "removed",
        (Some(_), Some(_)) if version != baseline_version => "upgraded",
        _ => match delta {
            Some(d) if d > 0 => "grown",
            Some(d) if d < 0 => "shrunk",
            _ => return None,
        },
    };
    let layer = after.and_then(|a| a.layer);
    Some(PackageChange {
        ecosystem: any.ecosystem.name().to_string(),
        name: any.name.clone(),
        change: change.to_string(),
        version,
        baseline_version,
        size,
        baseline_size,
        delta,
        layer: layer.map(|l| l + 1),
        instruction: layer.and_then(|l| image.instruction(l)).map(str::to_string),
        manual: after.and_then(|a| a.manual),
        pulled_in_by: after.and_then(|a| a.pulled_in_by.clone()),
        recommended_only: after.is_some_and(|a| a.recommended_only),
    })
}

/// Every package change of `image` against `baseline`.
pub fn diff(image: &Analysis, baseline: &Analysis) -> PackageDiff {
    let key = |r: &PackageRow| Key::new(r.ecosystem, &r.name, r.version.as_deref().unwrap_or(""));
    let before: HashMap<Key, &PackageRow> =
        baseline.packages.installed().map(|r| (key(r), r)).collect();
    let after: HashMap<Key, &PackageRow> =
        image.packages.installed().map(|r| (key(r), r)).collect();
    let mut out = PackageDiff::default();
    let mut keys: Vec<&Key> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let Some(c) = change(image, after.get(k).copied(), before.get(k).copied()) else {
            continue;
        };
        match c.change.as_str() {
            "added" => out.added += 1,
            "removed" => out.removed += 1,
            "upgraded" => out.upgraded += 1,
            "grown" => out.grown += 1,
            _ => out.shrunk += 1,
        }
        out.changes.push(c);
    }
    out.changes.sort_by(|a, b| {
        let size = |c: &PackageChange| c.delta.map_or(0, i64::unsigned_abs);
        size(b).cmp(&size(a)).then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// The largest packages of a new image, each as added.
pub fn largest(image: &Analysis, n: usize) -> Vec<PackageChange> {
    image
        .packages
        .installed()
        .take(n)
        .filter_map(|r| change(image, Some(r), None))
        .collect()
}
