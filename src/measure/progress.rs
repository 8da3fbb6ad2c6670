//! Progress on stderr while layers are read: per layer, bytes read of bytes
//! expected. Off unless the command turns it on ([`enable`]), and then drawn
//! only when stderr is a terminal (indicatif hides itself otherwise), so
//! logs in CI and piped output never see it.

use std::io::{self, Read};
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Turns progress on for the rest of the process.
pub fn enable() {
    let _ = BARS.set(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
}

/// `reader`, counted into a bar named `label` that expects `expected` bytes
/// (the blob's size), while progress is on; the bar goes when the reader does.
pub fn reader<R: Read>(reader: R, label: &str, expected: u64) -> Tracked<R> {
    let bar = BARS.get().map(|bars| {
        let style = ProgressStyle::with_template(
            "{prefix:>12} {bar:30} {decimal_bytes:>10}/{decimal_total_bytes:<10} {decimal_bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = bars.add(ProgressBar::new(expected).with_style(style));
        bar.set_prefix(short(label));
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    Tracked { inner: reader, bar }
}

/// A label cut to what a bar's prefix holds: the digest in a path, to 12
/// hex digits, else the last part of the path.
fn short(label: &str) -> String {
    let parts: Vec<&str> = label.split(['/', ':']).filter(|p| !p.is_empty()).collect();
    let name = parts
        .iter()
        .rev()
        .find(|p| p.len() >= 12 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        .or(parts.last())
        .copied()
        .unwrap_or(label);
    name.chars().take(12).collect()
}

/// A reader that moves its bar.
pub struct Tracked<R> {
    inner: R,
    bar: Option<ProgressBar>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
        Ok(n)
    }
}

impl<R> Drop for Tracked<R> {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A note that something is being waited for (a spinner with `message`),
/// while progress is on; it goes when the value does.
pub fn waiting(message: &str) -> Waiting {
    let spinner = BARS.get().map(|bars| {
        let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let spinner = bars.add(ProgressBar::new_spinner().with_style(style));
        spinner.set_message(message.to_string());
        spinner.enable_steady_tick(Duration::from_millis(200));
        spinner
    });
    Waiting { spinner }
}

/// See [`waiting`].
pub struct Waiting {
    spinner: Option<ProgressBar>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracked_reader_reads_what_it_wraps_and_labels_are_short() {
        let mut out = Vec::new();
        reader(&b"layer bytes"[..], "blobs/sha256/abc", 11)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"layer bytes");
        assert_eq!(
            short("blobs/sha256/0123456789abcdef0123456789abcdef"),
            "0123456789ab"
        );
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short("0123456789abcdef/layer.tar"), "0123456789ab");
        assert_eq!(short("layer0/layer.tar"), "layer.tar");
    }
}
