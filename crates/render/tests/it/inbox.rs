//! The clerks' inbox pages: sign-in, list and detail, in German and English, with what a clerk
//! needs on them and the forms protected.

use baukasten_render::backoffice::{
    AnswerSection, AttachmentLink, Choice, Clerk, DeliveryRow, DeliveryTally, HistoryRow, InboxDetail, InboxList,
    InboxRow, Notice, SignIn, SignInProblem, Transition,
};
use baukasten_render::{FALLBACK_PAGE, Page, Renderer};

use crate::common::TestLinks;

fn page<'a>(lang: &'a str, links: &'a TestLinks) -> Page<'a> {
    Page {
        lang,
        tenant: None,
        links,
        csrf: Some("tok3n"),
        session: None,
    }
}

fn clerk() -> Clerk {
    Clerk {
        name: "erika".into(),
        sign_out_url: "/verwaltung/abmelden".into(),
    }
}

fn list() -> InboxList {
    InboxList {
        action_url: "/verwaltung/eingang".into(),
        services: vec![Choice {
            value: "maengelmelder".into(),
            label: "Mängelmelder".into(),
            selected: true,
        }],
        states: vec![Choice {
            value: "eingegangen".into(),
            label: "Eingegangen".into(),
            selected: false,
        }],
        from: "2026-05-01".into(),
        until: String::new(),
        text: "Mustermann".into(),
        filtered: true,
        rows: vec![InboxRow {
            reference: "MM-2026-WAHR7".into(),
            url: "/verwaltung/vorgang/MM-2026-WAHR7".into(),
            service: "Mängelmelder".into(),
            received: "04.05.2026, 09:30".into(),
            state: "Eingegangen".into(),
            deliveries: DeliveryTally {
                delivered: 1,
                pending: 0,
                failed: 1,
            },
            redacted: false,
        }],
        counts: vec![("Eingegangen".into(), 12), ("Erledigt".into(), 3)],
        csv_url: "/verwaltung/export.csv?service=maengelmelder".into(),
        jsonl_url: "/verwaltung/export.jsonl?service=maengelmelder".into(),
        next_url: Some("/verwaltung/eingang?service=maengelmelder&nach=abc".into()),
        first_url: None,
    }
}

fn detail(notice: Option<Notice>) -> InboxDetail {
    InboxDetail {
        reference: "MM-2026-WAHR7".into(),
        service: "Mängelmelder".into(),
        version: "1.0.0".into(),
        received: "04.05.2026, 09:30".into(),
        state: "Eingegangen".into(),
        list_url: "/verwaltung/eingang".into(),
        notice,
        redacted: None,
        sections: vec![AnswerSection {
            title: "Wo ist der Mangel?".into(),
            rows: vec![("Straße".into(), vec!["Holstenstraße".into()])],
        }],
        fees: vec![("Gebühr".into(), "12,00 €".into())],
        fee_total: Some("12,00 €".into()),
        attachments: vec![AttachmentLink {
            name: "schlagloch.jpg".into(),
            url: "/verwaltung/anlagen/abc".into(),
            size: "2,3 MB".into(),
        }],
        receipt_url: "/verwaltung/vorgang/MM-2026-WAHR7/eingangsbestaetigung.pdf".into(),
        history: vec![HistoryRow {
            at: "04.05.2026, 09:30".into(),
            who: "Antragsteller:in".into(),
            what: "Eingegangen".into(),
            from: None,
            comment: None,
        }],
        deliveries: vec![
            DeliveryRow {
                target: "Webhook fachverfahren".into(),
                status: "failed".into(),
                attempts: 10,
                last_error: Some("the receiver answered 500".into()),
                next_attempt: None,
                resend_url: "/verwaltung/vorgang/MM-2026-WAHR7/zustellungen/msg_1/erneut".into(),
                remote: None,
                reports: Vec::new(),
            },
            DeliveryRow {
                target: "FIT-Connect-Zustellpunkt d12caea8-f372-4eb1-b102-b0a228253a11".into(),
                status: "delivered".into(),
                attempts: 1,
                last_error: None,
                next_attempt: None,
                resend_url: "/verwaltung/vorgang/MM-2026-WAHR7/zustellungen/msg_2/erneut".into(),
                remote: Some(
                    "Einreichung f39ab143-d91a-474a-b69f-b00f1a1873c2, Vorgang 9eec7d3e-dc66-4f82-9f52-1520bf96a32e"
                        .into(),
                ),
                reports: vec![
                    "04.05.2026, 09:31: vom Zustelldienst FIT-Connect angenommen".into(),
                    "04.05.2026, 11:02: von der Behörde zurückgewiesen – Die Anlage fehlt.".into(),
                ],
            },
        ],
        state_url: "/verwaltung/vorgang/MM-2026-WAHR7/stand".into(),
        state_id: "eingegangen".into(),
        transitions: vec![
            Transition {
                to: "in_bearbeitung".into(),
                label: "Bearbeitung beginnen".into(),
            },
            Transition {
                to: "nicht_zustaendig".into(),
                label: "Nicht zuständig".into(),
            },
        ],
    }
}

/// Every POST form carries the CSRF token.
fn forms_are_protected(html: &str) {
    let posts = html.matches("method=\"post\"").count();
    assert!(posts > 0);
    assert_eq!(
        html.matches("name=\"_csrf\" value=\"tok3n\"").count(),
        posts,
        "every POST form has the token: {html}"
    );
}

#[test]
fn the_sign_in_page_asks_for_municipality_name_and_password_and_says_what_went_wrong() {
    let r = Renderer::new();
    let links = TestLinks;
    let view = SignIn {
        action_url: "/verwaltung/anmelden".into(),
        municipalities: vec![
            Choice {
                value: "musterstadt".into(),
                label: "Stadt Musterstadt".into(),
                selected: true,
            },
            Choice {
                value: "beispieldorf".into(),
                label: "Gemeinde Beispieldorf".into(),
                selected: false,
            },
        ],
        name: "erika".into(),
        problem: Some(SignInProblem::Wrong),
    };
    let html = r.inbox_sign_in(&page("de", &links), &view);
    assert_ne!(html, FALLBACK_PAGE);
    for part in [
        "<title>Fehler: Anmelden",
        "<option value=\"musterstadt\" selected>Stadt Musterstadt</option>",
        "autocomplete=\"username\"",
        "type=\"password\" autocomplete=\"current-password\"",
        "Benutzername oder Passwort ist falsch.",
        "value=\"erika\"",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    forms_are_protected(&html);
    let html = r.inbox_sign_in(
        &page("en", &links),
        &SignIn {
            problem: Some(SignInProblem::Throttled),
            municipalities: vec![view.municipalities[0].clone()],
            ..view
        },
    );
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Too many attempts to sign in."), "{html}");
    // With one municipality there is nothing to choose.
    assert!(
        html.contains("type=\"hidden\" name=\"municipality\" value=\"musterstadt\""),
        "{html}"
    );
    assert!(!html.contains("<select"), "{html}");
}

#[test]
fn the_list_shows_counts_filters_rows_and_the_next_page() {
    let r = Renderer::new();
    let links = TestLinks;
    let html = r.inbox_list(&page("de", &links), &clerk(), &list());
    assert_ne!(html, FALLBACK_PAGE);
    for part in [
        "Angemeldet als <strong>erika</strong>",
        "<li><a href=\"/\">Eingang</a></li>",
        "<caption class=\"table__caption\">Vorgänge nach Stand</caption>",
        "<th scope=\"row\">Eingegangen</th><td class=\"table__number\">12</td>",
        "<option value=\"maengelmelder\" selected>Mängelmelder</option>",
        "id=\"from\" name=\"from\" type=\"date\" value=\"2026-05-01\"",
        "value=\"Mustermann\"",
        "Filter zurücksetzen",
        "<th scope=\"row\"><a href=\"/verwaltung/vorgang/MM-2026-WAHR7\">MM-2026-WAHR7</a></th>",
        "1 fehlgeschlagen</strong>, 1 zugestellt",
        "<a href=\"/verwaltung/export.csv?service=maengelmelder\" download>als Tabelle (CSV)</a>",
        "href=\"/verwaltung/eingang?service=maengelmelder&amp;nach=abc\" rel=\"next\">Nächste Seite",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    forms_are_protected(&html);
    let empty = InboxList {
        rows: vec![],
        next_url: None,
        ..list()
    };
    let html = r.inbox_list(&page("en", &links), &clerk(), &empty);
    assert!(html.contains("No cases found."), "{html}");
    assert!(!html.contains("rel=\"next\""));
}

#[test]
fn the_detail_offers_exactly_the_moves_given_and_says_when_a_colleague_was_first() {
    let r = Renderer::new();
    let links = TestLinks;
    let html = r.inbox_detail(&page("de", &links), &clerk(), &detail(None));
    assert_ne!(html, FALLBACK_PAGE);
    for part in [
        "<h1>Vorgang MM-2026-WAHR7</h1>",
        "name=\"from\" value=\"eingegangen\"",
        "name=\"to\" value=\"in_bearbeitung\">Bearbeitung beginnen</button>",
        "name=\"to\" value=\"nicht_zustaendig\">Nicht zuständig</button>",
        "<label class=\"label\" for=\"comment\">Kommentar (freiwillig)</label>",
        "href=\"/verwaltung/vorgang/MM-2026-WAHR7/eingangsbestaetigung.pdf\" download",
        "<a href=\"/verwaltung/anlagen/abc\">schlagloch.jpg</a> (2,3 MB)",
        "<strong class=\"status status--failed\">fehlgeschlagen</strong>",
        "the receiver answered 500",
        "Erneut senden<span class=\"visually-hidden\">: Webhook fachverfahren</span>",
        "12,00 €",
        // A FIT-Connect delivery names the submission at the destination, and what the
        // office reported comes in a list under its own heading.
        "<br><span class=\"hint\">Einreichung f39ab143-d91a-474a-b69f-b00f1a1873c2, Vorgang 9eec7d3e",
        "<h3>Rückmeldungen: FIT-Connect-Zustellpunkt d12caea8-f372-4eb1-b102-b0a228253a11</h3>",
        "<li>04.05.2026, 11:02: von der Behörde zurückgewiesen – Die Anlage fehlt.</li>",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert_eq!(html.matches("name=\"to\"").count(), 2, "one button per move");
    forms_are_protected(&html);
    let conflict = r.inbox_detail(
        &page("de", &links),
        &clerk(),
        &detail(Some(Notice::Conflict {
            state: "In Bearbeitung".into(),
        })),
    );
    assert!(
        conflict.contains("Jemand anderes hat den Stand inzwischen geändert: Er ist jetzt „In Bearbeitung“."),
        "{conflict}"
    );
    assert!(conflict.contains("role=\"alert\""));
    let moved = r.inbox_detail(
        &page("en", &links),
        &clerk(),
        &detail(Some(Notice::Moved { state: "Closed".into() })),
    );
    assert!(
        moved.contains("role=\"status\"><p>The status is now “Closed”.</p>"),
        "{moved}"
    );
    let last = InboxDetail {
        transitions: vec![],
        ..detail(None)
    };
    let html = r.inbox_detail(&page("de", &links), &clerk(), &last);
    assert!(html.contains("Aus diesem Stand führt kein weiterer Schritt."));
    assert!(!html.contains("name=\"to\""));
}
