//! The dispatcher against a real HTTP receiver on loopback and a real store on disk.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use baukasten_deliver::{Dispatcher, Outcome, Schedule, WebhookTarget, Webhooks};
use baukasten_store::{DeliveryStatus, NewDelivery, NewSubmission, RedbStore, Store, Submitted};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    headers: BTreeMap<String, String>,
    body: String,
}

/// A receiver on a free loopback port that answers the statuses of `answers` in turn (the
/// last one from then on), and keeps every request.
fn receiver(answers: Vec<u16>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = BTreeMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(Seen {
                headers,
                body: String::from_utf8(body).unwrap(),
            });
            let status = answers[n.min(answers.len() - 1)];
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

fn setup(url: &str, deliveries: Vec<NewDelivery>) -> (tempfile::TempDir, Arc<RedbStore>, Webhooks, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(&dir.path().join("b.redb")).unwrap());
    let new = NewSubmission {
        tenant: Some("musterstadt".into()),
        service: "maengelmelder".into(),
        version: "1.0.0".into(),
        definition_hash: "abc".into(),
        reference_prefix: "MM".into(),
        data: json!({"answers": {"kategorie": "schlagloch"}, "computed": {}}),
        fee_total: "0.00".into(),
        attachments: vec!["f00d".into()],
        draft: None,
        deliveries,
    };
    let reference = match store.submit(new, None, "eingegangen", now()).unwrap() {
        Submitted::Created(s) => s.reference,
        other => panic!("{other:?}"),
    };
    let config = BTreeMap::from([(
        "musterstadt".to_string(),
        BTreeMap::from([(
            "fachverfahren".to_string(),
            WebhookTarget {
                url: url.to_string(),
                secret_env: "X".into(),
            },
        )]),
    )]);
    let webhooks = Webhooks::new(&config, |_| Some(SECRET.into())).unwrap();
    (dir, store, webhooks, reference)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn webhook() -> Vec<NewDelivery> {
    vec![NewDelivery {
        channel: "webhook".into(),
        target: "fachverfahren".into(),
        event: None,
    }]
}

#[test]
fn a_failing_receiver_gets_the_same_delivery_again_until_it_takes_it() {
    let (url, seen) = receiver(vec![500, 503, 502, 204]);
    let (_dir, store, webhooks, reference) = setup(&url, webhook());
    let dispatcher = Dispatcher::new(
        store.clone(),
        webhooks,
        Schedule::new(vec![0, 0, 0, 0, 0]).unwrap(),
        "https://baukasten.musterstadt.example/",
        Arc::new(now),
    );
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        outcomes.extend(dispatcher.run_once().unwrap().into_iter().map(|(_, o)| o));
    }
    assert_eq!(
        outcomes,
        vec![Outcome::Retry, Outcome::Retry, Outcome::Retry, Outcome::Delivered]
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    let ids: Vec<&str> = seen.iter().map(|s| s.headers["webhook-id"].as_str()).collect();
    assert!(ids.iter().all(|id| *id == ids[0] && id.starts_with("msg_")), "{ids:?}");
    assert_eq!(seen[0].headers["webhook-timestamp"], now().timestamp().to_string());
    let expected = baukasten_deliver::webhook::signature(
        &[baukasten_deliver::Secret::parse(SECRET).unwrap()],
        ids[0],
        now().timestamp(),
        seen[0].body.as_bytes(),
    );
    assert_eq!(seen[0].headers["webhook-signature"], expected);
    let body: serde_json::Value = serde_json::from_str(&seen[3].body).unwrap();
    assert_eq!(body["type"], "submission.created");
    assert_eq!(body["data"]["reference"], reference.as_str());
    assert_eq!(body["data"]["municipality"], "musterstadt");
    assert_eq!(body["data"]["answers"]["kategorie"], "schlagloch");
    assert_eq!(
        body["data"]["attachments"][0]["url"],
        "https://baukasten.musterstadt.example/api/v1/attachments/f00d"
    );
    let delivery = &store.deliveries(&reference).unwrap()[0];
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    let statuses: Vec<Option<u16>> = delivery.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(503), Some(502), Some(204)]);
}

#[test]
fn the_last_failure_fails_the_delivery_and_410_stops_it() {
    let (url, _) = receiver(vec![500]);
    let (_dir, store, webhooks, reference) = setup(&url, webhook());
    let dispatcher = Dispatcher::new(
        store.clone(),
        webhooks,
        Schedule::new(vec![0, 0]).unwrap(),
        "",
        Arc::new(now),
    );
    for _ in 0..4 {
        dispatcher.run_once().unwrap();
    }
    let delivery = &store.deliveries(&reference).unwrap()[0];
    assert_eq!((delivery.status, delivery.attempts.len()), (DeliveryStatus::Failed, 2));

    let (url, seen) = receiver(vec![410]);
    let (_dir, store, webhooks, reference) = setup(&url, webhook());
    let dispatcher = Dispatcher::new(store.clone(), webhooks, Schedule::default(), "", Arc::new(now));
    assert_eq!(dispatcher.run_once().unwrap()[0].1, Outcome::Stopped);
    assert!(dispatcher.run_once().unwrap().is_empty());
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(store.deliveries(&reference).unwrap()[0].status, DeliveryStatus::Stopped);
}

#[test]
fn an_unreachable_receiver_is_retried_on_schedule_and_a_channel_to_come_waits() {
    // Nothing listens on this port once the listener is dropped.
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let mut deliveries = webhook();
    deliveries.push(NewDelivery {
        channel: "email".into(),
        target: "buergerbuero@musterstadt.example".into(),
        event: None,
    });
    let (_dir, store, webhooks, reference) = setup(&url, deliveries);
    let dispatcher = Dispatcher::new(store.clone(), webhooks, Schedule::default(), "", Arc::new(now));
    let outcomes = dispatcher.run_once().unwrap();
    assert!(outcomes.iter().all(|(_, o)| *o == Outcome::Retry), "{outcomes:?}");
    let deliveries = store.deliveries(&reference).unwrap();
    assert_eq!(deliveries[0].next_attempt, Some(now() + chrono::Duration::seconds(5)));
    assert!(deliveries[0].attempts[0].status.is_none());
    assert!(deliveries[0].attempts[0].error.is_some());
    assert_eq!(deliveries[1].next_attempt, Some(now() + chrono::Duration::hours(1)));
    assert!(
        deliveries[1].attempts[0].error.as_deref().unwrap().contains("smtp:"),
        "no mail server: it waits"
    );
}
