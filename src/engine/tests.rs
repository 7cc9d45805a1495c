//! Table tests for the schedule: cadences, late checks, repeats, acks, live
//! config changes, and one regression test per engine-level seed bug.

use super::*;
use crate::config::{Chain, Level};
use chrono::{TimeZone, Utc};

fn t0() -> Ts {
    Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0)
        .single()
        .expect("valid")
}

fn h(x: f64) -> TimeDelta {
    TimeDelta::milliseconds((x * 3_600_000.0).round() as i64)
}

fn chain(waits: &[f64], repeat: u32, ack_timeout: Option<f64>) -> Chain {
    Chain {
        name: "c".into(),
        description: None,
        levels: waits
            .iter()
            .enumerate()
            .map(|(i, w)| Level {
                role: format!("r{}", i + 1),
                wait: h(*w),
                create_task: None,
            })
            .collect(),
        repeat,
        ack_timeout: ack_timeout.map(h),
        sla: Default::default(),
        calendar: Default::default(),
        policies: Vec::new(),
        policy: None,
        runbook: None,
    }
}

fn customer() -> Chain {
    chain(&[4.0, 8.0, 24.0, 48.0], 0, None)
}

fn outage() -> Chain {
    chain(&[0.25, 1.0, 2.0], 3, Some(2.0))
}

/// Run checks at the given offsets (hours from t0); return every page as
/// (level, repeat, due offset in minutes, check offset in minutes).
fn simulate(c: &Chain, checks: &[f64]) -> Vec<(u32, u32, i64, i64)> {
    let Started {
        mut state,
        page: first,
    } = start(c, t0(), 0);
    let mut pages = vec![(first.level, first.repeat, 0, 0)];
    for at in checks {
        let now = t0() + h(*at);
        let d = advance(&state, c, now);
        for a in &d.actions {
            if let Action::Page(p) = a {
                assert!(p.due_at <= now, "never paged before due");
                pages.push((
                    p.level,
                    p.repeat,
                    (p.due_at - t0()).num_minutes(),
                    (now - t0()).num_minutes(),
                ));
            }
        }
        // next_due is exactly when the next page will be due
        if let Some(nd) = d.next_due {
            assert!(nd > now, "next due is in the future");
        }
        state = d.state;
    }
    pages
}

fn every(step_hours: f64, until_hours: f64) -> Vec<f64> {
    let n = (until_hours / step_hours).floor() as usize;
    (1..=n).map(|i| i as f64 * step_hours).collect()
}

#[test]
fn customer_issue_levels_due_on_schedule_whatever_the_cadence() {
    let want_due = vec![(1, 0, 0), (2, 0, 240), (3, 0, 720), (4, 0, 2160)];
    let cadences: Vec<(&str, Vec<f64>)> = vec![
        ("every 5 minutes", every(5.0 / 60.0, 168.0)),
        ("every 7 minutes", every(7.0 / 60.0, 168.0)),
        ("every 30 minutes", every(0.5, 168.0)),
        ("hourly", every(1.0, 168.0)),
        ("once after 3 days", vec![72.0]),
        ("once after a week", vec![168.0]),
        (
            "irregular",
            vec![0.1, 3.99, 4.0, 4.01, 11.0, 13.0, 50.0, 100.0],
        ),
    ];
    for (name, checks) in cadences {
        let pages = simulate(&customer(), &checks);
        let due: Vec<(u32, u32, i64)> = pages.iter().map(|p| (p.0, p.1, p.2)).collect();
        assert_eq!(due, want_due, "cadence {name}");
    }
}

#[test]
fn outage_chain_pages_at_15m_and_1h15_then_repeats_the_last_level() {
    let pages = simulate(&outage(), &every(5.0 / 60.0, 24.0));
    let due: Vec<(u32, u32, i64)> = pages.iter().map(|p| (p.0, p.1, p.2)).collect();
    assert_eq!(
        due,
        vec![
            (1, 0, 0),
            (2, 0, 15),
            (3, 0, 75),
            (3, 1, 195),
            (3, 2, 315),
            (3, 3, 435)
        ]
    );
}

#[test]
fn b1_last_level_wait_is_the_repeat_interval() {
    let c = chain(&[1.0, 5.0], 2, None);
    let pages = simulate(&c, &every(0.5, 100.0));
    let due: Vec<(u32, u32, i64)> = pages.iter().map(|p| (p.0, p.1, p.2)).collect();
    assert_eq!(due, vec![(1, 0, 0), (2, 0, 60), (2, 1, 360), (2, 2, 660)]);
    // After downtime the missed repeats of one level are one page (the
    // latest), while every distinct level passed is still paged.
    let pages = simulate(&c, &[100.0]);
    let due: Vec<(u32, u32, i64)> = pages.iter().map(|p| (p.0, p.1, p.2)).collect();
    assert_eq!(due, vec![(1, 0, 0), (2, 2, 660)]);
    let three = chain(&[1.0, 1.0, 5.0], 2, None);
    let levels: Vec<u32> = simulate(&three, &[100.0]).iter().map(|p| p.0).collect();
    assert_eq!(levels, vec![1, 2, 3]);
    // and without repeat, the last level is final
    let pages = simulate(&chain(&[1.0, 5.0], 0, None), &[100.0]);
    assert_eq!(pages.len(), 2);
}

#[test]
fn b2_waits_do_not_drift_with_the_cron_interval() {
    // Checks every 29 minutes: each page is *due* on the schedule and sent at
    // the first check at or after it, never a wait after the previous send.
    let pages = simulate(&customer(), &every(29.0 / 60.0, 168.0));
    for (level, _, due, sent) in &pages[1..] {
        assert!(sent - due < 29, "level {level} sent {sent} due {due}");
    }
    assert_eq!(pages[3].2, 36 * 60);
}

#[test]
fn b3_after_downtime_every_level_passed_is_paged_once_in_one_run() {
    let c = customer();
    let state = start(&c, t0(), 0).state;
    let d = advance(&state, &c, t0() + h(72.0));
    let levels: Vec<u32> = d
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Page(p) => Some(p.level),
            _ => None,
        })
        .collect();
    assert_eq!(levels, vec![2, 3, 4]);
    assert_eq!(d.state.level, 4);
    assert_eq!(d.next_due, None);
    // a second run at the same instant does nothing
    let again = advance(&d.state, &c, t0() + h(72.0));
    assert!(again.actions.is_empty());
}

#[test]
fn resolved_issues_never_escalate() {
    let c = customer();
    let mut state = start(&c, t0(), 0).state;
    state.status = Status::Resolved;
    let d = advance(&state, &c, t0() + h(1000.0));
    assert!(d.actions.is_empty());
    assert_eq!(d.next_due, None);
}

#[test]
fn ack_stops_escalation_without_a_timeout() {
    let c = customer();
    let mut state = start(&c, t0(), 0).state;
    state.status = Status::Acknowledged;
    state.acked_at = Some(t0() + h(1.0));
    let d = advance(&state, &c, t0() + h(500.0));
    assert!(d.actions.is_empty());
    assert_eq!(d.next_due, None);
}

#[test]
fn ack_timeout_repages_the_current_level_then_resumes() {
    // outage: L1 at 0, L2 at 15m; acked at 20m; timeout 2h → lapses at 2h20,
    // L2 re-paged then; L3 due one L2 wait (1h) later: 3h20.
    let c = outage();
    let d = advance(&start(&c, t0(), 0).state, &c, t0() + h(0.25));
    let mut state = d.state;
    assert_eq!(state.level, 2);
    state.status = Status::Acknowledged;
    state.acked_at = Some(t0() + h(20.0 / 60.0));
    assert_eq!(next_due(&state, &c), Some(t0() + h(140.0 / 60.0)));

    let before = advance(&state, &c, t0() + h(2.0));
    assert!(before.actions.is_empty(), "not yet lapsed");

    let d = advance(&state, &c, t0() + h(10.0));
    let lapsed = t0() + h(140.0 / 60.0);
    assert_eq!(d.actions[0], Action::AckExpired { at: lapsed });
    let pages: Vec<(u32, u32, u32, i64)> = d
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Page(p) => Some((p.epoch, p.level, p.repeat, (p.due_at - t0()).num_minutes())),
            _ => None,
        })
        .collect();
    assert_eq!(
        pages,
        // L2 re-paged at the lapse, L3 due an L2-wait later; L3's missed
        // repeats collapse into one page (the latest).
        vec![(1, 2, 0, 140), (1, 3, 3, 560)]
    );
    assert_eq!(d.state.status, Status::Open);
    assert_eq!(d.state.acked_at, None);
}

#[test]
fn shortened_chain_caps_the_level() {
    let long = customer();
    let d = advance(&start(&long, t0(), 0).state, &long, t0() + h(40.0));
    assert_eq!(d.state.level, 4);
    let short = chain(&[4.0, 8.0], 1, None);
    assert!(next_due(&d.state, &short).is_some_and(|t| t <= t0() + h(40.0)));
    let capped = advance(&d.state, &short, t0() + h(40.0));
    // the new last level's repeat runs from the schedule: L2 due 4h, +8h = 12h
    assert_eq!(
        capped.actions,
        vec![
            Action::Capped { from: 4, to: 2 },
            Action::Page(Page {
                epoch: 0,
                level: 2,
                repeat: 1,
                due_at: t0() + h(12.0),
                role: "r2".into()
            })
        ]
    );
    assert_eq!(capped.state.level, 2);
    assert!(advance(&capped.state, &short, t0() + h(41.0))
        .actions
        .is_empty());
}

#[test]
fn lengthened_chain_continues_past_the_old_last_level() {
    let short = chain(&[1.0, 1.0], 0, None);
    let d = advance(&start(&short, t0(), 0).state, &short, t0() + h(5.0));
    assert_eq!((d.state.level, d.next_due), (2, None));
    let long = chain(&[1.0, 1.0, 1.0], 0, None);
    assert_eq!(next_due(&d.state, &long), Some(t0() + h(2.0)));
    let d2 = advance(&d.state, &long, t0() + h(5.0));
    assert_eq!(d2.state.level, 3);
}

#[test]
fn changed_waits_apply_to_open_issues_from_their_schedule() {
    let c = customer();
    let state = start(&c, t0(), 0).state;
    let faster = chain(&[1.0, 8.0, 24.0, 48.0], 0, None);
    assert_eq!(next_due(&state, &faster), Some(t0() + h(1.0)));
}

#[test]
fn zero_waits_page_consecutive_levels_together() {
    let c = chain(&[0.0, 0.0, 1.0], 0, None);
    let d = advance(&start(&c, t0(), 0).state, &c, t0());
    assert_eq!(d.state.level, 3);
    assert_eq!(d.actions.len(), 2);
}

#[test]
fn a_check_exactly_at_the_due_instant_pages() {
    let c = customer();
    let state = start(&c, t0(), 0).state;
    assert!(
        advance(&state, &c, t0() + h(4.0) - TimeDelta::milliseconds(1))
            .actions
            .is_empty()
    );
    assert_eq!(advance(&state, &c, t0() + h(4.0)).actions.len(), 1);
}

#[test]
fn due_times_far_in_the_future_do_not_overflow() {
    let c = chain(&[8000.0, 8000.0], 1000, None);
    let state = start(&c, t0(), 0).state;
    let d = advance(&state, &c, Ts::MAX_UTC);
    assert_eq!(d.state.repeat, 1000);
    assert_eq!(d.next_due, None);
}

#[test]
fn reopen_starts_a_new_epoch_at_level_one() {
    let c = customer();
    let Started { state, page } = start(&c, t0() + h(100.0), 3);
    assert_eq!((state.epoch, page.epoch, page.level), (3, 3, 1));
    assert_eq!(next_due(&state, &c), Some(t0() + h(104.0)));
}

#[test]
fn b10_schedule_is_utc_and_ignores_local_daylight_saving() {
    // t0 is 2026-03-29 00:30 UTC, the night Europe springs forward at 01:00
    // UTC. A 4-hour wait is four real hours whatever the wall clock does.
    let pages = simulate(&customer(), &every(0.25, 10.0));
    assert_eq!(pages[1].2, 240);
}

#[test]
fn human_durations() {
    let cases = [
        (TimeDelta::seconds(40), "40s"),
        (TimeDelta::minutes(12), "12m"),
        (TimeDelta::minutes(245), "4h 5m"),
        (TimeDelta::hours(5), "5h"),
        (TimeDelta::hours(51), "2d 3h"),
        (TimeDelta::hours(48), "2d"),
        (TimeDelta::minutes(-5), "-5m"),
    ];
    for (d, want) in cases {
        assert_eq!(crate::model::time::human(d), want);
    }
}

/// Pauses, as (pause, resume) hours from t0, then checks at `checks`:
/// every page as (level, repeat, due minutes).
fn with_pauses(c: &Chain, pauses: &[(f64, f64)], checks: &[f64]) -> Vec<(u32, u32, i64)> {
    let mut state = start(c, t0(), 0).state;
    let mut out = Vec::new();
    let take = |d: &Decision, out: &mut Vec<(u32, u32, i64)>| {
        for a in &d.actions {
            if let Action::Page(p) = a {
                out.push((p.level, p.repeat, (p.due_at - t0()).num_minutes()));
            }
        }
    };
    let mut steps: Vec<(f64, u8)> = pauses
        .iter()
        .flat_map(|&(a, b)| [(a, 0), (b, 1)])
        .chain(checks.iter().map(|&c| (c, 2)))
        .collect();
    steps.sort_by(|x, y| x.0.total_cmp(&y.0));
    for (at, what) in steps {
        let now = t0() + h(at);
        match what {
            0 => state = pause(&state, now),
            1 => {
                let d = resume(&state, c, now);
                take(&d, &mut out);
                state = d.state;
            }
            _ => {
                let d = advance(&state, c, now);
                take(&d, &mut out);
                state = d.state;
            }
        }
    }
    out
}

#[test]
fn a_pause_moves_later_steps_by_its_length() {
    // Paused 1 h–3 h: level 2 (due at 4 h) moves to 6 h, level 3 to 14 h.
    let pages = with_pauses(&customer(), &[(1.0, 3.0)], &every(0.25, 15.0));
    assert_eq!(pages, vec![(2, 0, 360), (3, 0, 840)]);
}

#[test]
fn nothing_is_due_while_paused() {
    let c = customer();
    let s = pause(&start(&c, t0(), 0).state, t0() + h(1.0));
    assert_eq!(next_due(&s, &c), None);
    let d = advance(&s, &c, t0() + h(100.0));
    assert!(d.actions.is_empty());
    assert_eq!(d.next_due, None);
}

#[test]
fn a_step_due_before_the_pause_is_owed_at_its_own_instant() {
    let c = customer();
    // Level 2 came due at 4 h; nobody checked before the 5 h pause.
    let s = pause(&start(&c, t0(), 0).state, t0() + h(5.0));
    assert_eq!(next_due(&s, &c), Some(t0() + h(4.0)));
    // A check during the pause takes it, and nothing after the pause.
    let pages = with_pauses(&c, &[(5.0, 9.0)], &[6.0]);
    assert_eq!(pages, vec![(2, 0, 240)]);
    // No check during the pause: the resume takes it, then level 3 (due at
    // 12 h) moves by the 4 paused hours.
    let pages = with_pauses(&c, &[(5.0, 9.0)], &[20.0]);
    assert_eq!(pages, vec![(2, 0, 240), (3, 0, 960)]);
}

#[test]
fn back_to_back_and_empty_pauses_add_up() {
    let c = customer();
    let one = with_pauses(
        &c,
        &[(1.0, 2.0), (2.0, 3.0), (3.0, 3.0)],
        &every(0.25, 15.0),
    );
    assert_eq!(one, with_pauses(&c, &[(1.0, 3.0)], &every(0.25, 15.0)));
}

#[test]
fn an_ack_during_a_pause_lapses_its_timeout_after_the_resume() {
    let c = outage(); // ack timeout 2 h
    let mut s = pause(&start(&c, t0(), 0).state, t0() + h(0.1));
    s = acknowledged(&s, t0() + h(0.5));
    assert_eq!(s.hold, Some(t0() + h(0.5)), "the pause counts from the ack");
    assert_eq!(ack_expiry(&s, &c), Some(t0() + h(2.5)));
    assert_eq!(next_due(&s, &c), None, "no lapse while paused");
    let d = resume(&s, &c, t0() + h(3.0));
    // 2.5 h paused after the ack: the lapse moves from 2.5 h to 5 h.
    assert_eq!(d.next_due, Some(t0() + h(5.0)));
    assert!(d.actions.is_empty());
}
