//! Micro-benchmarks of the pure hot paths `check` runs per due issue: the
//! schedule (`engine::advance`), the SLA clocks (`sla::tick`), config
//! parsing and message rendering. Run with `cargo bench --bench engine`
//! (criterion; `-- --warm-up-time 1 --measurement-time 3` for a quick
//! run). Figures go in BENCHMARKS.md.

use std::hint::black_box;
use std::path::Path;

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use escalate::config::{Chain, Config, Level, Sla, STARTER};
use escalate::engine::{self, sla};
use escalate::model::{Delivery, Notice, Ts};
use escalate::notify::message;

fn t0() -> Ts {
    Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0)
        .single()
        .expect("valid")
}

fn chain(waits_hours: &[i64], repeat: u32) -> Chain {
    Chain {
        name: "bench".into(),
        description: None,
        levels: waits_hours
            .iter()
            .enumerate()
            .map(|(i, w)| Level {
                role: format!("role_{}", i + 1),
                wait: TimeDelta::hours(*w),
                create_task: None,
            })
            .collect(),
        repeat,
        ack_timeout: Some(TimeDelta::hours(2)),
        sla: Sla::default(),
        calendar: Default::default(),
        policies: Vec::new(),
        policy: None,
        runbook: None,
    }
}

fn advance(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine::advance");
    // customer_issue: 4 levels, 4 h / 8 h / 24 h / 48 h.
    let customer = chain(&[4, 8, 24, 48], 0);
    let state = engine::start(&customer, t0(), 0).state;
    // Nothing due yet (the common case for a due-index false positive).
    let now = t0() + TimeDelta::hours(1);
    assert!(engine::advance(&state, &customer, now).actions.is_empty());
    g.bench_function("0 steps behind", |b| {
        b.iter(|| engine::advance(black_box(&state), black_box(&customer), black_box(now)))
    });
    // Level 2 just came due: one page.
    let now = t0() + TimeDelta::hours(4);
    assert_eq!(engine::advance(&state, &customer, now).actions.len(), 1);
    g.bench_function("1 step behind", |b| {
        b.iter(|| engine::advance(black_box(&state), black_box(&customer), black_box(now)))
    });
    // After downtime: 50 levels passed, 50 pages.
    let long = chain(&[1; 51], 0);
    let state50 = engine::start(&long, t0(), 0).state;
    let now = t0() + TimeDelta::hours(50);
    assert_eq!(engine::advance(&state50, &long, now).actions.len(), 50);
    g.bench_function("50 steps behind (50 levels)", |b| {
        b.iter(|| engine::advance(black_box(&state50), black_box(&long), black_box(now)))
    });
    // After downtime: 2 levels and 48 repeats of the last, collapsed into 2
    // pages.
    let repeating = chain(&[1, 1, 1], 48);
    let state_r = engine::start(&repeating, t0(), 0).state;
    let now = t0() + TimeDelta::hours(50);
    let d = engine::advance(&state_r, &repeating, now);
    assert_eq!((d.actions.len(), d.state.repeat), (2, 48));
    g.bench_function("50 steps behind (48 repeats)", |b| {
        b.iter(|| engine::advance(black_box(&state_r), black_box(&repeating), black_box(now)))
    });
    g.finish();
}

fn sla_tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("sla::tick");
    let targets = Sla {
        response: Some(TimeDelta::hours(1)),
        resolution: Some(TimeDelta::hours(8)),
        ..Sla::default()
    };
    let clocks = sla::start(&targets, t0());
    let quiet = t0() + TimeDelta::minutes(10);
    assert!(sla::tick(&clocks, quiet).changes.is_empty());
    g.bench_function("no change", |b| {
        b.iter(|| sla::tick(black_box(&clocks), black_box(quiet)))
    });
    let late = t0() + TimeDelta::hours(9);
    assert_eq!(sla::tick(&clocks, late).changes.len(), 4);
    g.bench_function("4 changes (both at risk and breached)", |b| {
        b.iter(|| sla::tick(black_box(&clocks), black_box(late)))
    });
    g.finish();
}

fn config_parse(c: &mut Criterion) {
    let path = Path::new("chains.toml");
    Config::parse(STARTER, path).expect("starter parses");
    c.bench_function("Config::parse chains.toml", |b| {
        b.iter(|| Config::parse(black_box(STARTER), path))
    });
}

fn rendering(c: &mut Criterion) {
    let mut g = c.benchmark_group("notify::message");
    let d = Delivery {
        id: 42,
        issue_id: 7,
        notice: Notice::Page,
        epoch: 0,
        level: 2,
        repeat: 0,
        role: "support_lead".into(),
        channel: "slack".into(),
        target: "https://hooks.slack.com/services/T000/B000/XXXX".into(),
        due_at: t0() + TimeDelta::hours(4),
        attempts: 0,
        title: "Checkout fails for <EU> customers & @here".into(),
        chain: "customer_issue".into(),
        created_at: t0(),
        payload: None,
        task: None,
        person: None,
        mention: None,
        issue_epoch: 0,
        links: None,
        source: None,
        external_id: None,
        ticket_url: None,
        runbook: None,
        rendered: None,
    };
    let now = t0() + TimeDelta::hours(4) + TimeDelta::minutes(7);
    g.bench_function("line", |b| {
        b.iter(|| message::line(black_box(&d), black_box(now)))
    });
    g.bench_function("slack (1 item)", |b| {
        b.iter(|| message::slack(black_box(&[&d]), black_box(now), false))
    });
    let many: Vec<&Delivery> = std::iter::repeat_n(&d, 25).collect();
    g.bench_function("slack (25 items, grouped)", |b| {
        b.iter(|| message::slack(black_box(&many), black_box(now), false))
    });
    g.finish();
}

/// The same decision on `always` and on a business-hours calendar: an issue
/// filed 30 days ago whose level 3 (4 + 8 + 24 open hours later) just
/// came due, so each step's due instant is counted over weeks of open
/// hours. The memo of a year's spans is warm (as for every issue after the
/// first in one `check`); the cold build is measured on its own.
fn calendar(c: &mut Criterion) {
    use escalate::config::calendars::{range, Calendar};
    use std::sync::Arc;
    let mut g = c.benchmark_group("calendar");
    let mut office = Calendar::always();
    office.name = "office".into();
    office.tz = chrono_tz::Tz::America__New_York;
    office.week = std::array::from_fn(|d| {
        if d < 5 {
            vec![range("09:00-17:00").expect("range")]
        } else {
            Vec::new()
        }
    });
    let plain = chain(&[4, 8, 24, 48], 0);
    let mut business = plain.clone();
    business.calendar = Arc::new(office.clone());
    let filed = t0() - TimeDelta::days(30);
    for (name, ch) in [("always", &plain), ("business hours", &business)] {
        let state = engine::start(ch, filed, 0).state;
        let due = engine::next_due(&state, ch).expect("due");
        let state = engine::advance(&state, ch, due).state;
        let due = engine::next_due(&state, ch).expect("due");
        assert_eq!(engine::advance(&state, ch, due).actions.len(), 1);
        g.bench_function(format!("advance, level 3 due, {name}"), |b| {
            b.iter(|| engine::advance(black_box(&state), black_box(ch), black_box(due)))
        });
    }
    g.bench_function("a year of spans, cold (once per process and year)", |b| {
        b.iter(|| {
            let fresh = office.clone();
            engine::calendar::add(&fresh, black_box(t0()), TimeDelta::hours(40))
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    advance,
    sla_tick,
    config_parse,
    rendering,
    calendar
);
criterion_main!(benches);
