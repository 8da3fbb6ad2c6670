//! `[sets.NAME]`: images that share nodes, judged on what a node stores and
//! pulls for all of them (each layer once).
//!
//! ```toml
//! [sets.node]
//! images = ["api", "web", "worker"]   # keys of [images.*]; "*" for all
//! max-size = "1.5GB"
//! max-compressed = "600MB"
//! max-growth = "5%"
//! ```

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Settings, Walker, describe};
use crate::model::{BudgetKey, SetPlan};

/// The budgets a set takes: sizes and growth, not counts of layers or
/// wasted bytes (those are an image's).
const SET_BUDGETS: [BudgetKey; 5] = [
    BudgetKey::MaxSize,
    BudgetKey::WarnSize,
    BudgetKey::MaxCompressed,
    BudgetKey::MaxGrowth,
    BudgetKey::WarnGrowth,
];

impl Walker<'_> {
    /// Every `[sets.NAME]`, its images checked against `images` (the
    /// config's image names, in order).
    pub(super) fn sets(&mut self, value: &Spanned<DeValue<'_>>, images: &[String]) -> Vec<SetPlan> {
        let DeValue::Table(sets) = value.get_ref() else {
            self.problem(
                value.span().start,
                "`sets` must be a table of sets: write `[sets.NAME]` with `images = [...]`",
            );
            return Vec::new();
        };
        let mut plans = Vec::new();
        for (key, value) in sets {
            let name = key.get_ref().to_string();
            let DeValue::Table(table) = value.get_ref() else {
                self.problem(
                    value.span().start,
                    format!(
                        "set `{name}` must be a table: write `[sets.{name}]` with `images = [...]`"
                    ),
                );
                continue;
            };
            if let Some(plan) = self.set(&name, key.span().start, table, images) {
                plans.push(plan);
            }
        }
        plans
    }

    fn set(
        &mut self,
        name: &str,
        at: usize,
        table: &DeTable<'_>,
        images: &[String],
    ) -> Option<SetPlan> {
        let context = format!("[sets.{name}]");
        let mut members: Option<Vec<String>> = None;
        let mut written = false;
        let mut settings = Settings::default();
        let mut ok = true;
        for (key, value) in table {
            let key_name = key.get_ref().as_ref();
            match key_name {
                "images" => {
                    written = true;
                    members = self.members(value, images, &context);
                }
                _ => match BudgetKey::named(key_name) {
                    Some(budget) if SET_BUDGETS.contains(&budget) => {
                        self.budget(&mut settings, budget, value, value.span().start);
                    }
                    Some(budget) => {
                        ok = false;
                        self.problem(
                            key.span().start,
                            format!(
                                "`{}` is an image's budget, not a set's: a set takes {}",
                                budget.name(),
                                set_keys().join(", ")
                            ),
                        );
                    }
                    None => {
                        ok = false;
                        let mut known = vec!["images"];
                        known.extend(set_keys());
                        self.unknown_key(
                            key.span().start,
                            key_name,
                            &format!("in `{context}`"),
                            &known,
                        );
                    }
                },
            }
        }
        self.check_pair(&settings);
        let Some(members) = members else {
            if written {
                // Its problem is reported where it is.
                return None;
            }
            self.problem(
                at,
                format!("set `{name}` has no `images`: add `images = [\"api\", \"web\"]` (or [\"*\"] for all) to `{context}`"),
            );
            return None;
        };
        ok.then(|| SetPlan {
            name: name.to_string(),
            images: members,
            budget: settings.budget,
        })
    }

    /// `images = ["api", "web"]` or `["*"]`: names of `[images.*]`.
    fn members(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        images: &[String],
        context: &str,
    ) -> Option<Vec<String>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.problem(
                value.span().start,
                format!(
                    "`images` in `{context}` must be a list of image names such as [\"api\", \"web\"], found {}",
                    describe(value.get_ref())
                ),
            );
            return None;
        };
        let mut members: Vec<String> = Vec::new();
        let mut ok = true;
        for item in items {
            let at = item.span().start;
            match item.get_ref() {
                DeValue::String(text) if text.as_ref() == "*" => {
                    members.extend(images.iter().cloned());
                }
                DeValue::String(text) if images.iter().any(|i| i == text.as_ref()) => {
                    members.push(text.to_string());
                }
                DeValue::String(text) => {
                    ok = false;
                    let hint = super::closest(
                        text,
                        &images.iter().map(String::as_str).collect::<Vec<_>>(),
                    )
                    .map_or_else(
                        || format!("the images are: {}", images.join(", ")),
                        |c| format!("did you mean `{c}`?"),
                    );
                    self.problem(
                        at,
                        format!("`{text}` in `{context}` is not an image of this config ([images.{text}]); {hint}"),
                    );
                }
                other => {
                    ok = false;
                    self.problem(
                        at,
                        format!(
                            "each of `images` in `{context}` must be an image name, found {}",
                            describe(other)
                        ),
                    );
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        members.retain(|m| seen.insert(m.clone()));
        if ok && members.is_empty() {
            self.problem(
                value.span().start,
                format!("`images` in `{context}` is empty: name the images that share a node"),
            );
            return None;
        }
        ok.then_some(members)
    }
}

fn set_keys() -> Vec<&'static str> {
    SET_BUDGETS.iter().map(|k| k.name()).collect()
}
