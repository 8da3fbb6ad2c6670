//! Escaping for text taken from outside (image names, references, layer
//! instructions, messages, error text) before it goes into markdown.
//!
//! Two contexts need different rules:
//! - [`markdown`]: table cells and list items. Markdown punctuation is
//!   backslash-escaped, `< > &` become entities (so neither HTML nor an HTML
//!   comment such as `<!--` or `-->` can open or close), and line breaks
//!   become spaces (a newline would end a table row or a list item).
//! - [`html_clipped`]: text inside an HTML block such as `<summary>`, where
//!   markdown is not parsed and a backslash would show: `< > & "` and the
//!   markdown punctuation ``` ` * _ [ ] | \ ~``` become entities, so the text
//!   reads the same whether or not a renderer parses markdown there.
//!
//! Both rules also:
//! - drop nothing silently but replace control characters and bidirectional
//!   overrides (which can make text read differently than it is) with `�`;
//! - put a word joiner (U+2060, invisible) after `@` and `#`, so text cannot
//!   mention a user or team (`@acme/security`) or cross-reference an issue
//!   (`#12`) and notify people from a comment.
//!
//! URLs are left as text; GitHub may still autolink a bare `https://…`, which
//! shows the address and hides nothing.

use std::fmt::Write;

/// U+2060 WORD JOINER: breaks `@user` and `#12` for GitHub's reference
/// filters without showing anything.
const JOINER: char = '\u{2060}';

/// True for characters that must never reach a reader as they are: control
/// characters other than tab, and the bidirectional controls.
fn is_hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// The escaped form of one character for markdown text and table cells.
fn markdown_char(c: char, out: &mut String) {
    match c {
        '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' => {
            out.push('\\');
            out.push(c);
        }
        '#' => {
            out.push_str("\\#");
            out.push(JOINER);
        }
        '@' => {
            out.push('@');
            out.push(JOINER);
        }
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '\r' | '\n' => out.push(' '),
        c if is_hidden(c) => out.push('\u{fffd}'),
        c => out.push(c),
    }
}

/// The escaped form of one character inside an HTML block.
fn html_char(c: char, out: &mut String) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '`' | '*' | '_' | '[' | ']' | '|' | '\\' | '~' => {
            let _ = write!(out, "&#{};", u32::from(c));
        }
        '#' | '@' => {
            out.push(c);
            out.push(JOINER);
        }
        '\r' | '\n' => out.push(' '),
        c if is_hidden(c) => out.push('\u{fffd}'),
        c => out.push(c),
    }
}

/// Escapes text for a markdown table cell or list item.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        markdown_char(c, &mut out);
    }
    out
}

/// [`markdown`], at most `max` characters long: when longer, the middle is
/// cut and replaced by `…`, keeping the start and the end (names that share
/// a long prefix usually differ at the end). Cuts fall between escaped
/// characters, never inside `&lt;` or `\|`.
pub fn markdown_clipped(text: &str, max: usize) -> String {
    clipped(text, max, markdown_char)
}

/// Escapes text for the inside of an HTML block (`<summary>…</summary>`), at
/// most `max` characters long, cut in the middle like [`markdown_clipped`].
pub fn html_clipped(text: &str, max: usize) -> String {
    clipped(text, max, html_char)
}

fn clipped(text: &str, max: usize, escape_char: fn(char, &mut String)) -> String {
    let pieces: Vec<String> = text
        .chars()
        .map(|c| {
            let mut piece = String::new();
            escape_char(c, &mut piece);
            piece
        })
        .collect();
    let width = |p: &String| p.chars().count();
    let total: usize = pieces.iter().map(width).sum();
    if total <= max {
        return pieces.concat();
    }
    // One character for the ellipsis; the start gets half the rest (the odd
    // one too), the end whatever the start left.
    let room = max.saturating_sub(1);
    let head_room = room - room / 2;
    let mut head = String::new();
    let mut used = 0;
    let mut first_cut = pieces.len();
    for (i, piece) in pieces.iter().enumerate() {
        if used + width(piece) > head_room {
            first_cut = i;
            break;
        }
        used += width(piece);
        head.push_str(piece);
    }
    let tail_room = room - used;
    let mut tail: Vec<&str> = Vec::new();
    let mut used = 0;
    for piece in pieces[first_cut..].iter().rev() {
        if used + width(piece) > tail_room {
            break;
        }
        used += width(piece);
        tail.push(piece);
    }
    tail.reverse();
    format!("{head}…{}", tail.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(text: &str) -> String {
        html_clipped(text, usize::MAX)
    }

    #[test]
    fn markdown_neutralises_tables_html_and_links() {
        assert_eq!(markdown("a|b"), "a\\|b");
        assert_eq!(markdown("<img src=x>"), "&lt;img src=x&gt;");
        assert_eq!(markdown("[x](y)"), "\\[x\\](y)");
        assert_eq!(markdown("`*_~!"), "\\`\\*\\_\\~\\!");
        assert_eq!(markdown("a\r\nb"), "a  b");
        assert_eq!(markdown("<!-- x -->"), "&lt;\\!-- x --&gt;");
        assert_eq!(markdown("a\\|b"), "a\\\\\\|b");
        assert_eq!(markdown("R&D"), "R&amp;D");
    }

    #[test]
    fn mentions_references_and_hidden_characters_are_defused() {
        assert_eq!(markdown("@acme"), "@\u{2060}acme");
        assert_eq!(markdown("#12"), "\\#\u{2060}12");
        assert_eq!(html("@acme #12"), "@\u{2060}acme #\u{2060}12");
        assert_eq!(
            markdown("a\u{202e}b\u{0}c\u{1b}"),
            "a\u{fffd}b\u{fffd}c\u{fffd}"
        );
        assert_eq!(markdown("tab\there"), "tab\there");
    }

    #[test]
    fn html_encodes_tags_and_markdown_punctuation() {
        assert_eq!(
            html("</summary></details>\"x\""),
            "&lt;/summary&gt;&lt;/details&gt;&quot;x&quot;"
        );
        assert_eq!(
            html("[x](y)|*_`\\~"),
            "&#91;x&#93;(y)&#124;&#42;&#95;&#96;&#92;&#126;"
        );
        assert_eq!(html("a\nb"), "a b");
    }

    #[test]
    fn clipping_cuts_the_middle_between_escapes() {
        assert_eq!(markdown_clipped("short", 10), "short");
        let clipped = markdown_clipped("abcdefghijklmnopqrstuvwxyz", 9);
        assert_eq!(clipped, "abcd…wxyz");
        assert_eq!(clipped.chars().count(), 9);
        // `<` is four characters escaped: never cut inside it.
        let clipped = markdown_clipped("<<<<<<<<<<", 10);
        assert_eq!(clipped, "&lt;…&lt;");
        for max in 1..40 {
            let text = markdown_clipped("a|b<c>d`e*f_g[h](i)\nj@k#l", max);
            assert!(text.chars().count() <= max, "{max}: {text}");
            assert!(!text.contains('<') && !text.contains('\n'), "{text}");
            // Every pipe stays escaped.
            let bytes: Vec<char> = text.chars().collect();
            for (i, c) in bytes.iter().enumerate() {
                if *c == '|' {
                    let slashes = bytes[..i].iter().rev().take_while(|c| **c == '\\').count();
                    assert_eq!(slashes % 2, 1, "{text}");
                }
            }
        }
        assert_eq!(html_clipped("<summary>", 6), "…y&gt;");
    }
}
