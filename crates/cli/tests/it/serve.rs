//! `baukasten serve` as an operator runs it: it refuses a broken catalog, and no submission
//! it acknowledged is lost when the process is killed in the middle of a burst.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{BROKEN, repo_root, scratch};

const TOKEN: &str = "crash-test-token-0123456789";

/// Every webhook the catalog's services deliver to, configured for both municipalities (a
/// config file makes them required). Nothing listens there: the deliveries wait and retry.
const WEBHOOKS: &str = "webhooks:
  musterstadt:
    fachverfahren: { url: \"http://127.0.0.1:9/hook\", secret_env: BAUKASTEN_TEST_SECRET }
    meldewesen: { url: \"http://127.0.0.1:9/hook\", secret_env: BAUKASTEN_TEST_SECRET }
    steuerverfahren: { url: \"http://127.0.0.1:9/hook\", secret_env: BAUKASTEN_TEST_SECRET }
  beispieldorf:
    fachverfahren: { url: \"http://127.0.0.1:9/hook\", secret_env: BAUKASTEN_TEST_SECRET }
    meldewesen: { url: \"http://127.0.0.1:9/hook\", secret_env: BAUKASTEN_TEST_SECRET }
    steuerverfahren: { url: \"http://127.0.0.1:9/hook\", secret_env: BAUKASTEN_TEST_SECRET }
    ordnungsamt: { url: \"http://127.0.0.1:9/hook\", secret_env: BAUKASTEN_TEST_SECRET }
";

/// Starts the real binary on a free port and returns it with its address.
fn serve(data: &std::path::Path, config: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baukasten"))
        .args(["serve", "--forms"])
        .arg(repo_root().join("forms"))
        .arg("--data")
        .arg(data)
        .args(["--addr", "127.0.0.1:0", "--config"])
        .arg(config)
        .env("BAUKASTEN_TEST_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server prints its address");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, format!("http://{addr}"))
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

fn valid_answers() -> String {
    let files = ["maengelmelder.yaml"]
        .iter()
        .map(|f| {
            let path = repo_root().join("forms").join(f);
            baukasten_dsl::SourceFile::new(f.to_string(), std::fs::read_to_string(path).unwrap())
        })
        .collect();
    let catalog = baukasten_dsl::load_catalog(files).catalog;
    let service = catalog.service(None, "maengelmelder").unwrap();
    let case = service
        .tests
        .iter()
        .find(|t| t.expect.valid == Some(true))
        .expect("a valid test");
    // Without the optional photo, which would need an upload first.
    let mut answers = case.answers.to_json();
    answers.as_object_mut().unwrap().remove("foto");
    answers.to_string()
}

#[test]
fn serve_refuses_a_catalog_with_errors_and_prints_them() {
    let dir = scratch("serve-broken");
    std::fs::write(dir.join("forms/hallo.yaml"), BROKEN).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_baukasten"))
        .args(["serve", "--forms", "forms", "--data", "data", "--addr", "127.0.0.1:0"])
        .current_dir(&dir)
        .env("LANG", "de_DE.UTF-8")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("requird"), "{stderr}");
    assert!(
        stderr.contains("hallo.yaml:11:"),
        "the diagnostic points at the line: {stderr}"
    );
}

#[test]
fn no_acknowledged_submission_is_lost_when_the_server_is_killed() {
    let dir = scratch("serve-crash");
    let data = dir.join("data");
    let config = dir.join("baukasten.yaml");
    std::fs::write(
        &config,
        format!("rate_limit_per_minute: 1000000\nworkers: 2\ntokens:\n  musterstadt: {TOKEN}\n{WEBHOOKS}"),
    )
    .unwrap();
    let answers = Arc::new(valid_answers());
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();

    for round in 0..20 {
        let (mut child, base) = serve(&data, &config);
        // Everything acknowledged so far survived the last kill.
        let mut seen = 0;
        for reference in acknowledged.lock().unwrap().iter() {
            let mut reply = agent()
                .get(format!("{base}/api/v1/submissions/{reference}"))
                .header("Authorization", format!("Bearer {TOKEN}"))
                .call()
                .expect("the restarted server answers");
            assert_eq!(
                reply.status(),
                200,
                "round {round}: {reference} was acknowledged and is gone"
            );
            let body = reply.body_mut().read_to_string().unwrap();
            assert!(body.contains(reference.as_str()));
            seen += 1;
        }

        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let (base, answers, acknowledged, stop) =
                    (base.clone(), answers.clone(), acknowledged.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let reply = agent()
                            .post(format!("{base}/api/v1/services/musterstadt/maengelmelder/submissions"))
                            .header("Content-Type", "application/json")
                            .send(answers.as_str());
                        let Ok(mut reply) = reply else { break };
                        if reply.status() == 201 {
                            let body: serde_json::Value = reply.body_mut().read_json().unwrap();
                            acknowledged
                                .lock()
                                .unwrap()
                                .push(body["reference"].as_str().unwrap().to_string());
                        }
                    }
                })
            })
            .collect();
        // Kill at a different moment each round, while submissions are in flight: once the
        // round has stored something (however slow the machine is today), a little later.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while acknowledged.lock().unwrap().len() == seen && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50 + (round * 37) % 200));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            let _ = client.join();
        }
        assert!(
            acknowledged.lock().unwrap().len() > seen,
            "round {round} stored something"
        );
    }

    // A last start checks the last round's submissions, and that the count is exact.
    let (mut child, base) = serve(&data, &config);
    let list: serde_json::Value = agent()
        .get(format!("{base}/api/v1/submissions?limit=500"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let acknowledged = acknowledged.lock().unwrap();
    for reference in acknowledged.iter().rev().take(200) {
        let reply = agent()
            .get(format!("{base}/api/v1/submissions/{reference}"))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .call()
            .unwrap();
        assert_eq!(reply.status(), 200, "{reference}");
    }
    assert!(!list.as_array().unwrap().is_empty());
    child.kill().unwrap();
    let _ = child.wait();
    eprintln!(
        "{} submissions acknowledged over 20 kills, all readable",
        acknowledged.len()
    );
}

#[test]
fn watch_publishes_a_changed_catalog_and_keeps_the_old_one_when_the_change_is_broken() {
    let dir = scratch("serve-watch");
    let service = |title: &str| {
        format!(
            "service: hallo\nversion: 1.0.0\ntitle: {title}\nsteps:\n  - id: eins\n    title: Eins\n    fields:\n      - id: name\n        type: text\n        label: Name\n        required: true\n"
        )
    };
    std::fs::write(dir.join("forms/hallo.yaml"), service("Hallo")).unwrap();
    let config = dir.join("baukasten.yaml");
    std::fs::write(&config, "watch: true\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_baukasten"))
        .args([
            "serve",
            "--forms",
            "forms",
            "--data",
            "data",
            "--addr",
            "127.0.0.1:0",
            "--config",
            "baukasten.yaml",
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = format!(
        "http://{}",
        line.split("http://").nth(1).unwrap().split('/').next().unwrap()
    );
    let title = || -> String {
        let mut reply = agent()
            .get(format!("{base}/api/v1/services/vorschau/hallo"))
            .call()
            .unwrap();
        let body: serde_json::Value = reply.body_mut().read_json().unwrap();
        body["title"]["de"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(title(), "Hallo");

    let wait_for = |expected: &str| {
        for _ in 0..50 {
            if title() == expected {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    };
    std::fs::write(dir.join("forms/hallo.yaml"), service("Hallo Welt")).unwrap();
    assert!(wait_for("Hallo Welt"), "the changed title is served");

    // A broken edit is not published; the last good catalog keeps serving.
    std::fs::write(
        dir.join("forms/hallo.yaml"),
        service("Kaputt").replace("required:", "requird:"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(title(), "Hallo Welt");
    child.kill().unwrap();
    let _ = child.wait();
}
