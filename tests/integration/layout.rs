//! The source tree keeps its shape: a short top level, rooms whose imports point down, no file
//! circles and no production file over 600 lines. Read from `src/` as text, so a change that
//! breaks a rule fails here with the file and the import named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Most files at the top of `src/`.
const TOP_LEVEL_FILES: usize = 8;
/// Most lines of a production file, counted before its `#[cfg(test)]` module.
const PRODUCTION_LINES: usize = 600;

/// Each room's level: a file may import only rooms of a lower level. `server` and `process`
/// are leaves that import nothing of the crate.
const LEVELS: [(&str, u8); 13] = [
    ("commands", 90),
    ("config", 80),
    ("cli", 70),
    ("arg_values", 60),
    ("exit_code", 60),
    ("runtime", 50),
    ("api", 40),
    ("agency", 30),
    ("store", 20),
    ("signify", 15),
    ("keri", 10),
    ("server", 0),
    ("process", 0),
];

/// Imports that point up on purpose, with the reason.
const ALLOWED_UP: [(&str, &str, &str); 1] = [(
    "runtime",
    "config",
    "the runtime is where the validated configuration is split into each room's settings",
)];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, as its module path (`agency/mod` → `agency`).
fn modules() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut folders = vec![src()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(src()).unwrap().with_extension("");
                let name = relative
                    .to_string_lossy()
                    .trim_end_matches("/mod")
                    .to_owned();
                found.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    found
}

/// The text before the file's test module.
fn production(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// The paths `text` names from `crate::` or `super::`, with `a::{b, c::d}` groups expanded
/// (one level of braces, as `use` lines have them here).
fn paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (start, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        let boundary = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        if !boundary {
            continue;
        }
        let rest = &text[start..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{'))
            .unwrap_or(rest.len());
        let head = &rest[..end];
        if let Some((prefix, _)) = head.split_once("::{") {
            let open = start_of_group(rest);
            let close = rest.find('}').unwrap_or(rest.len());
            for item in rest[open + 1..close].split(',') {
                let item = item.trim();
                if item.is_empty() || item == "self" {
                    found.push(prefix.to_owned());
                } else {
                    found.push(format!("{prefix}::{item}"));
                }
            }
        } else {
            found.push(head.to_owned());
        }
    }
    found
}

/// Where the `{` of a path's group is.
fn start_of_group(path: &str) -> usize {
    path.find('{').unwrap_or(0)
}

/// The modules of the crate that `text` (the file `module`) imports: `crate::a::b`, and
/// `super::x` within a room; each resolved to the longest module path that exists.
fn imports(module: &str, text: &str, known: &BTreeMap<String, String>) -> BTreeSet<String> {
    let parent = module.rsplit_once('/').map(|(parent, _)| parent);
    let mut found = BTreeSet::new();
    for path in paths(production(text)) {
        let path = if let Some(rest) = path.strip_prefix("crate::") {
            rest.to_owned()
        } else if let (Some(rest), Some(parent)) = (path.strip_prefix("super::"), parent) {
            format!("{}::{rest}", parent.replace('/', "::"))
        } else {
            continue;
        };
        let segments: Vec<&str> = path
            .split("::")
            .map(|segment| segment.split_whitespace().next().unwrap_or(""))
            .take_while(|segment| !segment.is_empty())
            .collect();
        for length in (1..=segments.len()).rev() {
            let candidate = segments[..length].join("/");
            if known.contains_key(&candidate) {
                if candidate != module {
                    found.insert(candidate);
                }
                break;
            }
        }
    }
    found
}

fn level(room: &str) -> Option<u8> {
    LEVELS
        .iter()
        .find(|(name, _)| *name == room)
        .map(|(_, level)| *level)
}

fn room(module: &str) -> &str {
    module.split('/').next().unwrap()
}

#[test]
fn the_top_of_src_holds_at_most_eight_files() {
    let files: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(files.len() <= TOP_LEVEL_FILES, "{files:?}");
}

#[test]
fn no_production_file_is_over_six_hundred_lines() {
    let long: Vec<(String, usize)> = modules()
        .into_iter()
        .map(|(module, text)| (module, production(&text).lines().count()))
        .filter(|(_, lines)| *lines > PRODUCTION_LINES)
        .collect();
    assert!(long.is_empty(), "over {PRODUCTION_LINES} lines: {long:?}");
}

#[test]
fn imports_point_down_from_room_to_room() {
    let known = modules();
    let mut wrong = Vec::new();
    for (module, text) in &known {
        let from = room(module);
        if matches!(from, "main" | "lib") {
            continue;
        }
        let from_level = level(from).unwrap_or_else(|| panic!("room {from} has no level"));
        for import in imports(module, text, &known) {
            let to = room(&import);
            if to == from {
                continue;
            }
            let to_level = level(to).unwrap_or_else(|| panic!("room {to} has no level"));
            let allowed = ALLOWED_UP
                .iter()
                .any(|(up_from, up_to, _)| *up_from == from && *up_to == to);
            let leaf = matches!(from, "server" | "process");
            if leaf || (to_level >= from_level && !allowed) {
                wrong.push(format!("{module} imports {import}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that do not point down: {wrong:#?}"
    );
}

#[test]
fn no_file_imports_its_way_back_to_itself() {
    let known = modules();
    let graph: BTreeMap<String, BTreeSet<String>> = known
        .iter()
        .map(|(module, text)| (module.clone(), imports(module, text, &known)))
        .collect();
    // Depth-first search with colours: meeting a grey module again is a circle.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    let mut circles = Vec::new();
    for start in graph.keys() {
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start.as_str(), Vec::new())];
        let mut path: Vec<&str> = Vec::new();
        while let Some((module, _)) = stack.last() {
            let module = *module;
            match colour.get(module).copied().unwrap_or(0) {
                0 => {
                    colour.insert(module, 1);
                    path.push(module);
                    let next: Vec<&str> = graph[module].iter().map(String::as_str).collect();
                    stack.last_mut().unwrap().1 = next;
                }
                1 => {
                    let frame = stack.last_mut().unwrap();
                    if let Some(next) = frame.1.pop() {
                        match colour.get(next).copied().unwrap_or(0) {
                            0 => stack.push((next, Vec::new())),
                            1 => {
                                let at = path.iter().position(|m| *m == next).unwrap();
                                circles.push(path[at..].join(" → ") + " → " + next);
                            }
                            _ => {}
                        }
                    } else {
                        colour.insert(module, 2);
                        path.pop();
                        stack.pop();
                    }
                }
                _ => {
                    stack.pop();
                }
            }
        }
    }
    assert!(circles.is_empty(), "file circles: {circles:#?}");
}
