//! GitHub workflow annotations: one workflow command per line, which the
//! runner turns into an annotation on the run and the pull request.
//!
//! - `::error title=image-budget IMAGE::MESSAGE` for each finding that fails
//!   a budget or could not be checked, and for an image that could not be
//!   measured (`could not measure: ERROR`);
//! - `::warning title=image-budget IMAGE::MESSAGE` for each warning.
//!
//! A set over budget or not judged is annotated the same way, titled
//! `image-budget set NAME`.
//!
//! IMAGE is named as in the table (with its platform when the image has a
//! row per platform). Workflow-command escaping: in the message `%`, `\r`
//! and `\n` become `%25`, `%0D` and `%0A`; in the title also `:` and `,`
//! become `%3A` and `%2C`. So no text can end the command early or start
//! another one on a new line.

use std::fmt::Write;

use super::name_cell;
use crate::model::{Finding, Report, Severity};

/// Escapes a command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Renders the report as workflow commands; empty when there is nothing to say.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for image in &report.images {
        let title = format!("image-budget {}", name_cell(report, image));
        let error = image
            .error
            .as_ref()
            .map(|e| format!("could not measure: {e}"));
        annotate(&mut out, &title, error.as_deref(), &image.findings);
    }
    for set in &report.sets {
        let title = format!("image-budget {}", super::sets::label(report, set));
        let error = set.error.as_ref().map(|e| format!("could not judge: {e}"));
        annotate(&mut out, &title, error.as_deref(), &set.findings);
    }
    out
}

/// The commands for one image or set: its error, then each finding.
fn annotate(out: &mut String, title: &str, error: Option<&str>, findings: &[Finding]) {
    let title = escape_property(title);
    if let Some(error) = error {
        let _ = writeln!(out, "::error title={title}::{}", escape_data(error));
    }
    for finding in findings {
        let command = match finding.severity {
            Severity::Warn => "warning",
            Severity::Fail | Severity::Error => "error",
        };
        let _ = writeln!(
            out,
            "::{command} title={title}::{}",
            escape_data(&finding.message)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("100%\r\nnext"), "100%25%0D%0Anext");
        assert_eq!(escape_data("a::b,c"), "a::b,c");
        assert_eq!(
            escape_property("api: 5%, x\n::error::"),
            "api%3A 5%25%2C x%0A%3A%3Aerror%3A%3A"
        );
    }
}
