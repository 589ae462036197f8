//! E-mail deliveries through a real SMTP conversation with a small server on loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use baukasten_deliver::{Dispatcher, Mail, MailAttachment, Mailer, Outcome, Schedule, SmtpConfig, Webhooks};
use baukasten_store::{DeliveryStatus, NewDelivery, NewSubmission, RedbStore, Store, Submitted};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

/// One mail as the server received it: the envelope's recipients and the message.
#[derive(Debug, Clone, Default)]
struct Received {
    rcpt: Vec<String>,
    data: String,
}

/// An SMTP server on a free loopback port that takes every mail (enough of RFC 5321 for a
/// client's conversation: EHLO, MAIL, RCPT, DATA, QUIT).
fn smtp_sink() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let store = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let store = store.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let _ = write!(stream, "220 sink ESMTP\r\n");
                let mut mail = Received::default();
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        let _ = write!(stream, "250-sink\r\n250 8BITMIME\r\n");
                    } else if upper.starts_with("RCPT TO:") {
                        mail.rcpt.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                        let _ = write!(stream, "250 OK\r\n");
                    } else if upper.starts_with("DATA") {
                        let _ = write!(stream, "354 go on\r\n");
                        loop {
                            line.clear();
                            reader.read_line(&mut line).unwrap();
                            if line == ".\r\n" {
                                break;
                            }
                            mail.data.push_str(&line);
                        }
                        store.lock().unwrap().push(std::mem::take(&mut mail));
                        let _ = write!(stream, "250 queued\r\n");
                    } else if upper.starts_with("QUIT") {
                        let _ = write!(stream, "221 bye\r\n");
                        return;
                    } else {
                        let _ = write!(stream, "250 OK\r\n");
                    }
                }
            });
        }
    });
    (port, mails)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        from: "Stadt Musterstadt <noreply@musterstadt.example>".into(),
        starttls: false,
        user: None,
        password_env: None,
    }
}

#[test]
fn the_office_and_the_citizen_get_their_mails() {
    let (port, mails) = smtp_sink();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(&dir.path().join("b.redb")).unwrap());
    let new = NewSubmission {
        tenant: Some("musterstadt".into()),
        service: "maengelmelder".into(),
        version: "1.0.0".into(),
        definition_hash: "abc".into(),
        reference_prefix: "MM".into(),
        data: json!({"answers": {"kategorie": "schlagloch", "email": "erika@example.org"}, "computed": {}}),
        fee_total: "0.00".into(),
        attachments: vec![],
        draft: None,
        deliveries: vec![
            NewDelivery {
                channel: "email".into(),
                target: "bauhof@musterstadt.example".into(),
                event: None,
            },
            NewDelivery {
                channel: "email_confirmation".into(),
                target: "erika@example.org".into(),
                event: None,
            },
        ],
    };
    let reference = match store.submit(new, None, "eingegangen", now()).unwrap() {
        Submitted::Created(s) => s.reference,
        other => panic!("{other:?}"),
    };
    let mailer = Mailer::new(&config(port), |_| None).unwrap();
    // The server's texts for the citizen; the office falls back to the plain listing.
    let texts: baukasten_deliver::MailTexts = Arc::new(|submission, delivery| {
        (delivery.channel == "email_confirmation").then(|| Mail {
            to: delivery.target.clone(),
            subject: format!("Ihr Antrag {} ist eingegangen", submission.reference),
            text: format!("Vorgangsnummer: {}\nGrüße aus Musterstadt", submission.reference),
            attachments: vec![MailAttachment {
                file_name: format!("Eingangsbestaetigung-{}.pdf", submission.reference),
                media_type: "application/pdf".into(),
                bytes: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3 receipt".to_vec(),
            }],
        })
    });
    let dispatcher = Dispatcher::new(
        store.clone(),
        Webhooks::default(),
        Schedule::default(),
        "",
        Arc::new(now),
    )
    .with_mail(Some(mailer), texts);
    let outcomes: Vec<Outcome> = dispatcher.run_once().unwrap().into_iter().map(|(_, o)| o).collect();
    assert_eq!(outcomes, vec![Outcome::Delivered, Outcome::Delivered]);
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 2);
    let office = mails.iter().find(|m| m.rcpt == ["bauhof@musterstadt.example"]).unwrap();
    assert!(
        office
            .data
            .contains(&format!("Vorgangsnummer / Reference: {reference}")),
        "{}",
        office.data
    );
    assert!(office.data.contains("kategorie: \"schlagloch\""), "{}", office.data);
    assert!(
        office
            .data
            .contains("From: \"Stadt Musterstadt\" <noreply@musterstadt.example>"),
        "{}",
        office.data
    );
    let citizen = mails.iter().find(|m| m.rcpt == ["erika@example.org"]).unwrap();
    assert!(
        citizen.data.contains(&format!("Vorgangsnummer: {reference}")),
        "{}",
        citizen.data
    );
    assert!(citizen.data.contains("Subject: Ihr Antrag"), "{}", citizen.data);
    // The receipt travels as a PDF attachment beside the text.
    assert!(citizen.data.contains("multipart/mixed"), "{}", citizen.data);
    assert!(
        citizen.data.contains("Content-Disposition: attachment;")
            && citizen.data.contains(&format!("Eingangsbestaetigung-{reference}.pdf")),
        "{}",
        citizen.data
    );
    assert!(
        citizen.data.contains("Content-Type: application/pdf"),
        "{}",
        citizen.data
    );
    assert!(
        citizen.data.contains("JVBERi0xLjcKJeLjz9MgcmVjZWlwdA=="),
        "{}",
        citizen.data
    );
    assert!(!office.data.contains("multipart"), "{}", office.data);
    assert!(
        store
            .deliveries(&reference)
            .unwrap()
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered)
    );
}

#[test]
fn a_mail_server_that_is_down_is_retried_and_plain_text_only_on_this_machine() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mailer = Mailer::new(&config(port), |_| None).unwrap();
    let err = mailer
        .send(&Mail {
            to: "a@example.org".into(),
            subject: "x".into(),
            text: "y".into(),
            attachments: vec![],
        })
        .unwrap_err();
    assert!(err.contains("mail server"), "{err}");
    let remote = SmtpConfig {
        host: "mail.example.org".into(),
        ..config(25)
    };
    assert!(Mailer::new(&remote, |_| None).unwrap_err().contains("starttls"));
    let with_user = SmtpConfig {
        user: Some("baukasten".into()),
        password_env: Some("SMTP_PASSWORD".into()),
        ..config(25)
    };
    assert!(
        Mailer::new(&with_user, |_| None)
            .unwrap_err()
            .contains("SMTP_PASSWORD is not set")
    );
    assert!(
        Mailer::new(
            &SmtpConfig {
                from: "kein absender".into(),
                ..config(25)
            },
            |_| None
        )
        .is_err()
    );
}
