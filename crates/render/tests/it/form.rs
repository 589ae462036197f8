//! Posted forms back to answers: what the step page writes, `decode_form` reads back.

use baukasten_render::{Action, decode_form};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::{fixture, render_step};

/// The pairs a browser would post for this page with nothing changed: every input's name and
/// value (checked boxes and radios only), the selected option, the textarea's text.
fn posted(html: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let form = &html[html.find("<form id=\"step-form\"").expect("a step form")..];
    let mut rest = form;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let end = rest.find('>').unwrap_or(rest.len() - 1);
        let tag = &rest[..=end];
        let attr = |name: &str| {
            let needle = format!(" {name}=\"");
            tag.find(&needle).map(|i| {
                let v = &tag[i + needle.len()..];
                unescape(&v[..v.find('"').unwrap()])
            })
        };
        if tag.starts_with("<input") {
            let kind = attr("type").unwrap_or_default();
            let ticked = tag.contains(" checked");
            if let Some(name) = attr("name")
                && kind != "file"
                && ((kind != "checkbox" && kind != "radio") || ticked)
            {
                pairs.push((name, attr("value").unwrap_or_default()));
            }
        } else if tag.starts_with("<textarea") {
            let body = &rest[end + 1..];
            let text = &body[..body.find("</textarea>").unwrap()];
            pairs.push((attr("name").unwrap(), unescape(text.strip_prefix('\n').unwrap_or(text))));
        } else if tag.starts_with("<select") {
            let body = &rest[end + 1..rest.find("</select>").unwrap()];
            let chosen = body
                .split("<option")
                .find(|o| o.contains(" selected"))
                .and_then(|o| o.split("value=\"").nth(1))
                .map(|v| unescape(&v[..v.find('"').unwrap()]))
                .unwrap_or_default();
            pairs.push((attr("name").unwrap(), chosen));
        }
        rest = &rest[1..];
    }
    pairs
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn a_rendered_step_decodes_back_to_its_answers() {
    let service = fixture();
    let cases = [
        (
            "person",
            json!({
                "vorname": "Zoë <b>\"Ann\"</b> & Co",
                "spitzname": "",
                "geburtsdatum": {"day": "31", "month": "02", "year": "2026"},
                "email": "zoe@example.org",
                "telefon": "",
                "anschrift": {"plz": "12345", "ort": "Musterstadt"},
            }),
        ),
        (
            "details",
            json!({
                "art": "b", "farben": ["rot", "blau"], "zone": "y", "hund": "ja", "hundename": "Bello",
                "anzahl": "3", "betrag": "12,50", "iban": "", "bemerkung": "Zeile 1\nZeile 2",
                "einwilligung": "ja",
            }),
        ),
        (
            "kinder",
            json!({"kinder": [
                {"vorname": "Ada", "geboren": {"day": "1", "month": "2", "year": "2020"}},
                {"vorname": "Max", "geboren": {"day": "", "month": "", "year": ""}},
            ]}),
        ),
    ];
    for (step, answers) in cases {
        let html = render_step(&service, step, &answers, false, "de");
        let mut pairs = posted(&html);
        pairs.push(("_action".into(), "continue".into()));
        let decoded = decode_form(service.service(), step, &pairs);
        assert_eq!(decoded.answers, answers, "{step}: {pairs:?}");
        assert_eq!(decoded.action, Action::Continue);
    }
}

#[test]
fn unticked_boxes_and_empty_inputs_clear_their_answers() {
    let service = fixture();
    let decoded = decode_form(service.service(), "details", &[("art".into(), "a".into())]);
    assert_eq!(decoded.answers["farben"], json!([]));
    assert_eq!(decoded.answers["einwilligung"], json!(""));
    assert_eq!(decoded.answers["anzahl"], json!(""));
    // Uploads are the server's: a file field never appears, nor does an info text.
    assert!(decoded.answers.get("nachweis").is_none());
    assert!(decoded.answers.get("hinweis").is_none());
}

#[test]
fn names_of_other_steps_and_unknown_names_are_ignored() {
    let service = fixture();
    let pairs = vec![
        ("vorname".to_string(), "Eve".to_string()),
        ("admin".to_string(), "true".to_string()),
        ("art".to_string(), "a".to_string()),
    ];
    let decoded = decode_form(service.service(), "details", &pairs);
    assert!(decoded.answers.get("vorname").is_none());
    assert!(decoded.answers.get("admin").is_none());
    assert_eq!(decoded.answers["art"], json!("a"));
    let unknown = decode_form(service.service(), "nope", &pairs);
    assert_eq!(unknown.answers, json!({}));
}

#[test]
fn buttons_become_actions_and_add_or_remove_is_applied() {
    let service = fixture();
    let s = service.service();
    let items = |action: &str| {
        vec![
            ("kinder.0.vorname".to_string(), "Ada".to_string()),
            ("kinder.1.vorname".to_string(), "Max".to_string()),
            ("_action".to_string(), action.to_string()),
        ]
    };
    let added = decode_form(s, "kinder", &items("add:kinder"));
    assert_eq!(added.action, Action::Add("kinder".into()));
    assert_eq!(added.answers["kinder"].as_array().unwrap().len(), 3);
    let removed = decode_form(s, "kinder", &items("remove:kinder.0"));
    assert_eq!(
        removed.action,
        Action::Remove {
            repeat: "kinder".into(),
            index: 0
        }
    );
    assert_eq!(removed.answers["kinder"][0]["vorname"], json!("Max"));
    assert_eq!(removed.answers["kinder"].as_array().unwrap().len(), 1);
    assert_eq!(decode_form(s, "kinder", &items("back")).action, Action::Back);
    assert_eq!(decode_form(s, "kinder", &items("save")).action, Action::Save);
    // A repeat of another step, or nonsense, is a plain "Weiter".
    assert_eq!(decode_form(s, "person", &items("add:kinder")).action, Action::Continue);
    assert_eq!(
        decode_form(s, "kinder", &items("remove:kinder.x")).action,
        Action::Continue
    );
    // No more than max_items (3), however often "add" is pressed.
    let mut full = items("add:kinder");
    full.push(("kinder.2.vorname".into(), "Ida".into()));
    assert_eq!(
        decode_form(s, "kinder", &full).answers["kinder"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn item_indices_are_renumbered_and_bounded() {
    let service = fixture();
    let pairs = vec![
        ("kinder.7.vorname".to_string(), "B".to_string()),
        ("kinder.2.vorname".to_string(), "A".to_string()),
        ("kinder.99999999999999999999.vorname".to_string(), "X".to_string()),
        ("kinder.01.vorname".to_string(), "Y".to_string()),
    ];
    let decoded = decode_form(service.service(), "kinder", &pairs);
    let names: Vec<&Value> = decoded.answers["kinder"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["vorname"])
        .collect();
    assert_eq!(names, vec![&json!("A"), &json!("B")]);
}

proptest! {
    #[test]
    fn decoding_never_panics(
        step in prop_oneof![Just("person".to_string()), Just("details".to_string()), Just("kinder".to_string()), ".{0,8}"],
        pairs in prop::collection::vec(
            (prop_oneof![
                Just("_action".to_string()),
                "(kinder|anschrift|geburtsdatum|farben)(\\.[0-9a-z_]{0,12}){0,3}",
                ".{0,20}",
            ], ".{0,20}"),
            0..30,
        ),
    ) {
        let service = fixture();
        let decoded = decode_form(service.service(), &step, &pairs);
        prop_assert!(decoded.answers.is_object());
    }
}
