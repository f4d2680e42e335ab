//! The checked-in completions and man pages must match the CLI.
//! `KERIA_UPDATE_GENERATED=1 cargo nextest run generated` rewrites them.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use keria::cli::Cli;

/// The date printed in the man pages, pinned so regeneration is reproducible.
const MAN_DATE: &str = "2026-11-24";

/// Every generated file: its path in the repository and its content.
fn render() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "keria.bash"),
        (Shell::Zsh, "_keria"),
        (Shell::Fish, "keria.fish"),
        (Shell::Elvish, "keria.elv"),
        (Shell::PowerShell, "_keria.ps1"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "keria", &mut out);
        files.push((root.join("completions").join(name), out));
    }
    let command = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone())
        .date(MAN_DATE)
        .render(&mut out)
        .unwrap();
    files.push((root.join("man/keria.1"), out));
    for sub in command.get_subcommands() {
        let name = format!("keria-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("keria {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"));
        let mut out = Vec::new();
        clap_mangen::Man::new(page)
            .date(MAN_DATE)
            .render(&mut out)
            .unwrap();
        files.push((root.join("man").join(format!("{name}.1")), out));
    }
    files
}

#[test]
fn completions_and_man_pages_match_the_cli() {
    let update = std::env::var_os("KERIA_UPDATE_GENERATED").is_some();
    let mut drifted = Vec::new();
    for (path, content) in render() {
        let current = std::fs::read(&path).unwrap_or_default();
        if current == content {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &content).unwrap();
        } else {
            let first_difference = String::from_utf8_lossy(&current)
                .lines()
                .zip(String::from_utf8_lossy(&content).lines())
                .enumerate()
                .find(|(_, (old, new))| old != new)
                .map_or_else(
                    || "lengths differ".to_owned(),
                    |(line, (old, new))| format!("line {}: -{old}\n+{new}", line + 1),
                );
            drifted.push(format!("{}:\n{first_difference}", path.display()));
        }
    }
    assert!(
        drifted.is_empty(),
        "generated files drifted from the CLI; rewrite them with\n  KERIA_UPDATE_GENERATED=1 cargo nextest run generated\n\n{}",
        drifted.join("\n\n")
    );
}

#[test]
fn man_pages_have_no_backticks_and_refer_only_to_shipped_pages() {
    let pages: Vec<(PathBuf, String)> = render()
        .into_iter()
        .filter(|(path, _)| path.extension().is_some_and(|extension| extension == "1"))
        .map(|(path, content)| (path, String::from_utf8(content).unwrap()))
        .collect();
    let shipped: Vec<String> = pages
        .iter()
        .map(|(path, _)| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    // One page for keria and one for each subcommand.
    let subcommands = keria::cli::Cli::command().get_subcommands().count();
    assert_eq!(shipped.len(), 1 + subcommands, "{shipped:?}");
    for (path, page) in &pages {
        assert!(!page.contains('`'), "{} has a backtick", path.display());
        // A reference is a name followed by "(1)"; roff escapes its hyphens.
        for (at, _) in page.match_indices("(1)") {
            let name: String = page[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '\\'))
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<String>()
                .replace("\\-", "-");
            assert!(
                shipped.contains(&name),
                "{} refers to {name}(1), which is not shipped",
                path.display()
            );
        }
    }
}
