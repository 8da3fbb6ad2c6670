//! Our own image's gate: `budgets.toml` at the repository root budgets the image
//! that `scripts/own-image` builds. Loosening it must be a visible change here.

use std::path::PathBuf;

/// The image must stay a small static binary: 10 MB (SI) at most (9.2 MB
/// since the release build is made for size).
const CEILING: u64 = 10_000_000;

#[test]
fn our_image_budget_loads_and_stays_at_10_mb_or_under() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("budgets.toml");
    let plan = image_budget::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = plan.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["image-budget"],
        "budgets.toml should gate only our own image"
    );
    let image = &plan.images[0];
    assert_eq!(image.reference, "docker-daemon:image-budget:local");
    let max = image
        .budget
        .max_size
        .expect("our image needs a max-size budget");
    assert!(
        max <= CEILING,
        "max-size for image-budget is {max} bytes; it must stay at or under {CEILING}"
    );
    if let Some(warn) = image.budget.warn_size {
        assert!(
            warn < max,
            "warn-size {warn} should be under max-size {max}"
        );
    }
    assert!(
        image.budget.max_layers.is_some(),
        "our image needs a max-layers budget"
    );
}
