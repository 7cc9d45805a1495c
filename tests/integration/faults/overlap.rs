//! Overlap: 16 `check` processes at once notify every outbox row exactly
//! once (see the module docs, item 1).

use std::time::Duration;

use super::*;
use crate::support::peer::Peer;

#[test]
fn overlap_16_checks_notify_everything_exactly_once() {
    let peer = Peer::start();
    // every role has a webhook; the lead also has Slack
    let config = hooked(1, "").replace(
        "[roles.support_lead]\n",
        &format!(
            "[roles.support_lead]\nslack = \"{}\"\n",
            peer.url("/slack/lead")
        ),
    );
    let env = Env::with_config(&config);
    point(&env, 1, &|p| peer.url(p));
    env.run(&["init"]).ok();
    for i in 0..50 {
        let chain = if i % 5 == 4 {
            "system_outage"
        } else {
            "customer_issue"
        };
        env.create(0, chain, &format!("overlap {i}"));
    }
    assert_eq!(peer.count(), 50, "level 1 of each issue posted at create");
    // A slow receiver keeps deliveries in flight while other checks start.
    peer.delay(Duration::from_millis(10));
    let children: Vec<_> = (0..16)
        .map(|_| env.test().at("+3d").args(["check"]).spawn())
        .collect();
    for child in children {
        let r = Run::wait(child);
        r.no_panic();
        assert_eq!(r.code, 0, "{r:?}");
    }
    let rows = env.outbox("all");
    let sent = env.outbox("sent");
    assert_eq!(sent.len(), rows.len(), "every row sent: {rows:?}");
    assert!(env.outbox("pending").is_empty());
    // 40 customer issues × 4 levels (+ Slack for L2); 10 outage issues ×
    // L1, L2, L3 (its missed repeats collapsed)
    let per_issue = |id: i64| rows.iter().filter(|r| int(r, "issue_id") == id).count();
    let customer: Vec<i64> = (1..=50).filter(|i| i % 5 != 0).collect();
    assert!(customer.iter().all(|&id| per_issue(id) == 5), "{rows:?}");
    assert!((1..=50).all(|id| per_issue(id) >= 3), "{rows:?}");

    // each webhook row posted exactly once, and only ids that are rows
    let webhook = |r: &Request| !r.path.starts_with("/slack/");
    let posts = posts_per_delivery(&peer.requests(), webhook);
    let ids: BTreeSet<i64> = rows
        .iter()
        .filter(|r| r["channel"] == "webhook")
        .map(|r| int(r, "id"))
        .collect();
    assert_eq!(posts.keys().copied().collect::<BTreeSet<_>>(), ids);
    let twice: Vec<_> = posts.iter().filter(|(_, &n)| n != 1).collect();
    assert!(twice.is_empty(), "posted more than once: {twice:?}");
    // the 40 Slack rows: one claim, so one grouped post
    let slack: Vec<Request> = peer
        .requests()
        .into_iter()
        .filter(|r| r.path == "/slack/lead")
        .collect();
    assert_eq!(slack.len(), 1, "{slack:?}");
    assert!(slack[0].body.contains("40 escalations"), "{:?}", slack[0]);
    // …to the contact of the row's role
    for r in peer.requests().iter().filter(|r| webhook(r)) {
        for n in notes(r) {
            let row = rows
                .iter()
                .find(|x| int(x, "id") == n.delivery)
                .expect("row");
            assert!(r.path.starts_with(&format!("/{}/", text(row, "role"))));
            assert_eq!((n.issue, n.level, n.repeat), {
                let k = row_key(row);
                (k.0, k.1, k.2)
            });
        }
    }
    assert_notified_once_per_row(&env, &sent);
    assert_escalated_once(&env);
    // and a later check has nothing left to send
    let before = peer.count();
    env.at(3 * 24 * 60 + 1, &["check"]).ok();
    assert_eq!(peer.count(), before);
}
