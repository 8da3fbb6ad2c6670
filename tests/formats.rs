//! The CI formats through the binary, on the engine-free example layout:
//! each goes to stdout (or --output), the exit status unchanged by the format.

mod common;

use common::*;

fn check(format: &str) -> std::process::Output {
    let out = budget_env(
        &repo_root(),
        &[
            "check",
            "-c",
            "examples/budgets-oci.toml",
            "--format",
            format,
        ],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_exit(&out, 1);
    out
}

#[test]
fn junit_lists_a_case_per_image_and_budget() {
    let xml = stdout(&check("junit"));
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains(r#"<testsuite name="image-budget""#), "{xml}");
    for case in [
        "slim measured",
        "slim max-size",
        "slim warn-size",
        "slim max-compressed",
        "slim max-layers",
        "bloated max-size",
    ] {
        assert!(xml.contains(&format!(r#"name="{case}""#)), "{case}: {xml}");
    }
    assert!(
        xml.contains("<failure message=\"size 47.0 MB is over the max-size budget"),
        "{xml}"
    );
}

#[test]
fn github_annotates_the_failure() {
    let text = stdout(&check("github"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("::error title=image-budget bloated::size 47.0 MB is over")),
        "{text}"
    );
    assert!(text.lines().all(|l| l.starts_with("::")), "{text}");
}

#[test]
fn gitlab_metrics_have_a_line_per_image_and_metric() {
    let text = stdout(&check("gitlab-metrics"));
    assert!(
        text.contains("image_budget_size_bytes{image=\"slim\"} 2000500\n"),
        "{text}"
    );
    assert!(
        text.contains("image_budget_size_bytes{image=\"bloated\"} 47000000\n"),
        "{text}"
    );
    assert!(
        text.contains("image_budget_layers{image=\"bloated\"} 3\n"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn comment_is_not_a_format() {
    let out = budget_env(
        &repo_root(),
        &[
            "check",
            "-c",
            "examples/budgets-oci.toml",
            "--format",
            "comment",
        ],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_exit(&out, 2);
}
