//! The rows each scenario injects on its day, noted into the scenario's ground truth.
//!
//! Every function appends rows to `out` and records each row's evidence id and time through
//! [`Planned::note`], so the ground truth lists exactly the rows that were emitted.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::activity::push_signin;
use super::alerts;
use super::directory::{Directory, User, city_ip};
use super::places::{self, City, PAYROLL_SITE};
use super::rowkit::{Row, TenantCtx, jitter};
use super::scenarios::{FORWARD_TO, GRANTED_ROLE, Planned, day_start, local};
use super::signin::{Insights, OUTLOOK, SHAREPOINT, SignIn, TEAMS};
use super::workloads::{self, DirChange, FileOp};

/// What every injection needs besides its scenario.
pub struct Env<'a> {
    pub ctx: &'a TenantCtx,
    pub dir: &'a Directory,
    pub start: DateTime<Utc>,
    pub day: u32,
}

pub fn bulk(env: &Env, rng: &mut ChaCha8Rng, item: &mut Planned, out: &mut Vec<Row>) {
    let Some(&(_, count)) = item.bulk.iter().find(|b| b.0 == env.day) else {
        return;
    };
    let user = &env.dir.users[item.user];
    let ip = user.ips[0].clone();
    for _ in 0..count {
        let evening = rng.random_bool(0.3);
        let (hour, span) = if evening { (19, 240) } else { (8, 600) };
        let minute = rng.random_range(0..span);
        let time = jitter(rng, local(env.start, env.day, user.home, hour, minute));
        let operation = if rng.random_bool(0.7) {
            "FileDownloaded"
        } else {
            "FileSyncDownloadedFull"
        };
        let op = FileOp {
            user,
            time,
            site: item.site,
            operation,
            ip: &ip,
        };
        let (row, id) = workloads::file_op(env.ctx, rng, &op);
        item.note(format!("OfficeActivity:{id}"), time);
        out.push(row);
    }
}

fn attacker_signin<'a>(
    user: &'a User,
    time: DateTime<Utc>,
    city: &'a City,
    ip: String,
) -> SignIn<'a> {
    SignIn {
        user,
        time,
        city,
        ip,
        app: OUTLOOK,
        result: "0",
        risk: None,
        foreign_device: true,
    }
}

fn note_signin(item: &mut Planned, ids: [String; 2], time: DateTime<Utc>) {
    for id in ids {
        item.note(id, time);
    }
}

pub fn new_country(env: &Env, rng: &mut ChaCha8Rng, item: &mut Planned, out: &mut Vec<Row>) {
    let user = &env.dir.users[item.user];
    let city = &places::SAO_PAULO;
    let ip = city_ip(rng, city);
    let second = rng.random_range(0..50);
    let time = day_start(env.start, env.day) + Duration::minutes(135) + Duration::seconds(second);
    let time = jitter(rng, time);
    let s = SignIn {
        app: SHAREPOINT,
        ..attacker_signin(user, time, city, ip.clone())
    };
    let ins = Insights {
        priority: 8,
        true_flags: vec![
            "FirstTimeUserConnectedFromCountry",
            "CountryUncommonlyConnectedFromAmongPeers",
            "FirstTimeConnectionFromCountryObservedInTenant",
            "FirstTimeUserConnectedViaISP",
            "FirstTimeUserConnectedFromDevice",
        ],
        dormant: false,
    };
    note_signin(item, push_signin(env.ctx, rng, &s, &ins, out), time);
    let mut minute = 3;
    for operation in [
        "FileAccessed",
        "FileAccessed",
        "FileAccessed",
        "FileDownloaded",
    ]
    .into_iter()
    .chain(["FileDownloaded"; 6])
    {
        minute += rng.random_range(1..=2);
        let t = jitter(rng, time + Duration::minutes(minute));
        let op = FileOp {
            user,
            time: t,
            site: PAYROLL_SITE,
            operation,
            ip: &ip,
        };
        let (row, id) = workloads::file_op(env.ctx, rng, &op);
        item.note(format!("OfficeActivity:{id}"), t);
        out.push(row);
    }
}

pub fn inbox_forward(env: &Env, rng: &mut ChaCha8Rng, item: &mut Planned, out: &mut Vec<Row>) {
    let user = &env.dir.users[item.user];
    let city = &places::BUCHAREST;
    let ip = city_ip(rng, city);
    let minute = rng.random_range(0..50);
    let time = jitter(rng, local(env.start, env.day, user.home, 11, minute));
    let s = SignIn {
        risk: Some("high"),
        ..attacker_signin(user, time, city, ip.clone())
    };
    let ins = Insights {
        priority: 5,
        true_flags: vec![
            "FirstTimeUserConnectedFromCountry",
            "CountryUncommonlyConnectedFromAmongPeers",
            "FirstTimeUserConnectedFromDevice",
        ],
        dormant: false,
    };
    let ids = push_signin(env.ctx, rng, &s, &ins, out);
    let signin_id = ids[0].trim_start_matches("SigninLogs:").to_string();
    note_signin(item, ids, time);
    let (alert, alert_id) =
        alerts::unfamiliar_signin_alert(env.ctx, rng, user, time, &signin_id, city, &ip);
    item.note(format!("SecurityAlert:{alert_id}"), alert.time);
    out.push(alert);
    let t = jitter(rng, time + Duration::minutes(20));
    let (rule, rule_id) = workloads::inbox_rule(env.ctx, rng, user, t, &ip, FORWARD_TO);
    item.note(format!("OfficeActivity:{rule_id}"), t);
    out.push(rule);
}

pub fn privileged_role(env: &Env, rng: &mut ChaCha8Rng, item: &mut Planned, out: &mut Vec<Row>) {
    let target = &env.dir.users[item.user];
    let actor = &env.dir.users[item.actor];
    let time = jitter(rng, local(env.start, env.day, actor.home, 15, 5));
    let change = DirChange {
        actor,
        target,
        time,
        actor_ip: &actor.ips[0],
        operation: "Add member to role",
        category: "RoleManagement",
        op_type: "Assign",
        modified: vec![("Role.DisplayName", format!("\"{GRANTED_ROLE}\""))],
    };
    let (row, id) = workloads::audit(env.ctx, rng, &change);
    item.note(format!("AuditLogs:{id}"), time);
    out.push(row);
    let (anomaly, anomaly_id) = alerts::role_anomaly(
        env.ctx,
        rng,
        target,
        actor,
        &actor.ips[0],
        time,
        GRANTED_ROLE,
    );
    item.note(format!("Anomalies:{anomaly_id}"), anomaly.time);
    out.push(anomaly);
}

pub fn dormant_wakes(env: &Env, rng: &mut ChaCha8Rng, item: &mut Planned, out: &mut Vec<Row>) {
    let user = &env.dir.users[item.user];
    let ip = city_ip(rng, user.home);
    let minute = rng.random_range(0..40);
    let time = jitter(rng, local(env.start, env.day, user.home, 6, minute));
    let s = SignIn {
        user,
        time,
        city: user.home,
        ip,
        app: TEAMS,
        result: "0",
        risk: None,
        foreign_device: false,
    };
    let ins = Insights {
        priority: 7,
        true_flags: vec!["FirstTimeUserConnectedViaISP"],
        dormant: true,
    };
    note_signin(item, push_signin(env.ctx, rng, &s, &ins, out), time);
}

pub fn impossible_travel(env: &Env, rng: &mut ChaCha8Rng, item: &mut Planned, out: &mut Vec<Row>) {
    let user = &env.dir.users[item.user];
    let minute = rng.random_range(0..30);
    let first = jitter(rng, local(env.start, env.day, user.home, 9, minute));
    let home = SignIn {
        user,
        time: first,
        city: user.home,
        ip: user.ips[0].clone(),
        app: TEAMS,
        result: "0",
        risk: None,
        foreign_device: false,
    };
    note_signin(
        item,
        push_signin(env.ctx, rng, &home, &Insights::default(), out),
        first,
    );
    let far = &places::SINGAPORE;
    debug_assert!(
        places::distance_km(user.home, far) > 5_000.0,
        "travel must be impossible"
    );
    let second = first + Duration::minutes(40);
    let s = attacker_signin(user, second, far, city_ip(rng, far));
    let ins = Insights {
        priority: 6,
        true_flags: vec![
            "FirstTimeUserConnectedFromCountry",
            "CountryUncommonlyConnectedFromAmongPeers",
            "FirstTimeUserConnectedViaISP",
        ],
        dormant: false,
    };
    note_signin(item, push_signin(env.ctx, rng, &s, &ins, out), second);
}
