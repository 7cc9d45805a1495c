//! `escalate events`: the event log as JSON lines with a cursor.

use std::io::{BufRead, BufReader};

use crate::support::*;
use serde_json::Value;

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn json_lines_resume_after_an_id_and_filter_by_kind() {
    let env = Env::new();
    let id = env.create(0, "customer_issue", "Login broken");
    env.at(5, &["ack", &id.to_string(), "--by", "ann"]).ok();
    let all = lines(&env.run(&["events"]).ok().stdout);
    assert_eq!(
        kinds(&all),
        ["created", "notified", "sla_met", "acknowledged"]
    );
    assert_eq!(all[0]["issue_id"], id);
    assert_eq!(all[0]["at"], at_minutes(0));
    assert_eq!(all[0]["details"]["title"], "Login broken");
    assert_eq!(all[3]["actor"], "ann");
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap_or(0)).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let after = lines(
        &env.run(&["events", "--since", &ids[0].to_string()])
            .ok()
            .stdout,
    );
    assert_eq!(kinds(&after), ["notified", "sla_met", "acknowledged"]);
    let only = lines(
        &env.run(&["events", "--kind", "acknowledged", "--kind", "created"])
            .ok()
            .stdout,
    );
    assert_eq!(kinds(&only), ["created", "acknowledged"]);
    let one = lines(&env.run(&["events", "--limit", "1"]).ok().stdout);
    assert_eq!(kinds(&one), ["created"]);

    env.run(&["events", "--kind", "exploded"])
        .code(2)
        .one_line_error("unknown event kind `exploded`");
}

#[test]
fn a_cursor_file_delivers_each_event_once_across_runs() {
    let env = Env::new();
    let cursor = env.path("cursor");
    let cursor_arg = cursor.to_string_lossy().to_string();
    env.create(0, "customer_issue", "one");
    let first = lines(
        &env.run(&["events", "--cursor-file", &cursor_arg])
            .ok()
            .stdout,
    );
    assert_eq!(kinds(&first), ["created", "notified"]);
    assert!(env
        .run(&["events", "--cursor-file", &cursor_arg])
        .ok()
        .stdout
        .is_empty());
    env.create(1, "customer_issue", "two");
    let second = lines(
        &env.run(&["events", "--cursor-file", &cursor_arg])
            .ok()
            .stdout,
    );
    assert_eq!(kinds(&second), ["created", "notified"]);
    assert_eq!(second[0]["details"]["title"], "two");

    // A filter that matches nothing still moves the cursor past what it saw.
    env.create(2, "customer_issue", "three");
    let filtered = env
        .run(&["events", "--cursor-file", &cursor_arg, "--kind", "resolved"])
        .ok();
    assert!(filtered.stdout.is_empty());
    assert!(env
        .run(&["events", "--cursor-file", &cursor_arg])
        .ok()
        .stdout
        .is_empty());

    std::fs::write(&cursor, "not a number").expect("write");
    env.run(&["events", "--cursor-file", &cursor_arg])
        .code(2)
        .one_line_error("does not hold an event id");
    env.run(&["events", "--since", "3", "--cursor-file", &cursor_arg])
        .code(2);
}

#[test]
fn follow_prints_new_events_as_they_are_written() {
    let env = Env::new();
    env.create(0, "customer_issue", "before");
    let mut child = env
        .test()
        .args(["events", "--follow", "--interval", "0.05"])
        .args(["--kind", "created"])
        .spawn();
    // Lines arrive through a channel so a silent binary fails the test
    // after a timeout instead of hanging it.
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a line within 20 s");
        serde_json::from_str(&line).expect("json")
    };
    assert_eq!(next()["details"]["title"], "before");
    env.create(1, "customer_issue", "while following");
    assert_eq!(next()["details"]["title"], "while following");
    child.kill().expect("kill");
    child.wait().expect("reap");
}
