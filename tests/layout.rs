//! The layout keeps data flowing one way: no circle among the crate's
//! top-level modules, read from their `use crate::…` paths (test modules
//! left out). A circle here fails with the modules that form it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module → the modules it names (`crate::x`), from every file under it.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    graph_under(src, "crate::")
}

/// The same for the children of one module (`src/measure`, whose children
/// name each other `crate::measure::x`, or `super::x` from their own top file).
fn graph_under(src: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !name.ends_with(".rs") || name == "tests.rs" || name.ends_with("_tests.rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap();
            let first = relative.iter().next().unwrap().to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" || module == "mod" {
                continue;
            }
            let depth = relative.iter().count();
            let top_file = depth == 1 || (depth == 2 && name == "mod.rs");
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may reach anywhere; the code before them may not.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let named = edges.entry(module.clone()).or_default();
            let mut prefixes = vec![prefix];
            if top_file && prefix != "crate::" {
                prefixes.push("super::");
            }
            for prefix in prefixes {
                for (i, _) in code.match_indices(prefix) {
                    let target: String = code[i + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !target.is_empty() && target != module {
                        named.insert(target);
                    }
                }
            }
        }
    }
    edges
}

/// The modules reachable from `from`.
fn reachable(edges: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for next in edges.get(&m).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    edges
        .keys()
        .filter(|m| reachable(edges, m).contains(*m))
        .map(|m| format!("{m} -> {:?}", edges[m]))
        .collect()
}

#[test]
fn measure_is_laid_out_by_where_the_image_is_without_a_circle() {
    let measure = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/measure");
    let edges = graph_under(&measure, "crate::measure::");
    let circles = circles(&edges);
    assert!(
        circles.is_empty(),
        "import circles in measure: {circles:#?}"
    );
    // The layer reader and the digests serve every source and need none.
    for leaf in ["layer", "digest"] {
        let reached = reachable(&edges, leaf);
        for source in ["engine", "registry", "archive", "sources"] {
            assert!(!reached.contains(source), "{leaf} reaches {source}");
        }
    }
}

#[test]
fn no_module_reaches_itself() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    assert!(edges.contains_key("measure") && edges.contains_key("config"));
    let circles = circles(&edges);
    assert!(circles.is_empty(), "import circles: {circles:#?}");
    // The core does no I/O and depends on no edge.
    for core in ["judge", "model", "size"] {
        let reached = reachable(&edges, core);
        for edge in ["measure", "publish", "baseline", "app", "config"] {
            assert!(!reached.contains(edge), "{core} reaches {edge}");
        }
    }
}
