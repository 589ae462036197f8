//! The markup each field type gets: what WCAG 2.1 AA and the design systems ask of it.

use serde_json::json;

use crate::common::{fixture, render_step, tag, title};

#[test]
fn text_inputs_have_a_label_hint_autocomplete_and_optional_marker() {
    let html = render_step(&fixture(), "person", &json!({}), false, "de");
    assert!(
        html.contains("<label class=\"label\" for=\"f-vorname\">Vorname</label>"),
        "{html}"
    );
    let input = tag(&html, "f-vorname");
    assert!(input.contains("name=\"vorname\""), "{input}");
    assert!(input.contains("autocomplete=\"given-name\""), "{input}");
    assert!(input.contains("aria-describedby=\"f-vorname-hint\""), "{input}");
    assert!(tag(&html, "f-vorname-hint").starts_with("<p class=\"hint\""));
    // Optional fields say so; required ones carry no marker.
    assert!(
        html.contains("Spitzname <span class=\"optional\">(optional)</span>"),
        "{html}"
    );
    assert!(!html.contains("Vorname <span class=\"optional\">"));
    let email = tag(&html, "f-email");
    assert!(
        email.contains("type=\"email\"") && email.contains("autocomplete=\"email\""),
        "{email}"
    );
    assert!(email.contains("spellcheck=\"false\""), "{email}");
    let phone = tag(&html, "f-telefon");
    assert!(
        phone.contains("type=\"tel\"") && phone.contains("autocomplete=\"tel\""),
        "{phone}"
    );
    let plz = tag(&html, "f-anschrift-plz");
    assert!(plz.contains("name=\"anschrift.plz\""), "{plz}");
    assert!(
        plz.contains("inputmode=\"numeric\"") && plz.contains("autocomplete=\"postal-code\""),
        "{plz}"
    );
}

#[test]
fn a_date_is_a_fieldset_of_three_numeric_inputs() {
    let html = render_step(&fixture(), "person", &json!({}), false, "de");
    let start = html.find("data-field=\"geburtsdatum\"").unwrap();
    let block = &html[start..start + html[start..].find("</fieldset>").unwrap()];
    assert!(
        block.contains("<fieldset class=\"fieldset\" aria-describedby=\"f-geburtsdatum-hint\">"),
        "{block}"
    );
    assert!(
        block.contains("<legend class=\"legend\">Geburtsdatum</legend>"),
        "{block}"
    );
    for (part, label, token) in [
        ("day", "Tag", "bday-day"),
        ("month", "Monat", "bday-month"),
        ("year", "Jahr", "bday-year"),
    ] {
        assert!(
            block.contains(&format!("for=\"f-geburtsdatum-{part}\">{label}</label>")),
            "{block}"
        );
        let input = tag(&html, &format!("f-geburtsdatum-{part}"));
        assert!(input.contains(&format!("name=\"geburtsdatum.{part}\"")), "{input}");
        assert!(input.contains("inputmode=\"numeric\""), "{input}");
        assert!(input.contains(&format!("autocomplete=\"{token}\"")), "{input}");
    }
}

#[test]
fn radios_and_checkboxes_are_grouped_with_a_legend_and_option_hints() {
    let html = render_step(
        &fixture(),
        "details",
        &json!({"farben": ["blau"], "hund": "ja"}),
        false,
        "de",
    );
    let start = html.find("data-field=\"art\"").unwrap();
    let block = &html[start..start + html[start..].find("</fieldset>").unwrap()];
    assert!(block.contains("<legend class=\"legend\">Art</legend>"), "{block}");
    let first = tag(&html, "f-art");
    assert!(
        first.contains("type=\"radio\"") && first.contains("value=\"a\""),
        "{first}"
    );
    assert!(first.contains("aria-describedby=\"f-art-hint\""), "{first}");
    assert!(html.contains("<p class=\"hint choice__hint\" id=\"f-art-hint\">Die erste Möglichkeit</p>"));
    assert!(tag(&html, "f-art-2").contains("value=\"b\""));
    assert!(html.contains("<legend class=\"legend\">Farben <span class=\"optional\">(optional)</span></legend>"));
    let blau = tag(&html, "f-farben-2");
    assert!(
        blau.contains("type=\"checkbox\"") && blau.contains("name=\"farben\"") && blau.contains(" checked"),
        "{blau}"
    );
    assert!(!tag(&html, "f-farben").contains(" checked"));
    let ja = tag(&html, "f-hund");
    assert!(ja.contains("value=\"ja\"") && ja.contains(" checked"), "{ja}");
    assert!(tag(&html, "f-hund-2").contains("value=\"nein\""));
    // A select has a label and an empty first choice.
    assert!(html.contains("<label class=\"label\" for=\"f-zone\">Zone</label>"));
    assert!(html.contains("<option value=\"\">Bitte auswählen</option>"));
}

#[test]
fn fields_the_engine_hides_are_in_the_page_with_the_hidden_attribute() {
    let shown = render_step(&fixture(), "details", &json!({"hund": "ja"}), false, "de");
    assert!(shown.contains("data-field=\"hundename\">"), "{shown}");
    let hidden = render_step(&fixture(), "details", &json!({"hund": "nein"}), false, "de");
    assert!(hidden.contains("data-field=\"hundename\" hidden>"), "{hidden}");
    assert!(hidden.contains("id=\"f-hundename\""));
    // Once revealed it will be required, so it is not marked optional while hidden either.
    assert!(
        hidden.contains("for=\"f-hundename\">Name des Hundes</label>"),
        "{hidden}"
    );
}

#[test]
fn an_error_after_a_question_reads_as_two_sentences() {
    let html = render_step(&fixture(), "details", &json!({}), true, "de");
    assert!(
        html.contains("<a href=\"#f-hund\">Haben Sie einen Hund? Bitte wählen Sie „Ja“ oder „Nein“.</a>"),
        "{html}"
    );
}

#[test]
fn numbers_money_files_consent_and_info_get_their_own_markup() {
    let answers = json!({"nachweis": {"name": "beleg.pdf", "size": 1200, "type": "application/pdf", "id": "u1"}});
    let html = render_step(&fixture(), "details", &answers, false, "de");
    assert!(tag(&html, "f-anzahl").contains("inputmode=\"numeric\""));
    assert!(tag(&html, "f-betrag").contains("inputmode=\"decimal\""));
    assert!(html.contains("<span class=\"input-suffix\">€</span>"));
    let file = tag(&html, "f-nachweis");
    assert!(
        file.contains("type=\"file\"") && file.contains("accept=\".pdf,.jpeg,.jpg\""),
        "{file}"
    );
    assert!(
        file.contains("aria-describedby=\"f-nachweis-hint f-nachweis-current\""),
        "{file}"
    );
    assert!(html.contains("Erlaubt sind: PDF, JPEG. Höchstens 10 MB."), "{html}");
    assert!(html.contains("Hochgeladene Datei: beleg.pdf"));
    let consent = tag(&html, "f-einwilligung");
    assert!(
        consent.contains("type=\"checkbox\"") && consent.contains("value=\"ja\""),
        "{consent}"
    );
    assert!(html.contains("<p class=\"info__text\">Das ist ein Hinweis.</p>"));
    // Files are sent as multipart; the CSRF token is in the form.
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(html.contains("<input type=\"hidden\" name=\"_csrf\" value=\"tok\">"));
}

#[test]
fn after_a_failed_submit_the_errors_are_summarised_linked_and_at_their_fields() {
    let answers = json!({"geburtsdatum": {"day": "31", "month": "02", "year": "2026"}, "email": "x"});
    let html = render_step(&fixture(), "person", &answers, true, "de");
    assert!(title(&html).starts_with("Fehler: Ihre Person"), "{}", title(&html));
    let summary = tag(&html, "error-summary-title");
    assert!(summary.contains("<h2"), "{summary}");
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("tabindex=\"-1\" autofocus>"));
    // Each link names the field and goes to its input (a date to its day).
    assert!(
        html.contains("<a href=\"#f-vorname\">Vorname: Bitte füllen Sie dieses Feld aus.</a>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"#f-geburtsdatum-day\">Geburtsdatum: "),
        "{html}"
    );
    assert!(html.contains("<a href=\"#f-anschrift-plz\">Postleitzahl: "), "{html}");
    let vorname = tag(&html, "f-vorname");
    assert!(vorname.contains("aria-invalid=\"true\""), "{vorname}");
    assert!(
        vorname.contains("aria-describedby=\"f-vorname-hint f-vorname-error\""),
        "{vorname}"
    );
    assert!(tag(&html, "f-vorname-error").contains("error-message"));
    // What the citizen typed stays, even when it is not a date.
    let day = tag(&html, "f-geburtsdatum-day");
    assert!(
        day.contains("value=\"31\"") && day.contains("aria-invalid=\"true\""),
        "{day}"
    );
    assert!(tag(&html, "f-geburtsdatum-month").contains("value=\"02\""));
    assert!(tag(&html, "f-email").contains("value=\"x\""));
    // A radio group with an error marks each of its radios.
    let details = render_step(&fixture(), "details", &json!({}), true, "de");
    assert!(tag(&details, "f-art").contains("aria-invalid=\"true\""));
    assert!(tag(&details, "f-art-2").contains("aria-invalid=\"true\""));
    // Optional fields without answers get no error.
    assert!(!tag(&html, "f-spitzname").contains("aria-invalid"));
}

#[test]
fn without_errors_shown_the_title_has_no_prefix_and_no_summary() {
    let html = render_step(&fixture(), "person", &json!({}), false, "de");
    assert!(
        title(&html).starts_with("Ihre Person – Alle Felder"),
        "{}",
        title(&html)
    );
    assert!(!html.contains("error-summary"));
    assert!(!html.contains("aria-invalid"));
}

#[test]
fn the_page_has_language_skip_link_progress_and_buttons_in_order() {
    let html = render_step(&fixture(), "details", &json!({}), false, "de");
    assert!(html.contains("<html lang=\"de\">"));
    assert!(html.contains("<a class=\"skip-link\" href=\"#main\">Zum Inhalt springen</a>"));
    assert!(html.contains("<main id=\"main\""));
    assert!(html.contains("hreflang=\"en\" lang=\"en\">English</a>"));
    assert!(html.contains("Schritt 2 von 3"), "{html}");
    let weiter = html.find("value=\"continue\"").unwrap();
    assert!(weiter < html.find("value=\"back\"").unwrap());
    assert!(weiter < html.find("value=\"save\"").unwrap());
    assert!(html.contains("data-evaluate=\"/_/alle_felder/evaluate\""));
    assert!(html.contains("<script src=\"/assets/reveal.js\" defer></script>"));
    // No inline script or style anywhere (strict CSP).
    assert!(!html.contains("style="));
    assert!(!html.contains("<script>"));
    assert!(!html.contains(" on"), "no inline event handlers");
    let english = render_step(&fixture(), "details", &json!({}), false, "en");
    assert!(english.contains("<html lang=\"en\">") && english.contains("Step 2 of 3"));
    assert!(english.contains(">Continue</button>") && english.contains("Please choose"));
}

#[test]
fn repeats_show_items_with_remove_and_add_and_enter_still_means_continue() {
    let answers = json!({"kinder": [{"vorname": "Ada"}, {"vorname": "Max"}]});
    let html = render_step(&fixture(), "kinder", &answers, false, "de");
    assert!(html.contains("<legend class=\"legend legend--item\">Kind 1</legend>"));
    assert!(tag(&html, "f-kinder-1-vorname").contains("value=\"Max\""));
    assert!(
        html.contains("value=\"remove:kinder.1\">Kind 2 entfernen</button>"),
        "{html}"
    );
    assert!(html.contains("value=\"add:kinder\">Kind hinzufügen</button>"));
    // The first submit button of the form is "Weiter", so Enter does not add or remove.
    let form = &html[html.find("<form id=\"step-form\"").unwrap()..];
    let first = &form[form.find("<button").unwrap()..];
    assert!(
        first.starts_with("<button class=\"default-button\" type=\"submit\" name=\"_action\" value=\"continue\""),
        "{first}"
    );
    // One empty item when there are none; the limit of three stops "add".
    let empty = render_step(&fixture(), "kinder", &json!({}), false, "de");
    assert!(empty.contains("id=\"f-kinder-0-vorname\"") && !empty.contains("remove:"));
    let full = render_step(&fixture(), "kinder", &json!({"kinder": [{}, {}, {}]}), false, "de");
    assert!(!full.contains("add:kinder"));
}

#[test]
fn the_error_summary_says_which_repeat_item_an_error_is_in() {
    let answers = json!({"kinder": [{"vorname": "Ada"}, {"vorname": ""}]});
    let html = render_step(&fixture(), "kinder", &answers, true, "de");
    assert!(
        html.contains("<a href=\"#f-kinder-1-vorname\">Kind 2: Vorname: Bitte füllen Sie dieses Feld aus.</a>"),
        "{html}"
    );
    let en = render_step(&fixture(), "kinder", &answers, true, "en");
    assert!(en.contains("#f-kinder-1-vorname\">"), "{en}");
    assert!(en.contains(" 2: "), "the English summary names the item too: {en}");
}

#[test]
fn after_adding_an_item_its_first_field_takes_the_focus() {
    use baukasten_render::{Action, StepMode};
    let answers = json!({"kinder": [{"vorname": "Max"}, {}]});
    let added = Action::Add("kinder".into());
    let mode = StepMode {
        after: Some(&added),
        ..StepMode::default()
    };
    let html = crate::common::render_step_with(&fixture(), "kinder", &answers, mode, "de");
    assert!(tag(&html, "f-kinder-1-vorname").contains(" autofocus"), "{html}");
    assert_eq!(html.matches(" autofocus").count(), 1, "one element takes the focus");
    // Without a button pressed nothing takes the focus.
    let html = render_step(&fixture(), "kinder", &answers, false, "de");
    assert!(!html.contains(" autofocus"), "{html}");
}

#[test]
fn after_removing_an_item_a_status_message_says_which_and_takes_the_focus() {
    use baukasten_render::{Action, StepMode};
    let answers = json!({"kinder": [{"vorname": "Max"}]});
    let removed = Action::Remove {
        repeat: "kinder".into(),
        index: 1,
    };
    let mode = StepMode {
        after: Some(&removed),
        ..StepMode::default()
    };
    let html = crate::common::render_step_with(&fixture(), "kinder", &answers, mode, "de");
    let status = tag(&html, "f-kinder-status");
    assert!(
        status.contains("role=\"status\"") && status.contains(" autofocus"),
        "{status}"
    );
    assert!(html.contains(">Kind 2 wurde entfernt.</p>"), "{html}");
    let html = crate::common::render_step_with(&fixture(), "kinder", &answers, mode, "en");
    assert!(html.contains(">Kind 2 was removed.</p>"), "{html}");
}

#[test]
fn a_step_reached_from_the_summary_carries_its_way_back() {
    use baukasten_render::StepMode;
    let mode = StepMode {
        from_summary: true,
        ..StepMode::default()
    };
    let html = crate::common::render_step_with(&fixture(), "person", &json!({}), mode, "de");
    assert!(
        html.contains("<input type=\"hidden\" name=\"_zurueck\" value=\"pruefen\">"),
        "{html}"
    );
    let html = render_step(&fixture(), "person", &json!({}), false, "de");
    assert!(!html.contains("_zurueck"), "{html}");
}

#[test]
fn an_error_inside_a_repeat_item_names_the_item_at_the_field_too() {
    let answers = json!({"kinder": [{"vorname": "Max"}, {"vorname": ""}]});
    let html = render_step(&fixture(), "kinder", &answers, true, "de");
    let at_field = tag(&html, "f-kinder-1-vorname-error");
    assert!(at_field.starts_with("<p class=\"error-message\""), "{at_field}");
    assert!(
        html.contains(
            "<span class=\"visually-hidden\">Fehler: </span>Kind 2: Vorname: Bitte füllen Sie dieses Feld aus.</p>"
        ),
        "{html}"
    );
    // The error summary links to it with the same words.
    assert!(
        html.contains("<a href=\"#f-kinder-1-vorname\">Kind 2: Vorname: Bitte füllen Sie dieses Feld aus.</a>"),
        "{html}"
    );
}
