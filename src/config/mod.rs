//! `budgets.toml`: parse, then validate into a [`Plan`].
//!
//! The file is walked by hand over toml's spanned document so that every
//! problem (unknown keys, bad sizes, unset variables...) is reported at
//! `file:line:column` in one run, not just the first.

mod interpolate;
mod sets;
pub mod template;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::model::{BudgetKey, LimitKind};
use crate::size::{self, Growth};
pub use interpolate::{InterpolateError, interpolate};

/// A place in the config file, 1-based like an editor's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One thing wrong with the config, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot read config `{path}`: {source}\n  hint: run `budget init REF...` to write one, or pass `-c PATH`"
    )]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{at}: the config is not UTF-8 text (byte 0x{byte:02x} cannot start a character here); save it as UTF-8"
    )]
    NotUtf8 { at: Location, byte: u8 },
    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
}

fn render_problems(problems: &[Problem]) -> String {
    let noun = if problems.len() == 1 {
        "problem"
    } else {
        "problems"
    };
    let file = problems
        .first()
        .map_or_else(String::new, |p| p.location.file.clone());
    let mut text = format!(
        "config `{file}` has {} {noun}; nothing was checked",
        problems.len()
    );
    for problem in problems {
        text.push_str(&format!("\n  {problem}"));
    }
    text
}

pub use crate::model::{Budget, PlatformChoice};

/// One image to check, with everything resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    pub name: String,
    pub reference: String,
    /// Where `ref` was written, for errors about the reference.
    pub reference_at: Location,
    /// The baseline reference, `{name}` already filled in.
    pub baseline: Option<String>,
    pub platform: Option<PlatformChoice>,
    pub budget: Budget,
    /// The budgets of the sets it belongs to, merged: what the image must be
    /// measured for besides its own budgets (a set's `max-size` needs each
    /// image's layer sizes).
    pub set_budgets: Budget,
}

/// The validated config: what to check and against what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub path: PathBuf,
    pub images: Vec<ImagePlan>,
    /// Registries (`host[:port]`) reached over plain HTTP; loopback always is.
    pub insecure_registries: Vec<String>,
    /// Sets of images judged on what a node stores and pulls for them all.
    pub sets: Vec<crate::model::SetPlan>,
}

/// The line and column (in characters) of a byte offset in `text`.
fn location_in(file: &str, text: &str, offset: usize) -> Location {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    Location {
        file: file.to_string(),
        line,
        column,
    }
}

/// Reads and validates a config file, expanding variables from the process environment.
pub fn load(path: &Path) -> Result<Plan, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // The prefix before the bad byte is valid text, so it can be counted in characters.
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        Error::NotUtf8 {
            at: location_in(&path.display().to_string(), before, valid),
            byte: bytes[valid],
        }
    })?;
    parse(path, &text, &|name| std::env::var(name).ok())
}

const TOP_KEYS: &[&str] = &["defaults", "images", "sets", "registries"];
/// The keys of `[defaults]` and `[images.*]` besides the budgets
/// ([`BudgetKey`]) and, for an image, `ref`.
const SETTING_KEYS: &[&str] = &["baseline", "platform"];

/// Every key `[defaults]` takes: the settings, then each budget.
fn known_keys() -> Vec<&'static str> {
    let mut known = SETTING_KEYS.to_vec();
    known.extend(BudgetKey::ALL.map(BudgetKey::name));
    known.push(BudgetKey::DenyPackages.name());
    known
}

/// Validates config text. `lookup` reads environment variables.
pub fn parse(
    path: &Path,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, Error> {
    let mut walker = Walker {
        file: path.display().to_string(),
        text,
        lookup,
        problems: Vec::new(),
    };
    let plan = walker.walk(path);
    if walker.problems.is_empty() {
        Ok(plan)
    } else {
        Err(Error::Invalid(walker.problems))
    }
}

/// Settings read from `[defaults]` or `[images.NAME]`, before merging.
#[derive(Default, Clone)]
struct Settings {
    reference: Option<(String, usize)>,
    baseline: Option<(String, usize)>,
    platform: Option<PlatformChoice>,
    budget: Budget,
    /// `ref` was written (perhaps misspelt, or with a problem already reported).
    ref_written: bool,
    /// Where each budget was written, for errors that relate two keys.
    at: BTreeMap<BudgetKey, usize>,
}

struct Walker<'a> {
    file: String,
    text: &'a str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
}

type Entry<'a, 'i> = (&'a Spanned<Cow<'i, str>>, &'a Spanned<DeValue<'i>>);

impl Walker<'_> {
    fn location(&self, offset: usize) -> Location {
        location_in(&self.file, self.text, offset)
    }

    fn problem(&mut self, offset: usize, message: impl Into<String>) {
        let location = self.location(offset);
        self.problems.push(Problem {
            location,
            message: message.into(),
        });
    }

    fn walk(&mut self, path: &Path) -> Plan {
        let empty = Plan {
            path: path.to_path_buf(),
            images: Vec::new(),
            insecure_registries: Vec::new(),
            sets: Vec::new(),
        };
        let (document, errors) = DeTable::parse_recoverable(self.text);
        if !errors.is_empty() {
            for error in errors {
                let offset = error.span().map_or(0, |s| s.start);
                let message = format!("invalid TOML: {}", error.message().trim_end());
                self.problem(offset, message);
            }
            return empty;
        }
        let document = document.into_inner();
        let mut defaults = Settings::default();
        let mut images_table = None;
        let mut sets_table = None;
        let mut insecure = Vec::new();
        for (key, value) in &document {
            match key.get_ref().as_ref() {
                "registries" => insecure = self.registries(value),
                "defaults" => match value.get_ref() {
                    DeValue::Table(table) => defaults = self.settings(table, "[defaults]", false),
                    _ => self.problem(
                        value.span().start,
                        "`defaults` must be a table: write `[defaults]` on its own line",
                    ),
                },
                "images" => images_table = Some(value),
                "sets" => sets_table = Some(value),
                other => self.unknown_key(key.span().start, other, "at the top level", TOP_KEYS),
            }
        }
        let Some(images_value) = images_table else {
            self.problem(
                0,
                "no images to check: add a table such as `[images.api]` with `ref = \"acme/api:latest\"`",
            );
            return empty;
        };
        let DeValue::Table(images) = images_value.get_ref() else {
            self.problem(
                images_value.span().start,
                "`images` must be a table of images: write `[images.NAME]` with a `ref`",
            );
            return empty;
        };
        if images.is_empty() {
            self.problem(
                images_value.span().start,
                "`images` is empty: add a table such as `[images.api]` with `ref = \"acme/api:latest\"`",
            );
        }
        let mut plans = Vec::new();
        for (key, value) in images {
            let name = key.get_ref().to_string();
            let DeValue::Table(table) = value.get_ref() else {
                self.problem(
                    value.span().start,
                    format!(
                        "image `{name}` must be a table: write `[images.{name}]` with a `ref` below it"
                    ),
                );
                continue;
            };
            if name.trim().is_empty() {
                self.problem(key.span().start, "an image name cannot be empty");
                continue;
            }
            let context = format!("[images.{name}]");
            let own = self.settings(table, &context, true);
            let Some((reference, reference_offset)) = own.reference.clone() else {
                if !own.ref_written {
                    self.problem(
                        key.span().start,
                        format!(
                            "image `{name}` has no `ref`: add `ref = \"REPOSITORY:TAG\"` to `{context}`"
                        ),
                    );
                }
                continue;
            };
            let merged = merge(&defaults, &own);
            self.check_pair(&merged);
            let baseline = merged
                .baseline
                .as_ref()
                .and_then(|(template, offset)| self.baseline_for(template, *offset, &name));
            plans.push(ImagePlan {
                name,
                reference,
                reference_at: self.location(reference_offset),
                baseline,
                platform: merged.platform.clone(),
                budget: merged.budget.clone(),
                set_budgets: Budget::default(),
            });
        }
        let names: Vec<String> = images.keys().map(|k| k.get_ref().to_string()).collect();
        let sets = sets_table.map_or_else(Vec::new, |value| self.sets(value, &names));
        for plan in &mut plans {
            for set in sets.iter().filter(|s| s.images.contains(&plan.name)) {
                plan.set_budgets = set.budget.or(&plan.set_budgets);
            }
        }
        Plan {
            path: path.to_path_buf(),
            images: plans,
            insecure_registries: insecure,
            sets,
        }
    }

    /// `[registries]`: `insecure = ["host:port", ...]`.
    fn registries(&mut self, value: &Spanned<DeValue<'_>>) -> Vec<String> {
        let DeValue::Table(table) = value.get_ref() else {
            self.problem(
                value.span().start,
                "`registries` must be a table: write `[registries]` on its own line",
            );
            return Vec::new();
        };
        let mut insecure = Vec::new();
        for (key, value) in table {
            if key.get_ref() != "insecure" {
                self.unknown_key(
                    key.span().start,
                    key.get_ref(),
                    "in `[registries]`",
                    &["insecure"],
                );
                continue;
            }
            let DeValue::Array(items) = value.get_ref() else {
                self.problem(
                    value.span().start,
                    "`insecure` must be a list of registries, such as [\"registry.internal:5000\"]",
                );
                continue;
            };
            for item in items {
                let at = item.span().start;
                match item.get_ref() {
                    DeValue::String(host) if valid_host(host) => insecure.push(host.to_string()),
                    _ => self.problem(
                        at,
                        "an insecure registry is written `host` or `host:port`, such as \"registry.internal:5000\" (no scheme, no path)",
                    ),
                }
            }
        }
        insecure
    }

    /// A warning mark must sit below the budget that outranks it, or it
    /// can never fire (`warn-size` below `max-size`).
    fn check_pair(&mut self, merged: &Settings) {
        for warn_key in BudgetKey::ALL {
            let Some(max_key) = warn_key.outranked_by() else {
                continue;
            };
            if let (Some(max), Some(warn)) = (
                merged.budget.amount(max_key),
                merged.budget.amount(warn_key),
            ) && warn >= max
            {
                let offset = [warn_key, max_key]
                    .iter()
                    .find_map(|k| merged.at.get(k).copied())
                    .unwrap_or(0);
                self.problem(
                    offset,
                    format!(
                        "`{}` ({}) must be below `{}` ({}), or the warning can never fire",
                        warn_key.name(),
                        size::human(warn),
                        max_key.name(),
                        size::human(max)
                    ),
                );
            }
        }
    }

    /// Fills `{name}` in a baseline template and checks the other placeholders,
    /// which stay for the baseline search to fill.
    fn baseline_for(&mut self, template: &str, offset: usize, name: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                self.problem(
                    offset,
                    "`{` in `baseline` is not closed; the placeholders are `{name}` and `{merge-base}`",
                );
                return None;
            };
            let inner = &rest[open + 1..open + close];
            if inner == "name" {
                out.push_str(name);
            } else if let Err(message) = template::check_placeholder(inner) {
                self.problem(offset, format!("in `baseline`: {message}"));
                return None;
            } else {
                out.push_str(&rest[open..=open + close]);
            }
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn unknown_key(&mut self, offset: usize, key: &str, context: &str, known: &[&str]) {
        let hint = match closest(key, known) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("expected one of: {}", known.join(", ")),
        };
        self.problem(offset, format!("unknown key `{key}` {context}; {hint}"));
    }

    fn settings(&mut self, table: &DeTable<'_>, context: &str, is_image: bool) -> Settings {
        let mut s = Settings::default();
        for entry in table {
            self.setting(&mut s, entry, context, is_image);
        }
        s
    }

    fn setting(&mut self, s: &mut Settings, entry: Entry<'_, '_>, context: &str, is_image: bool) {
        let (key, value) = entry;
        let key_name = key.get_ref().as_ref();
        let at = value.span().start;
        match key_name {
            "ref" if is_image => {
                s.ref_written = true;
                if let Some(text) = self.string(value, "ref", "\"acme/api:1.2\"") {
                    if text.trim().is_empty() {
                        self.problem(at, "`ref` is empty: name an image such as \"acme/api:1.2\"");
                    } else {
                        s.reference = Some((text, at));
                    }
                }
            }
            "baseline" => {
                if let Some(text) = self.string(value, "baseline", "\"acme/{name}:main\"") {
                    s.baseline = Some((text, at));
                }
            }
            "platform" => {
                if let Some(text) = self.string(value, "platform", "\"linux/amd64\"") {
                    match parse_platform(&text) {
                        Some(p) => s.platform = Some(p),
                        None => self.problem(
                            at,
                            format!(
                                "`{text}` is not a platform: write `os/arch` or `os/arch/variant` (\"linux/amd64\", \"linux/arm64/v8\") or \"all\""
                            ),
                        ),
                    }
                }
            }
            name if BudgetKey::named(name).is_some() => {
                if let Some(key) = BudgetKey::named(name) {
                    self.budget(s, key, value, at);
                }
            }
            "deny-packages" => self.budget(s, BudgetKey::DenyPackages, value, at),
            _ => {
                let mut known = known_keys();
                if is_image {
                    known.insert(0, "ref");
                    // A misspelt `ref` is reported once, as the typo.
                    s.ref_written |= closest(key_name, &known) == Some("ref");
                }
                self.unknown_key(
                    key.span().start,
                    key_name,
                    &format!("in `{context}`"),
                    &known,
                );
            }
        }
    }

    /// A string value with `${VAR}` expanded.
    fn string(&mut self, value: &Spanned<DeValue<'_>>, key: &str, example: &str) -> Option<String> {
        let at = value.span().start;
        match value.get_ref() {
            DeValue::String(text) => match interpolate(text, self.lookup) {
                Ok(expanded) => Some(expanded),
                Err(e) => {
                    self.problem(at, format!("in `{key}`: {}", e.message()));
                    None
                }
            },
            other => {
                self.problem(
                    at,
                    format!(
                        "`{key}` must be a string such as {example}, found {}",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    /// One budget: bytes (SI or IEC), a count, or growth, as its key says.
    fn budget(
        &mut self,
        s: &mut Settings,
        key: BudgetKey,
        value: &Spanned<DeValue<'_>>,
        at: usize,
    ) {
        let name = key.name();
        match key.kind() {
            LimitKind::Bytes => {
                if let Some(bytes) = self.size(value, name) {
                    s.budget.set_amount(key, bytes);
                    s.at.insert(key, at);
                }
            }
            LimitKind::Growth => {
                if let Some(growth) = self.growth(value, name) {
                    s.budget.set_growth(key, growth);
                    s.at.insert(key, at);
                }
            }
            LimitKind::Count => match value.get_ref() {
                DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) if n > 0 => {
                        s.budget.set_amount(key, n.unsigned_abs());
                        s.at.insert(key, at);
                    }
                    _ => self.problem(
                        at,
                        format!(
                            "`{name}` must be a whole number above zero, found {}",
                            i.as_str()
                        ),
                    ),
                },
                other => self.problem(
                    at,
                    format!(
                        "`{name}` must be a whole number such as 20, found {}",
                        describe(other)
                    ),
                ),
            },
            LimitKind::Deny => {
                if let Some(patterns) = self.patterns(value, name) {
                    s.budget.deny_packages = patterns;
                    s.at.insert(key, at);
                }
            }
        }
    }

    /// A list of package name patterns: `["gcc-*", "*-dev"]`.
    fn patterns(&mut self, value: &Spanned<DeValue<'_>>, key: &str) -> Option<Vec<String>> {
        let example = "[\"gcc-*\", \"*-dev\"]";
        let DeValue::Array(items) = value.get_ref() else {
            self.problem(
                value.span().start,
                format!(
                    "`{key}` must be a list of package names or patterns such as {example}, found {}",
                    describe(value.get_ref())
                ),
            );
            return None;
        };
        let mut patterns = Vec::new();
        let mut ok = true;
        for item in items {
            match item.get_ref() {
                DeValue::String(text) if !text.trim().is_empty() => {
                    patterns.push(text.trim().to_string());
                }
                other => {
                    ok = false;
                    self.problem(
                        item.span().start,
                        format!(
                            "each `{key}` entry must be a package name or pattern such as \"gcc-*\", found {}",
                            describe(other)
                        ),
                    );
                }
            }
        }
        if ok && patterns.is_empty() {
            self.problem(
                value.span().start,
                format!("`{key}` is empty: name the packages to deny, or remove the key"),
            );
            return None;
        }
        ok.then_some(patterns)
    }

    fn size(&mut self, value: &Spanned<DeValue<'_>>, key: &str) -> Option<u64> {
        let at = value.span().start;
        let help = "write a size such as \"150MB\" (SI, 1 MB = 1,000,000 bytes), \"140MiB\" (IEC, 1 MiB = 1,048,576 bytes) or a number of bytes";
        let bytes = match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) if n > 0 => Some(n as u64),
                Ok(_) => None,
                Err(_) => {
                    self.problem(
                        at,
                        format!("`{key}` = {} is out of range; {help}", i.as_str()),
                    );
                    return None;
                }
            },
            DeValue::String(_) => {
                let text = self.string(value, key, "\"150MB\"")?;
                match size::parse_bytes(&text) {
                    Ok(n) if n > 0 => Some(n),
                    Ok(_) => None,
                    Err(e) => {
                        self.problem(at, format!("`{key}` = \"{text}\": {e}; {help}"));
                        return None;
                    }
                }
            }
            other => {
                self.problem(
                    at,
                    format!("`{key}` must be a size, found {}; {help}", describe(other)),
                );
                return None;
            }
        };
        if bytes.is_none() {
            self.problem(
                at,
                format!("`{key}` must be greater than zero; remove the key for no limit"),
            );
        }
        bytes
    }

    fn growth(&mut self, value: &Spanned<DeValue<'_>>, key: &str) -> Option<Growth> {
        let at = value.span().start;
        let help = "write a percentage of the baseline such as \"5%\", or a size such as \"10MB\"";
        let growth = match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) if n >= 0 => Growth::Bytes(n as u64),
                _ => {
                    self.problem(
                        at,
                        format!("`{key}` = {} is not allowed; {help}", i.as_str()),
                    );
                    return None;
                }
            },
            DeValue::String(_) => {
                let text = self.string(value, key, "\"5%\"")?;
                match Growth::parse(&text) {
                    Ok(g) => g,
                    Err(e) => {
                        self.problem(at, format!("`{key}` = \"{text}\": {e}; {help}"));
                        return None;
                    }
                }
            }
            other => {
                self.problem(
                    at,
                    format!(
                        "`{key}` must be a growth limit, found {}; {help}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        if growth.is_zero() {
            self.problem(
                at,
                format!("`{key}` must be greater than zero; remove the key for no limit"),
            );
            return None;
        }
        Some(growth)
    }
}

fn merge(defaults: &Settings, own: &Settings) -> Settings {
    Settings {
        reference: own.reference.clone(),
        ref_written: own.ref_written,
        baseline: own.baseline.clone().or_else(|| defaults.baseline.clone()),
        platform: own.platform.clone().or_else(|| defaults.platform.clone()),
        budget: own.budget.or(&defaults.budget),
        at: {
            let mut at = defaults.at.clone();
            at.extend(&own.at);
            at
        },
    }
}

fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("the string \"{s}\""),
        DeValue::Integer(i) => format!("the number {}", i.as_str()),
        DeValue::Float(f) => format!("the number {f}"),
        DeValue::Boolean(b) => format!("`{b}`"),
        DeValue::Datetime(_) => "a date".to_string(),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// `host` or `host:port`.
fn valid_host(text: &str) -> bool {
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (text, None),
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
        && port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// `linux/amd64`, `linux/arm64/v8` or `all`.
pub fn parse_platform(text: &str) -> Option<PlatformChoice> {
    if text == "all" {
        return Some(PlatformChoice::All);
    }
    let parts: Vec<&str> = text.split('/').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        });
    ok.then(|| PlatformChoice::One(text.to_string()))
}

/// The known key nearest to a typo, if it is near enough to be a typo.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let normal = key.replace('_', "-").to_ascii_lowercase();
    known
        .iter()
        .map(|k| (*k, edit_distance(&normal, k)))
        .filter(|(k, d)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            prev = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
