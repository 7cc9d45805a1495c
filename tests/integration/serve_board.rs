//! `GET /`: the live board, checked as served (headers, refresh, viewport)
//! and as a real browser sees it: Debian's headless `chromium` loads it,
//! dumps the DOM (issues in the right groups, a hostile title shown as
//! text) and saves a phone-sized screenshot to `target/board.png` (a CI
//! artifact). Without chromium the browser part skips with a message,
//! unless `ESCALATE_REQUIRE_CHROMIUM` is set (CI sets it), when it fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve_slack::{client, Serve};
use crate::support::Env;

/// Response due within 1 h (at risk after 48 min); the server's clock
/// stands at t0 + 10 min ([`Serve::start`]).
const CONFIG: &str = r#"
[chains.ops]
levels = [
  { level = 1, role = "oncall", wait_hours = 1 },
  { level = 2, role = "lead", wait_hours = 2 },
]
response_hours = 1

[roles.oncall]
[roles.lead]
"#;

const HOSTILE: &str = "<script>alert(1)</script>";

/// Issues in every group: ids by name.
fn board_env() -> (Env, BTreeMap<&'static str, i64>) {
    let env = Env::init(CONFIG);
    let mut ids = BTreeMap::new();
    // Created 2 h before the server's now: its 1 h response target passed.
    ids.insert("breached", env.create(-110, "ops", "Checkout is down"));
    // 40 min before: 50 min into its hour, past the 80 % mark.
    ids.insert("at-risk", env.create(-40, "ops", "Slow search & filters"));
    ids.insert("on-track", env.create(5, "ops", HOSTILE));
    let paused = env.create(0, "ops", "Waiting on the vendor");
    env.at(
        2,
        &["pause", &paused.to_string(), "--until", "4h", "--by", "ann"],
    )
    .ok();
    ids.insert("paused", paused);
    let gone = env.create(0, "ops", "Already fixed");
    env.at(3, &["resolve", &gone.to_string(), "--by", "ann"])
        .ok();
    ids.insert("resolved", gone);
    (env, ids)
}

/// The HTML of each `<section id="…">`, by id.
fn sections(html: &str) -> BTreeMap<String, String> {
    html.split("<section id=\"")
        .skip(1)
        .filter_map(|s| {
            let (id, rest) = s.split_once('"')?;
            let body = rest.split("</section>").next().unwrap_or("");
            Some((id.to_string(), body.to_string()))
        })
        .collect()
}

fn check_groups(html: &str, ids: &BTreeMap<&str, i64>) {
    let groups = sections(html);
    assert_eq!(
        groups.keys().map(String::as_str).collect::<Vec<_>>(),
        ["at-risk", "breached", "on-track", "paused"],
        "{html}"
    );
    for (group, body) in &groups {
        for (name, id) in ids {
            let shown = body.contains(&format!("data-id=\"{id}\""));
            assert_eq!(
                shown,
                name == group,
                "#{id} ({name}) in section {group}? {body}"
            );
        }
    }
    assert!(
        !html.contains("Already fixed"),
        "resolved issues are not on the board"
    );
    // The hostile title is text: escaped in the markup, no script element.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.to_lowercase().contains("<script"), "{html}");
}

#[test]
fn the_board_groups_open_issues_by_sla_state_and_escapes_their_text() {
    let (env, ids) = board_env();
    let serve = Serve::start(&env);
    let resp = client()
        .get(format!("{}/", serve.base))
        .send()
        .expect("GET /");
    assert_eq!(resp.status().as_u16(), 200);
    let csp = resp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        csp.contains("default-src 'none'"),
        "no scripts allowed: {csp}"
    );
    let html = resp.text().expect("body");
    assert!(
        html.contains("<meta http-equiv=\"refresh\" content=\"60\">"),
        "{html}"
    );
    assert!(html.contains("name=\"viewport\""), "{html}");
    check_groups(&html, &ids);
    let groups = sections(&html);
    // Owner, level, next escalation and time left on each card.
    let breached = &groups["breached"];
    assert!(breached.contains("oncall"), "{breached}");
    assert!(breached.contains("breached"), "{breached}");
    assert!(breached.contains("overdue, due 1h ago"), "{breached}");
    let at_risk = &groups["at-risk"];
    assert!(at_risk.contains("at risk"), "{at_risk}");
    assert!(at_risk.contains("10m left"), "{at_risk}");
    assert!(at_risk.contains("Slow search &amp; filters"), "{at_risk}");
    let on_track = &groups["on-track"];
    assert!(on_track.contains("ok, 55m left"), "{on_track}");
    assert!(on_track.contains("in 55m"), "next escalation: {on_track}");
    assert!(
        groups["paused"].contains("paused, resumes"),
        "{}",
        groups["paused"]
    );
}

/// Debian's `chromium` (or another name for it on PATH).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Runs chromium headless with `args`, killed after 90 s; its stdout.
fn run_chromium(bin: &Path, profile: &Path, args: &[&str]) -> String {
    let mut child = Command::new(bin)
        .args(["--headless", "--disable-gpu", "--no-sandbox"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--no-first-run", "--disable-dev-shm-usage"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("wait chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} took more than 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("chromium stdout")
}

#[test]
fn a_headless_browser_shows_the_board_and_saves_a_phone_screenshot() {
    let Some(bin) = chromium() else {
        if std::env::var_os("ESCALATE_REQUIRE_CHROMIUM").is_some() {
            panic!("chromium is not installed but ESCALATE_REQUIRE_CHROMIUM is set");
        }
        eprintln!(
            "SKIPPED serve_board browser test: chromium is not installed \
             (apt-get install -y chromium; .ci/run does this)"
        );
        return;
    };
    let (env, ids) = board_env();
    let serve = Serve::start(&env);
    let url = format!("{}/", serve.base);
    let profile = tempfile::tempdir().expect("profile dir");
    let dom = run_chromium(&bin, profile.path(), &["--dump-dom", &url]);
    assert!(
        dom.contains("Open issues"),
        "chromium loaded the board: {dom}"
    );
    check_groups(&dom, &ids);

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/board.png");
    std::fs::create_dir_all(shot.parent().expect("target/")).expect("mkdir target");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &bin,
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=412,915",
            "--hide-scrollbars",
            &url,
        ],
    );
    let png = std::fs::read(&shot).expect("chromium saved target/board.png");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
}
