//! Ordinary activity of one user on one day: the baseline every scenario stands out from.
//!
//! A working day holds one or two interactive sign-ins (each with its BehaviorAnalytics row,
//! rarely a failed password first), token refreshes, mail access, SharePoint file work on the
//! department's sites, directory changes for IT staff and Azure operations for Engineering and
//! IT. Everything falls inside the user's local 08:00-18:00, converted to UTC by the home city's
//! offset (or the trip city's while travelling). Weekends are quiet. Invariant: rows never fall
//! before the day's 00:00 UTC, so the driver can flush finished days in time order.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::seq::IndexedRandom;

use super::directory::{Directory, User};
use super::places::{City, INTRANET_SITE, PAYROLL_SITE};
use super::rowkit::{Row, TenantCtx, guid, jitter};
use super::signin::{self, AZURE_PORTAL, App, Insights, OUTLOOK, SHAREPOINT, SignIn, TEAMS};
use super::workloads::{self, DirChange, FileOp};

/// A business trip: where the user is and the address they use there.
#[derive(Debug, Clone)]
pub struct Travel {
    pub city: &'static City,
    pub ip: String,
    /// The first day abroad: UEBA flags the new country.
    pub first_day: bool,
}

/// Everything one user-day needs.
pub struct DayInput<'a> {
    pub ctx: &'a TenantCtx,
    pub dir: &'a Directory,
    pub user: usize,
    pub day_start: DateTime<Utc>,
    pub weekend: bool,
    pub travel: Option<&'a Travel>,
    /// Users who may be targets of directory changes (active, not dormant).
    pub active: &'a [usize],
    pub anomaly_share: f64,
}

/// What one user-day produced besides rows: evidence ids of the interactive sign-ins and
/// their BehaviorAnalytics rows (trip scenarios cite them).
#[derive(Debug, Default)]
pub struct DayOutput {
    pub signin_evidence: Vec<String>,
}

fn apps(user: &User) -> &'static [App] {
    if user.dept.uses_azure() {
        &[TEAMS, OUTLOOK, SHAREPOINT, AZURE_PORTAL]
    } else {
        &[TEAMS, OUTLOOK, SHAREPOINT]
    }
}

/// A random instant within the user's working hours that day.
fn work_time(rng: &mut impl Rng, day_start: DateTime<Utc>, city: &City) -> DateTime<Utc> {
    let local_start_min = (8 - city.utc_offset) * 60;
    let minute = local_start_min + rng.random_range(0..600);
    jitter(rng, day_start + Duration::minutes(minute.max(0)))
}

/// Generate one user's day into `out`.
pub fn user_day(inp: &DayInput, rng: &mut impl Rng, out: &mut Vec<Row>) -> DayOutput {
    let user = &inp.dir.users[inp.user];
    if inp.weekend {
        weekend(inp, user, rng, out);
        return DayOutput::default();
    }
    let (city, ip) = match inp.travel {
        Some(t) => (t.city, t.ip.clone()),
        None => (
            user.home,
            user.ips.choose(rng).expect("users have an address").clone(),
        ),
    };
    let mut result = DayOutput::default();
    let sign_ins = if rng.random_bool(0.3) { 2 } else { 1 };
    for n in 0..sign_ins {
        let time = work_time(rng, inp.day_start, city);
        let app = *apps(user).choose(rng).expect("apps");
        let s = SignIn {
            user,
            time,
            city,
            ip: ip.clone(),
            app,
            result: "0",
            risk: None,
            foreign_device: false,
        };
        if rng.random_bool(0.03) {
            let failed = SignIn {
                time: time - Duration::seconds(50),
                result: "50126",
                ..s.clone()
            };
            let ins = routine_insights(rng);
            push_signin(inp.ctx, rng, &failed, &ins, out);
        }
        let ins = match inp.travel {
            Some(t) => travel_insights(t.first_day && n == 0),
            None => routine_insights(rng),
        };
        let ids = push_signin(inp.ctx, rng, &s, &ins, out);
        result.signin_evidence.extend(ids);
        if rng.random_bool(inp.anomaly_share) {
            out.push(noise_behavior(inp.ctx, rng, &s));
        }
    }
    let refreshes = rng_count(rng, 1, 2);
    token_refreshes(inp, user, city, &ip, rng, refreshes, out);
    office_day(inp, user, city, &ip, rng, out);
    if user.is_it() {
        directory_work(inp, user, city, &ip, rng, out);
    }
    if user.dept.uses_azure() {
        for _ in 0..rng.random_range(0..=2) {
            let t = work_time(rng, inp.day_start, city);
            out.push(workloads::azure_op(inp.ctx, rng, user, t, &ip).0);
        }
    }
    result
}

fn rng_count(rng: &mut impl Rng, lo: u32, hi: u32) -> u32 {
    rng.random_range(lo..=hi)
}

/// Push a sign-in and its BehaviorAnalytics row; returns both evidence ids.
pub fn push_signin(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    s: &SignIn,
    ins: &Insights,
    out: &mut Vec<Row>,
) -> [String; 2] {
    let (row, id) = signin::interactive(ctx, rng, s);
    let item = row.get_str("_ItemId").to_string();
    out.push(row);
    let (ba, src) = signin::behavior(ctx, rng, s, &item, ins);
    out.push(ba);
    [
        format!("SigninLogs:{id}"),
        format!("BehaviorAnalytics:{src}"),
    ]
}

fn routine_insights(rng: &mut impl Rng) -> Insights {
    if rng.random_bool(0.9) {
        return Insights::default();
    }
    let flag = *["AppUncommonlyUsedByUser", "UncommonHighVolumeOfActions"]
        .choose(rng)
        .expect("flags");
    Insights {
        priority: rng.random_range(1..=3),
        true_flags: vec![flag],
        dormant: false,
    }
}

fn travel_insights(first: bool) -> Insights {
    if first {
        Insights {
            priority: 3,
            true_flags: vec![
                "FirstTimeUserConnectedFromCountry",
                "CountryUncommonlyConnectedFromAmongPeers",
                "FirstTimeUserConnectedViaISP",
            ],
            dormant: false,
        }
    } else {
        Insights {
            priority: 1,
            true_flags: vec!["CountryUncommonlyConnectedFromByUser"],
            dormant: false,
        }
    }
}

/// A high-priority UEBA row with no source sign-in in the export (load-test noise).
fn noise_behavior(ctx: &TenantCtx, rng: &mut impl Rng, s: &SignIn) -> Row {
    let ins = Insights {
        priority: rng.random_range(7..=9),
        true_flags: vec!["ActionUncommonlyPerformedByUser", "AppUncommonlyUsedByUser"],
        dormant: false,
    };
    let source = guid(rng);
    let noisy = SignIn {
        time: s.time + Duration::seconds(rng.random_range(5..300)),
        ..s.clone()
    };
    signin::behavior(ctx, rng, &noisy, &source, &ins).0
}

fn token_refreshes(
    inp: &DayInput,
    user: &User,
    city: &City,
    ip: &str,
    rng: &mut impl Rng,
    count: u32,
    out: &mut Vec<Row>,
) {
    for _ in 0..count {
        let s = SignIn {
            user,
            time: work_time(rng, inp.day_start, city),
            city,
            ip: ip.to_string(),
            app: *apps(user).choose(rng).expect("apps"),
            result: "0",
            risk: None,
            foreign_device: false,
        };
        out.push(signin::non_interactive(inp.ctx, rng, &s).0);
    }
}

fn office_day(
    inp: &DayInput,
    user: &User,
    city: &City,
    ip: &str,
    rng: &mut impl Rng,
    out: &mut Vec<Row>,
) {
    for _ in 0..rng.random_range(1..=2) {
        let t = work_time(rng, inp.day_start, city);
        out.push(workloads::mail_access(inp.ctx, rng, user, t, ip).0);
    }
    let plan: [(&'static str, u32, u32); 3] = [
        ("FileAccessed", 1, 3),
        ("FileModified", 0, 1),
        ("FileDownloaded", 1, 4),
    ];
    for (operation, lo, hi) in plan {
        for _ in 0..rng.random_range(lo..=hi) {
            let site = pick_site(rng, user);
            let op = FileOp {
                user,
                time: work_time(rng, inp.day_start, city),
                site,
                operation,
                ip,
            };
            out.push(workloads::file_op(inp.ctx, rng, &op).0);
        }
    }
}

fn pick_site(rng: &mut impl Rng, user: &User) -> &'static str {
    let roll = rng.random_range(0..10);
    if roll == 0 {
        INTRANET_SITE
    } else if user.payroll && roll < 4 {
        PAYROLL_SITE
    } else {
        user.dept
            .sites()
            .choose(rng)
            .expect("departments have sites")
    }
}

fn weekend(inp: &DayInput, user: &User, rng: &mut impl Rng, out: &mut Vec<Row>) {
    if !rng.random_bool(0.25) {
        return;
    }
    let ip = user.ips.choose(rng).expect("users have an address").clone();
    let refreshes = rng_count(rng, 1, 2);
    token_refreshes(inp, user, user.home, &ip, rng, refreshes, out);
    let t = work_time(rng, inp.day_start, user.home);
    out.push(workloads::mail_access(inp.ctx, rng, user, t, &ip).0);
}

fn directory_work(
    inp: &DayInput,
    user: &User,
    city: &City,
    ip: &str,
    rng: &mut impl Rng,
    out: &mut Vec<Row>,
) {
    for _ in 0..rng.random_range(0..=1) {
        let Some(&target) = inp.active.choose(rng) else {
            return;
        };
        let target = &inp.dir.users[target];
        let group = format!("\"{} Team\"", target.dept.name());
        let change = if rng.random_bool(0.5) {
            DirChange {
                actor: user,
                target,
                time: work_time(rng, inp.day_start, city),
                actor_ip: ip,
                operation: "Add member to group",
                category: "GroupManagement",
                op_type: "Assign",
                modified: vec![("Group.DisplayName", group)],
            }
        } else {
            DirChange {
                actor: user,
                target,
                time: work_time(rng, inp.day_start, city),
                actor_ip: ip,
                operation: "Update user",
                category: "UserManagement",
                op_type: "Update",
                modified: vec![("TelephoneNumber", "[\"+1 555 0100\"]".to_string())],
            }
        };
        out.push(workloads::audit(inp.ctx, rng, &change).0);
    }
}
