//! docs/authoring.md, the clerk's guide, followed step by step in German and in English: the
//! files it tells the clerk to write, every `baukasten` command it shows, and the output it
//! promises. The tool is the reference; when this test fails, fix the guide (both languages).
//!
//! The guide marks the blocks the clerk writes with an HTML comment before the fence:
//! `<!-- file: PATH -->` (blocks for the same file are joined in order) and
//! `<!-- first line: PATH -->` (put at the top of PATH). Every `text` block is an output the
//! step before it promises, word for word.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GUIDE: &str = include_str!("../../../../docs/authoring.md");

/// One fenced code block of the guide.
#[derive(Debug)]
struct Block {
    /// The number of the `### N.` step it is in; `None` outside the numbered steps.
    step: Option<u32>,
    /// The fence's info string: `yaml`, `sh`, `text`, `json`.
    lang: String,
    /// The `<!-- … -->` marker right before the fence, without the comment's brackets.
    marker: Option<String>,
    /// The content, with the fence's indentation removed; every line ends in `\n`.
    text: String,
}

/// One language's half of the guide.
struct Section {
    name: &'static str,
    blocks: Vec<Block>,
    /// Inline code spans (`…`) in the prose, with the step they are in.
    spans: Vec<(Option<u32>, String)>,
}

fn parse(section: &str, name: &'static str) -> Section {
    let (mut blocks, mut spans) = (Vec::new(), Vec::new());
    let mut step = None;
    let mut last_prose = "";
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(heading) = trimmed.strip_prefix("### ") {
            step = heading.split('.').next().and_then(|n| n.parse::<u32>().ok());
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            let indent = line.len() - trimmed.len();
            let mut text = String::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                text.push_str(inner.get(indent..).unwrap_or(inner.trim_start()));
                text.push('\n');
            }
            let marker = last_prose
                .trim()
                .strip_prefix("<!--")
                .and_then(|m| m.strip_suffix("-->"))
                .map(|m| m.trim().to_string());
            blocks.push(Block {
                step,
                lang: info.trim().to_string(),
                marker,
                text,
            });
            last_prose = "";
            continue;
        }
        if !trimmed.is_empty() {
            last_prose = line;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 {
                spans.push((step, span.to_string()));
            }
        }
    }
    Section { name, blocks, spans }
}

fn sections() -> (Section, Section) {
    let de_start = GUIDE.find("\n## Deutsch\n").expect("the guide has `## Deutsch`");
    let en_start = GUIDE.find("\n## English\n").expect("the guide has `## English`");
    assert!(de_start < en_start, "German comes first");
    (parse(&GUIDE[de_start..en_start], "de"), parse(&GUIDE[en_start..], "en"))
}

/// Every `baukasten …` command the guide shows: lines of code blocks (with or without a `$ `
/// prompt) and inline code in the prose.
fn commands_in(section: &Section) -> Vec<String> {
    let block_lines = section
        .blocks
        .iter()
        .filter(|b| b.lang != "text")
        .flat_map(|b| b.text.lines());
    let spans = section.spans.iter().map(|(_, s)| s.as_str());
    block_lines
        .chain(spans)
        .map(|l| l.trim().trim_start_matches("$ ").trim())
        .filter(|l| l.starts_with("baukasten "))
        .map(normalize)
        .collect()
}

fn normalize(command: &str) -> String {
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The clerk's folder and the commands run in it.
struct Clerk<'a> {
    guide: &'a Section,
    dir: PathBuf,
    /// `LANG` of the clerk's system.
    lang: &'static str,
    ran: &'a mut BTreeSet<String>,
    /// The `text` blocks checked so far.
    outputs_checked: usize,
}

impl Clerk<'_> {
    /// Runs a command as the guide writes it (`baukasten …`, optionally `> FILE`).
    fn run(&mut self, command: &str) -> Output {
        self.run_with_lang(command, self.lang)
    }

    fn run_with_lang(&mut self, command: &str, lang: &str) -> Output {
        run_in(&self.dir, command, lang, self.ran)
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).unwrap()
    }

    /// Writes what the guide's `file:` blocks of this step say, appending to files written in
    /// earlier steps. Returns the paths written.
    fn write_files_of_step(&self, step: u32) -> Vec<String> {
        let mut written = Vec::new();
        for block in self.guide.blocks.iter().filter(|b| b.step == Some(step)) {
            let Some(path) = block.marker.as_deref().and_then(|m| m.strip_prefix("file: ")) else {
                continue;
            };
            let before = std::fs::read_to_string(self.dir.join(path)).unwrap_or_default();
            self.write(path, &format!("{before}{}", block.text));
            written.push(path.to_string());
        }
        written
    }

    /// The `text` blocks of a step, in order; each must be checked by the caller.
    fn outputs_of_step(&mut self, step: u32, expected: usize) -> Vec<String> {
        let outputs: Vec<String> = self
            .guide
            .blocks
            .iter()
            .filter(|b| b.step == Some(step) && b.lang == "text")
            .map(|b| b.text.clone())
            .collect();
        assert_eq!(
            outputs.len(),
            expected,
            "[{}] step {step} of the guide should show {expected} outputs: {outputs:#?}",
            self.guide.name
        );
        self.outputs_checked += outputs.len();
        outputs
    }
}

fn run_in(dir: &Path, command: &str, lang: &str, ran: &mut BTreeSet<String>) -> Output {
    let command = normalize(command);
    ran.insert(command.clone());
    let (args, redirect) = match command.split_once(" > ") {
        Some((args, file)) => (args, Some(file)),
        None => (command.as_str(), None),
    };
    let mut words = args.split(' ');
    assert_eq!(words.next(), Some("baukasten"), "{command}");
    let out = Command::new(env!("CARGO_BIN_EXE_baukasten"))
        .args(words)
        .current_dir(dir)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANGUAGE")
        .env("LANG", lang)
        .output()
        .expect("the binary runs");
    if let Some(file) = redirect {
        std::fs::write(dir.join(file), &out.stdout).unwrap();
    }
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn last_line(out: &Output) -> String {
    stdout(out).lines().last().unwrap_or_default().to_string()
}

fn assert_status(out: &Output, code: i32, what: &str) {
    assert_eq!(out.status.code(), Some(code), "{what}:\n{}", text(out));
}

/// A fresh, empty folder under the system's temp dir.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baukasten-authoring-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The keys at the top of a YAML file (lines without indentation).
fn top_level_keys(yaml: &str) -> Vec<&str> {
    yaml.lines()
        .filter(|l| !l.starts_with([' ', '#', '-']) && l.contains(':'))
        .map(|l| l.split(':').next().unwrap())
        .collect()
}

/// The guide, followed by a clerk whose system speaks the section's language. Returns the
/// files the clerk ends up with.
fn follow(guide: &Section, lang: &'static str, ran: &mut BTreeSet<String>) -> BTreeMap<String, String> {
    let name = guide.name;
    let de = name == "de";
    let other_lang = if de { "en_US.UTF-8" } else { "de_DE.UTF-8" };

    // Every YAML or JSON block says which file it belongs to.
    for block in guide.blocks.iter().filter(|b| b.lang == "yaml" || b.lang == "json") {
        let marker = block.marker.as_deref().unwrap_or_default();
        assert!(
            marker.starts_with("file: ") || marker.starts_with("first line: "),
            "[{name}] a {} block in step {:?} has no `<!-- file: PATH -->` marker:\n{}",
            block.lang,
            block.step,
            block.text
        );
    }

    let mut clerk = Clerk {
        guide,
        dir: fresh_dir(name),
        lang,
        ran,
        outputs_checked: 0,
    };

    // 1. The command is there.
    let out = clerk.run("baukasten --help");
    assert_status(&out, 0, "baukasten --help");
    for command in ["check", "test", "schema"] {
        assert!(
            stdout(&out).contains(command),
            "--help names `{command}`:\n{}",
            text(&out)
        );
    }

    // 5 (good to know): status 2 when the command itself cannot run, e.g. without `forms/`.
    let out = clerk.run("baukasten check forms");
    assert_status(&out, 2, "check without a forms folder");

    // 2 and 3. The service, in parts.
    let written = clerk.write_files_of_step(3);
    assert_eq!(
        written, ["forms/hundesteuer.yaml"; 3],
        "[{name}] step 3 writes the service in three parts"
    );

    // 4. Check: the summary the guide shows.
    let [summary] = <[String; 1]>::try_from(clerk.outputs_of_step(4, 1)).unwrap();
    let out = clerk.run("baukasten check forms");
    assert_status(&out, 0, "check after step 3");
    assert_eq!(format!("{}\n", last_line(&out)), summary, "[{name}] step 4's summary");
    assert!(summary.contains(if de { " 0 Fehler" } else { " 0 errors" }));

    // 5. The typo: the guide's diagnostic names the line; it is the surname's `required`.
    let [diagnostic] = <[String; 1]>::try_from(clerk.outputs_of_step(5, 1)).unwrap();
    let place = diagnostic
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> forms/hundesteuer.yaml:"))
        .unwrap_or_else(|| panic!("[{name}] step 5's diagnostic points into forms/hundesteuer.yaml"));
    let line_no: usize = place.split(':').next().unwrap().parse().unwrap();
    let good = clerk.read("forms/hundesteuer.yaml");
    let lines: Vec<&str> = good.lines().collect();
    assert_eq!(
        lines[line_no - 1],
        "        required: true",
        "[{name}] line {line_no} of forms/hundesteuer.yaml is a `required: true`"
    );
    let field = lines[..line_no]
        .iter()
        .rev()
        .find_map(|l| l.trim().strip_prefix("- id: "))
        .unwrap();
    assert_eq!(
        field, "nachname",
        "[{name}] the typo in step 5 is in the surname's field"
    );
    let mut broken: Vec<&str> = lines.clone();
    broken[line_no - 1] = "        requird: true";
    clerk.write("forms/hundesteuer.yaml", &(broken.join("\n") + "\n"));

    // German: the system's language. English: the guide runs it with `--lang en`.
    let shown = if de {
        "baukasten check forms"
    } else {
        "baukasten check --lang en forms"
    };
    let out = clerk.run(shown);
    assert_status(&out, 1, "check with the typo");
    assert!(
        stdout(&out).starts_with(&diagnostic),
        "[{name}] step 5's diagnostic, word for word.\nguide:\n{diagnostic}\ntool:\n{}",
        text(&out)
    );
    // The flag wins over the system's language, in both directions.
    let flag_own = if de {
        "baukasten check --lang de forms"
    } else {
        "baukasten check --lang en forms"
    };
    let out = clerk.run_with_lang(flag_own, other_lang);
    assert_status(&out, 1, flag_own);
    assert!(stdout(&out).starts_with(&diagnostic), "{flag_own}:\n{}", text(&out));
    let out = clerk.run_with_lang("baukasten check forms", lang);
    assert!(stdout(&out).starts_with(&diagnostic), "LANG={lang}:\n{}", text(&out));
    let flag_other = if de {
        "baukasten check --lang en forms"
    } else {
        "baukasten check --lang de forms"
    };
    let out = clerk.run(flag_other);
    assert_status(&out, 1, flag_other);
    let help = if de {
        "help: did you mean `required`?"
    } else {
        "Hilfe: Meinten Sie `required`?"
    };
    assert!(stdout(&out).contains(help), "{flag_other}:\n{}", text(&out));

    // The fix: 0 errors again.
    clerk.write("forms/hundesteuer.yaml", &good);
    let out = clerk.run("baukasten check forms");
    assert_status(&out, 0, "check after the fix");
    assert_eq!(
        format!("{}\n", last_line(&out)),
        summary,
        "[{name}] 0 errors after the fix"
    );

    // 6. Tests, appended to the service.
    assert_eq!(clerk.write_files_of_step(6), ["forms/hundesteuer.yaml"]);
    let out = clerk.run("baukasten check forms");
    assert_status(&out, 0, "check with the tests");
    let [test_output] = <[String; 1]>::try_from(clerk.outputs_of_step(6, 1)).unwrap();
    let out = clerk.run("baukasten test forms");
    assert_status(&out, 0, "baukasten test forms in step 6");
    assert_eq!(stdout(&out), test_output, "[{name}] step 6's test output");
    assert!(last_line(&out).ends_with(" passed, 0 failed"), "{}", text(&out));

    // A failing test is named, with status 1.
    let with_tests = clerk.read("forms/hundesteuer.yaml");
    let first_test = with_tests
        .lines()
        .find_map(|l| l.trim().strip_prefix("- name: "))
        .unwrap()
        .to_string();
    assert!(
        with_tests.contains("      hidden: ["),
        "the first test expects hidden fields"
    );
    clerk.write(
        "forms/hundesteuer.yaml",
        &with_tests.replacen("      hidden: [", "      visible: [", 1),
    );
    let out = clerk.run("baukasten test forms");
    assert_status(&out, 1, "a failing test");
    assert!(
        stdout(&out).contains(&format!("FAIL hundesteuer › {first_test}")),
        "{}",
        text(&out)
    );
    assert!(last_line(&out).ends_with(" passed, 1 failed"), "{}", text(&out));
    // `check` checks the tests: a test naming a field that does not exist is an error.
    clerk.write(
        "forms/hundesteuer.yaml",
        &with_tests.replacen("hidden: [", "hidden: [gibt_es_nicht, ", 1),
    );
    let out = clerk.run("baukasten check forms");
    assert_status(&out, 1, "a test naming a field that does not exist");
    assert!(stdout(&out).contains("[test-unknown-field]"), "{}", text(&out));
    clerk.write("forms/hundesteuer.yaml", &with_tests);

    // 7. The municipality and its version of the service.
    assert_eq!(
        clerk.write_files_of_step(7),
        ["forms/musterstadt/tenant.yaml", "forms/musterstadt/hundesteuer.yaml"]
    );
    let [check_summary, test_output] = <[String; 2]>::try_from(clerk.outputs_of_step(7, 2)).unwrap();
    let out = clerk.run("baukasten check forms");
    assert_status(&out, 0, "check in step 7");
    assert_eq!(
        format!("{}\n", last_line(&out)),
        check_summary,
        "[{name}] step 7's summary"
    );
    let out = clerk.run("baukasten test forms");
    assert_status(&out, 0, "baukasten test forms in step 7");
    assert_eq!(stdout(&out), test_output, "[{name}] step 7's test output");
    assert!(test_output.contains("ok   musterstadt/hundesteuer › "));

    // A mistyped name in the overlay: line and column there, and the right name as help.
    assert!(
        guide
            .spans
            .iter()
            .any(|(s, t)| *s == Some(7) && t == "hunde.gefaerlich"),
        "[{name}] step 7 names the typo `hunde.gefaerlich`"
    );
    let overlay = clerk.read("forms/musterstadt/hundesteuer.yaml");
    let typo_line = overlay
        .lines()
        .position(|l| l.trim() == "hunde.gefaehrlich:")
        .expect("the overlay changes hunde.gefaehrlich")
        + 1;
    clerk.write(
        "forms/musterstadt/hundesteuer.yaml",
        &overlay.replace("hunde.gefaehrlich:", "hunde.gefaerlich:"),
    );
    let out = clerk.run("baukasten check forms");
    assert_status(&out, 1, "the overlay with a typo");
    let text_out = stdout(&out);
    assert!(
        text_out.contains(&format!("--> forms/musterstadt/hundesteuer.yaml:{typo_line}:5")),
        "{text_out}"
    );
    let help = if de {
        "Hilfe: Meinten Sie `hunde.gefaehrlich`?"
    } else {
        "help: did you mean `hunde.gefaehrlich`?"
    };
    assert!(text_out.contains(help), "{text_out}");
    clerk.write("forms/musterstadt/hundesteuer.yaml", &overlay);

    // 8. The schema for the editor.
    let out = clerk.run("baukasten schema dsl > baukasten.schema.json");
    assert_status(&out, 0, "schema dsl");
    let schema: serde_json::Value =
        serde_json::from_str(&clerk.read("baukasten.schema.json")).expect("the schema is JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let defs = &schema["$defs"];
    for (path, def) in [
        ("forms/hundesteuer.yaml", "service"),
        ("forms/musterstadt/hundesteuer.yaml", "overlay"),
        ("forms/musterstadt/tenant.yaml", "tenant"),
    ] {
        for key in top_level_keys(&clerk.read(path)) {
            assert!(
                defs[def]["properties"].get(key).is_some(),
                "the schema knows `{key}` of {path}"
            );
        }
    }
    assert!(defs["field"]["properties"].get("required").is_some());
    assert!(
        defs["field"]["properties"].get("requird").is_none(),
        "the editor underlines `requird`"
    );

    // The first-line comment of the service, and the one for the overlay given in the prose:
    // both lead from their file to the schema.
    let mut first_lines: Vec<(String, String)> = guide
        .blocks
        .iter()
        .filter(|b| b.step == Some(8))
        .filter_map(|b| {
            let path = b.marker.as_deref()?.strip_prefix("first line: ")?;
            Some((path.to_string(), b.text.clone()))
        })
        .collect();
    assert_eq!(first_lines.len(), 1, "[{name}] step 8 shows one first line");
    let comment = first_lines[0].1.trim_end().to_string();
    let (prefix, _) = comment.split_once("$schema=").expect("a `$schema=` comment");
    let overlay_schema = guide
        .spans
        .iter()
        .find(|(s, t)| *s == Some(8) && t.starts_with("$schema=../../"))
        .map(|(_, t)| t.clone())
        .expect("step 8 gives the overlay's `$schema=`");
    first_lines.push((
        "forms/musterstadt/hundesteuer.yaml".to_string(),
        format!("{prefix}{overlay_schema}\n"),
    ));
    for (path, line) in &first_lines {
        let target = line.trim().split_once("$schema=").unwrap().1;
        let from = clerk.dir.join(path);
        assert!(
            from.parent().unwrap().join(target).is_file(),
            "[{name}] `$schema={target}` in {path} leads to the schema"
        );
        let rest = clerk.read(path);
        clerk.write(path, &format!("{line}{rest}"));
    }
    // The settings for all files at once.
    let settings = guide
        .blocks
        .iter()
        .find(|b| b.marker.as_deref() == Some("file: .vscode/settings.json"))
        .expect("step 8 shows .vscode/settings.json");
    clerk.write(".vscode/settings.json", &settings.text);
    let settings: serde_json::Value = serde_json::from_str(&settings.text).expect("settings.json is JSON");
    let schemas = settings["yaml.schemas"].as_object().expect("yaml.schemas");
    for (schema_path, globs) in schemas {
        assert!(
            clerk.dir.join(schema_path).is_file(),
            "{schema_path} is the written schema"
        );
        assert_eq!(globs, &serde_json::json!(["forms/**/*.yaml"]));
    }
    // The comments change nothing for `check` and `test`.
    let out = clerk.run("baukasten check forms");
    assert_status(&out, 0, "check with the schema comments");
    assert_eq!(format!("{}\n", last_line(&out)), check_summary);
    let out = clerk.run("baukasten test forms");
    assert_eq!(stdout(&out), test_output, "test with the schema comments");

    // 9. Preview: the static site, and the live server that takes over saved changes.
    let commands = commands_in(guide);
    let render = commands
        .iter()
        .find(|c| c.starts_with("baukasten render"))
        .expect("step 9 shows `baukasten render`");
    let out = clerk.run(render);
    assert_status(&out, 0, render);
    let folder = render.split(' ').nth(3).expect("render --out FOLDER forms");
    for page in [
        "index.html",
        "musterstadt/hundesteuer/start.html",
        "musterstadt/hundesteuer/summary.html",
    ] {
        assert!(
            clerk.dir.join(folder).join(page).is_file(),
            "[{name}] {folder}/{page} is written"
        );
    }
    let serve = commands
        .iter()
        .find(|c| c.starts_with("baukasten serve"))
        .expect("step 9 shows `baukasten serve`");
    preview_live(&clerk.dir, serve, lang);
    clerk.ran.insert(serve.clone());

    let outputs = guide.blocks.iter().filter(|b| b.lang == "text").count();
    assert_eq!(
        clerk.outputs_checked, outputs,
        "[{name}] every output the guide shows is checked"
    );

    let files = [
        "forms/hundesteuer.yaml",
        "forms/musterstadt/tenant.yaml",
        "forms/musterstadt/hundesteuer.yaml",
        ".vscode/settings.json",
    ]
    .into_iter()
    .map(|p| (p.to_string(), clerk.read(p)))
    .collect();
    let _ = std::fs::remove_dir_all(&clerk.dir);
    files
}

/// Runs the guide's `serve` command (on a free port instead of 8080, which another test or
/// program may hold), opens the service's start page, saves a changed title and sees it
/// served, then stops the server.
fn preview_live(dir: &Path, command: &str, lang: &str) {
    use std::io::{BufRead, BufReader};
    let mut words = command.split(' ');
    assert_eq!(words.next(), Some("baukasten"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_baukasten"))
        .args(words)
        .args(["--addr", "127.0.0.1:0"])
        .current_dir(dir)
        .env("LANG", lang)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("Baukasten läuft auf http://127.0.0.1:"), "{line}");
    let base = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let page = || {
        ureq::get(format!("http://{base}/musterstadt/hundesteuer/"))
            .call()
            .expect("the start page loads")
            .body_mut()
            .read_to_string()
            .unwrap()
    };
    assert!(page().contains("Hund zur Hundesteuer anmelden"));
    let path = dir.join("forms/hundesteuer.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("title: Hund zur Hundesteuer anmelden", "title: Hund anmelden", 1),
    )
    .unwrap();
    let changed = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        page().contains("<h1>Hund anmelden</h1>")
    });
    std::fs::write(&path, text).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(changed, "--watch serves the saved change");
}

#[test]
fn the_guide_works_as_written_in_german_and_english() {
    let (de, en) = sections();
    let mut ran = BTreeSet::new();
    let german_files = follow(&de, "de_DE.UTF-8", &mut ran);
    let english_files = follow(&en, "en_US.UTF-8", &mut ran);
    assert_eq!(
        german_files, english_files,
        "the German and the English section have the clerk write the same files"
    );
    for command in commands_in(&de).into_iter().chain(commands_in(&en)) {
        assert!(
            ran.contains(&command),
            "the guide shows `{command}`, which this test does not run; ran: {ran:#?}"
        );
    }
    assert!(ran.len() >= 4, "{ran:?}");
}
