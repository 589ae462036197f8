//! Municipality overlays: a file with `extends:` that adapts a shared service ("Einer für Alle").
//!
//! The overlay is merged into a copy of the base service's YAML tree. The merged tree is then
//! read and checked like any service file, so every rule of the language holds for each
//! municipality's version too, and each node keeps the span of the file it came from: a
//! mistake in an overlay is reported in the overlay, one in the base in the base.
//!
//! What an overlay may do is deliberately narrow: replace metadata, `override:` what the base
//! has (an unknown target is an error with a suggestion), and `add:` what it does not.

use crate::diag::{Code, Diagnostic, Msg, did_you_mean, suggest};
use crate::read::{CatalogGroups, Reader};
use crate::spec;
use crate::yaml::{Node, NodeKind};

/// Top-level keys of an overlay that replace the base's value wholesale.
const REPLACED: &[&str] = &[
    "version",
    "title",
    "description",
    "keywords",
    "languages",
    "duration",
    "requirements",
    "privacy",
    "declaration",
    "confirmation_email",
    "next_steps",
    "reference_prefix",
    "process",
    "retention",
];

/// Merges `overlay` into a copy of `base`. Problems of the overlay itself are reported; the
/// caller reads and checks the result.
pub(crate) fn merge(base: &Node, overlay: &Node, reader: &mut Reader<'_>, catalog: &CatalogGroups<'_>) -> Option<Node> {
    let e = reader.entries(overlay, &spec::OVERLAY, false)?;
    let mut merged = base.clone();
    merged.as_map()?;
    // The base's tests describe the base's data (its fees, its zones). A municipality's version
    // is tested by the tests its overlay adds, so a changed fee never breaks a shared test.
    take(&mut merged, "tests");
    for key in REPLACED {
        if let (Some(value), Some(span)) = (e.get(key), e.key_span(key)) {
            set(&mut merged, key, span, value.clone());
        }
    }
    if let Some(o) = e
        .get("override")
        .and_then(|n| reader.entries(n, &spec::OVERRIDE, false))
    {
        if let Some(lists) = o.get("lists") {
            for (name, list) in reader.map(lists) {
                let Some(name_text) = name.scalar_text() else { continue };
                match get_mut(&mut merged, "lists").and_then(|l| get_mut(l, &name_text)) {
                    Some(target) => *target = list.clone(),
                    None => unknown_target(
                        reader,
                        name,
                        &name_text,
                        "keine Liste",
                        "list",
                        &map_keys(base.get("lists")),
                    ),
                }
            }
        }
        if let Some(fields) = o.get("fields") {
            for (path, patch) in reader.map(fields) {
                let Some(path_text) = path.scalar_text() else { continue };
                match find_field(&mut merged, &path_text, catalog) {
                    Some(field) => apply_patch(field, patch, reader),
                    None => unknown_target(
                        reader,
                        path,
                        &path_text,
                        "kein Feld",
                        "field",
                        &field_paths(base, catalog),
                    ),
                }
            }
        }
        if let Some(steps) = o.get("steps") {
            for (id, patch) in reader.map(steps) {
                let Some(id_text) = id.scalar_text() else { continue };
                match find_by_id(get_mut(&mut merged, "steps"), &id_text) {
                    Some(step) => apply_patch(step, patch, reader),
                    None => unknown_target(
                        reader,
                        id,
                        &id_text,
                        "keinen Schritt",
                        "step",
                        &list_ids(base.get("steps")),
                    ),
                }
            }
        }
        for (key, what_de, what_en) in [
            ("computed", "keinen berechneten Wert", "computed value"),
            ("rules", "keine Regel", "rule"),
            ("fees", "keine Gebühr", "fee"),
        ] {
            let Some(items) = o.get(key) else { continue };
            for (id, patch) in reader.map(items) {
                let Some(id_text) = id.scalar_text() else { continue };
                match find_by_id(get_mut(&mut merged, key), &id_text) {
                    Some(item) => apply_patch(item, patch, reader),
                    None => unknown_target(reader, id, &id_text, what_de, what_en, &list_ids(base.get(key))),
                }
            }
        }
    }
    if let Some(a) = e.get("add").and_then(|n| reader.entries(n, &spec::ADD, false)) {
        for (key, what_de, what_en) in [
            ("lists", "Die Liste", "the list"),
            ("groups", "Die Feldgruppe", "the field group"),
        ] {
            let (Some(items), Some(key_span)) = (a.get(key), a.key_span(key)) else {
                continue;
            };
            for (name, value) in reader.map(items) {
                let Some(name_text) = name.scalar_text() else { continue };
                if merged.get(key).and_then(|m| m.get(&name_text)).is_some() {
                    already_there(reader, name, &name_text, what_de, what_en);
                    continue;
                }
                let target = ensure(&mut merged, key, key_span, NodeKind::Map(Vec::new()));
                if let NodeKind::Map(entries) = &mut target.kind {
                    entries.push((name.clone(), value.clone()));
                }
            }
        }
        if let (Some(steps), Some(key_span)) = (a.get("steps"), a.key_span("steps")) {
            for step in reader.list(steps) {
                let mut step = step.clone();
                let after = take(&mut step, "after");
                let list = ensure(&mut merged, "steps", key_span, NodeKind::Seq(Vec::new()));
                insert_after(list, step, after.as_ref(), reader, "keinen Schritt", "step");
            }
        }
        if let Some(fields) = a.get("fields") {
            for field in reader.list(fields) {
                let mut field = field.clone();
                let after = take(&mut field, "after");
                let Some(to) = take(&mut field, "to") else {
                    // The reader reports the missing `to` when it checks the added field's keys.
                    reader.entries(&field, &spec::ADDED_FIELD, false);
                    continue;
                };
                let to_text = to.scalar_text().unwrap_or_default();
                let groups = merged.get("groups").cloned();
                let container = match find_by_id(get_mut(&mut merged, "steps"), &to_text) {
                    Some(step) => Some(step),
                    None => find_field(&mut merged, &to_text, catalog),
                };
                let Some(container) = container else {
                    let mut candidates = list_ids(base.get("steps"));
                    candidates.extend(field_paths(base, catalog));
                    unknown_target(
                        reader,
                        &to,
                        &to_text,
                        "keinen Schritt und kein Gruppenfeld",
                        "step or group field",
                        &candidates,
                    );
                    continue;
                };
                // A field added to a group field that uses a group goes into a copy of the
                // group's fields, as a changed member does.
                inline_group(container, groups.as_ref(), catalog);
                let span = to.span;
                let list = ensure(container, "fields", span, NodeKind::Seq(Vec::new()));
                insert_after(list, field, after.as_ref(), reader, "kein Feld", "field");
            }
        }
        for key in ["computed", "rules", "fees", "tests"] {
            let (Some(items), Some(key_span)) = (a.get(key), a.key_span(key)) else {
                continue;
            };
            let added: Vec<Node> = reader.list(items).to_vec();
            let list = ensure(&mut merged, key, key_span, NodeKind::Seq(Vec::new()));
            if let NodeKind::Seq(existing) = &mut list.kind {
                existing.extend(added);
            }
        }
    }
    Some(merged)
}

/// Reports an overlay target the base lacks. `none_de` is the German negative with its
/// article ("keine Liste", "kein Feld"), since German inflects it.
fn unknown_target(reader: &mut Reader<'_>, at: &Node, name: &str, none_de: &str, what_en: &str, candidates: &[String]) {
    let help = match suggest(name, candidates.iter().map(String::as_str)) {
        Some(s) => did_you_mean(s),
        None if candidates.is_empty() => Msg::new(
            "Der Basisdienst hat nichts dieser Art. Neues legen Sie unter `add:` an.".to_string(),
            "the base service has nothing of this kind; put new things under `add:`".to_string(),
        ),
        None => Msg::new(
            format!(
                "Der Basisdienst hat: {}. Neues legen Sie unter `add:` an.",
                candidates.join(", ")
            ),
            format!(
                "the base service has: {}; put new things under `add:`",
                candidates.join(", ")
            ),
        ),
    };
    reader.diags.push(
        Diagnostic::error(
            Code::OverlayUnknownTarget,
            at.span,
            Msg::new(
                format!("Der Basisdienst hat {none_de} namens `{name}`; hier gibt es nichts zu ändern."),
                format!("the base service has no {what_en} `{name}` for this overlay to change"),
            ),
        )
        .with_help(help),
    );
}

fn already_there(reader: &mut Reader<'_>, at: &Node, name: &str, what_de: &str, what_en: &str) {
    reader.diags.error_help(
        Code::DuplicateId,
        at.span,
        Msg::new(
            format!("{what_de} `{name}` gibt es im Basisdienst schon."),
            format!("{what_en} `{name}` already exists in the base service"),
        ),
        Msg::new(
            "Ändern Sie Vorhandenes unter `override:`.",
            "change existing things under `override:`",
        ),
    );
}

fn get_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.kind {
        NodeKind::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// Sets `key` to `value`, keeping the key's position if it exists.
fn set(node: &mut Node, key: &str, key_span: crate::source::Span, value: Node) {
    if let Some(existing) = get_mut(node, key) {
        *existing = value;
    } else if let NodeKind::Map(entries) = &mut node.kind {
        entries.push((Node::new(NodeKind::Str(key.to_string()), key_span), value));
    }
}

/// The value under `key`, created as `empty` (at `span`) if missing or null.
fn ensure<'a>(node: &'a mut Node, key: &str, span: crate::source::Span, empty: NodeKind) -> &'a mut Node {
    let missing = get_mut(node, key).is_none_or(|n| matches!(n.kind, NodeKind::Null));
    if missing {
        set(node, key, span, Node::new(empty, span));
    }
    get_mut(node, key).expect("just set")
}

/// Removes `key` from a map node and returns its value.
fn take(node: &mut Node, key: &str) -> Option<Node> {
    let NodeKind::Map(entries) = &mut node.kind else {
        return None;
    };
    let pos = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
    Some(entries.remove(pos).1)
}

fn find_by_id<'a>(list: Option<&'a mut Node>, id: &str) -> Option<&'a mut Node> {
    match &mut list?.kind {
        NodeKind::Seq(items) => items
            .iter_mut()
            .find(|i| i.get("id").and_then(Node::scalar_text).as_deref() == Some(id)),
        _ => None,
    }
}

/// The group a `use:` names: the service's own (`groups`), else the catalog's.
fn group_node<'a>(groups: Option<&'a Node>, catalog: &'a CatalogGroups<'_>, name: &str) -> Option<&'a Node> {
    groups
        .and_then(|g| g.get(name))
        .or_else(|| catalog.nodes.get(name).copied())
}

/// The field node at a dotted path. A group used by `use:` on the way is copied into the
/// field first, so a municipality can change one member without touching the shared group
/// (the field then no longer uses the group: it has fields of its own).
fn find_field<'a>(root: &'a mut Node, path: &str, catalog: &CatalogGroups<'_>) -> Option<&'a mut Node> {
    let groups = root.get("groups").cloned();
    let mut parts = path.split('.');
    let first = parts.next()?;
    let steps = get_mut(root, "steps")?;
    let NodeKind::Seq(steps) = &mut steps.kind else {
        return None;
    };
    let mut current = steps
        .iter_mut()
        .filter_map(|s| get_mut(s, "fields"))
        .find_map(|fields| find_by_id(Some(fields), first))?;
    for part in parts {
        inline_group(current, groups.as_ref(), catalog);
        current = find_by_id(get_mut(current, "fields"), part)?;
    }
    Some(current)
}

fn inline_group(field: &mut Node, groups: Option<&Node>, catalog: &CatalogGroups<'_>) {
    let Some(name) = field.get("use").and_then(Node::scalar_text) else {
        return;
    };
    let Some(group) = group_node(groups, catalog, &name) else {
        return;
    };
    let use_span = field.get("use").map(|n| n.span).unwrap_or(field.span);
    take(field, "use");
    if let Some(fields) = group.get("fields") {
        set(field, "fields", use_span, fields.clone());
    }
    if field.get("label").is_none()
        && let Some(label) = group.get("label")
    {
        set(field, "label", use_span, label.clone());
    }
}

fn apply_patch(target: &mut Node, patch: &Node, reader: &mut Reader<'_>) {
    let Some(entries) = patch.as_map() else {
        reader.map(patch);
        return;
    };
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        if let Some(existing) = get_mut(target, name) {
            *existing = value.clone();
        } else if let NodeKind::Map(items) = &mut target.kind {
            items.push((key.clone(), value.clone()));
        }
    }
}

fn insert_after(
    list: &mut Node,
    item: Node,
    after: Option<&Node>,
    reader: &mut Reader<'_>,
    none_de: &str,
    what_en: &str,
) {
    let NodeKind::Seq(items) = &mut list.kind else { return };
    let position = match after {
        None => items.len(),
        Some(after) => {
            let name = after.scalar_text().unwrap_or_default();
            match items
                .iter()
                .position(|i| i.get("id").and_then(Node::scalar_text).as_deref() == Some(name.as_str()))
            {
                Some(p) => p + 1,
                None => {
                    let ids: Vec<String> = items
                        .iter()
                        .filter_map(|i| i.get("id").and_then(Node::scalar_text))
                        .collect();
                    unknown_target(reader, after, &name, none_de, what_en, &ids);
                    items.len()
                }
            }
        }
    };
    items.insert(position, item);
}

fn map_keys(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::as_map)
        .map(|m| m.iter().filter_map(|(k, _)| k.scalar_text()).collect())
        .unwrap_or_default()
}

fn list_ids(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::as_seq)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("id").and_then(Node::scalar_text))
                .collect()
        })
        .unwrap_or_default()
}

/// Dotted paths of every field written in the base (groups used by `use:` included).
fn field_paths(base: &Node, catalog: &CatalogGroups<'_>) -> Vec<String> {
    fn walk(
        prefix: &str,
        fields: Option<&Node>,
        groups: Option<&Node>,
        catalog: &CatalogGroups<'_>,
        out: &mut Vec<String>,
        depth: usize,
    ) {
        if depth > 16 {
            return;
        }
        for field in fields.and_then(Node::as_seq).unwrap_or(&[]) {
            let Some(id) = field.get("id").and_then(Node::scalar_text) else {
                continue;
            };
            let path = if prefix.is_empty() {
                id
            } else {
                format!("{prefix}.{id}")
            };
            let children = field.get("fields").or_else(|| {
                let name = field.get("use").and_then(Node::scalar_text)?;
                group_node(groups, catalog, &name)?.get("fields")
            });
            walk(&path, children, groups, catalog, out, depth + 1);
            out.push(path);
        }
    }
    let mut out = Vec::new();
    for step in base.get("steps").and_then(Node::as_seq).unwrap_or(&[]) {
        walk("", step.get("fields"), base.get("groups"), catalog, &mut out, 0);
    }
    out
}
