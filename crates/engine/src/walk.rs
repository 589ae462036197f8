//! The one walk over a service's fields and a set of answers.
//!
//! Answers are a JSON tree shaped like the service: an object per step's fields, an object per
//! group, an array of objects per repeat. Code that needs to find or change something in
//! answers (the files a submission refers to, the files a posted step must keep, the rows of
//! the summary) walks them with [`walk`] or [`walk_mut`] instead of writing its own recursion,
//! so every such walk agrees on paths (`kinder.0.vorname`), on the order (depth first, in field
//! order, a container before its members) and on how many repeat items are looked at
//! ([`Limits::repeat_items`]).
//!
//! Paths are the ones the engine reports errors at and the pages name inputs by. The walk never
//! fails: an answer of the wrong shape (a string where a group's object belongs) is visited as
//! it is, and its members are not.

use baukasten_dsl::model::{Field, FieldKind, Service};
use serde_json::{Map, Value as Json};

use crate::Limits;

/// Where the walk is: the field, its path in the answers, and the repeat item it is in.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a, 'p> {
    pub field: &'a Field,
    /// The path of the answer: `antragsteller.vorname`, `kinder.0.nachweis`.
    pub path: &'p str,
    /// The innermost repeat item around this field: the repeat and the item's index.
    pub item: Option<(&'a Field, usize)>,
}

/// Calls `visit` for every field of `fields` that has an answer in `answers`, with that answer.
/// Groups and repeats are visited before their members.
pub fn walk<'a>(fields: &'a [Field], answers: &Json, limits: &Limits, visit: &mut dyn FnMut(Visit<'a, '_>, &Json)) {
    let mut path = String::new();
    walk_in(fields, answers, limits, &mut path, None, visit);
}

fn walk_in<'a>(
    fields: &'a [Field],
    answers: &Json,
    limits: &Limits,
    path: &mut String,
    item: Option<(&'a Field, usize)>,
    visit: &mut dyn FnMut(Visit<'a, '_>, &Json),
) {
    let Json::Object(map) = answers else { return };
    for field in fields {
        let Some(answer) = map.get(&field.id) else { continue };
        let len = push(path, &field.id);
        visit(Visit { field, path, item }, answer);
        match &field.kind {
            FieldKind::Group { fields } => walk_in(fields, answer, limits, path, item, visit),
            FieldKind::Repeat {
                fields: members,
                max_items,
                ..
            } => {
                let cap = limits.repeat_items(*max_items);
                for (n, entry) in answer.as_array().into_iter().flatten().take(cap).enumerate() {
                    let item_len = push(path, &n.to_string());
                    walk_in(members, entry, limits, path, Some((field, n)), visit);
                    path.truncate(item_len);
                }
            }
            _ => {}
        }
        path.truncate(len);
    }
}

/// Like [`walk`], with each answer to change in place. A container's answer is visited before
/// its members, and the members of what the visitor left there are walked.
pub fn walk_mut<'a>(
    fields: &'a [Field],
    answers: &mut Json,
    limits: &Limits,
    visit: &mut dyn FnMut(Visit<'a, '_>, &mut Json),
) {
    let mut path = String::new();
    walk_mut_in(fields, answers, limits, &mut path, None, visit);
}

fn walk_mut_in<'a>(
    fields: &'a [Field],
    answers: &mut Json,
    limits: &Limits,
    path: &mut String,
    item: Option<(&'a Field, usize)>,
    visit: &mut dyn FnMut(Visit<'a, '_>, &mut Json),
) {
    let Json::Object(map) = answers else { return };
    for field in fields {
        let Some(answer) = map.get_mut(&field.id) else { continue };
        let len = push(path, &field.id);
        visit(Visit { field, path, item }, answer);
        match &field.kind {
            FieldKind::Group { fields } => walk_mut_in(fields, answer, limits, path, item, visit),
            FieldKind::Repeat {
                fields: members,
                max_items,
                ..
            } => {
                let cap = limits.repeat_items(*max_items);
                if let Json::Array(items) = answer {
                    for (n, entry) in items.iter_mut().take(cap).enumerate() {
                        let item_len = push(path, &n.to_string());
                        walk_mut_in(members, entry, limits, path, Some((field, n)), visit);
                        path.truncate(item_len);
                    }
                }
            }
            _ => {}
        }
        path.truncate(len);
    }
}

/// Walks every step's fields of a service over one answers object.
pub fn walk_service<'a>(
    service: &'a Service,
    answers: &Json,
    limits: &Limits,
    visit: &mut dyn FnMut(Visit<'a, '_>, &Json),
) {
    for step in &service.steps {
        walk(&step.fields, answers, limits, visit);
    }
}

/// [`walk_mut`] over every step's fields of a service.
pub fn walk_service_mut<'a>(
    service: &'a Service,
    answers: &mut Json,
    limits: &Limits,
    visit: &mut dyn FnMut(Visit<'a, '_>, &mut Json),
) {
    for step in &service.steps {
        walk_mut(&step.fields, answers, limits, visit);
    }
}

/// Appends a path segment and returns the length to truncate back to.
fn push(path: &mut String, segment: &str) -> usize {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(segment);
    len
}

/// The field an answer path names (`kinder.0.nachweis` names the repeat's member `nachweis`),
/// if the path fits the service: every index stands right after a repeat and is within its
/// limit.
pub fn field_at<'a>(service: &'a Service, path: &str, limits: &Limits) -> Option<&'a Field> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut field = service.steps.iter().flat_map(|s| &s.fields).find(|f| f.id == first)?;
    while let Some(part) = parts.next() {
        let member = match &field.kind {
            // After a repeat comes an item's index, then a member of the item.
            FieldKind::Repeat { max_items, .. } => {
                let index: usize = part.parse().ok()?;
                if index >= limits.repeat_items(*max_items) {
                    return None;
                }
                parts.next()?
            }
            _ => part,
        };
        field = field.kind.children()?.iter().find(|f| f.id == member)?;
    }
    Some(field)
}

/// Puts `value` at an answer path (`kinder.1.nachweis`), creating the group objects and repeat
/// items on the way. A path that does not name a field of the service, or that runs into an
/// answer of another shape (a text or an object where a repeat's list belongs), changes
/// nothing; the return value says whether the value was put.
pub fn set_at(service: &Service, answers: &mut Json, path: &str, value: Json, limits: &Limits) -> bool {
    if field_at(service, path, limits).is_none() {
        return false;
    }
    let parts: Vec<&str> = path.split('.').collect();
    let mut node = answers;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        node = match (node, part.parse::<usize>()) {
            (Json::Array(items), Ok(index)) => {
                while items.len() <= index {
                    items.push(Json::Object(Map::new()));
                }
                &mut items[index]
            }
            // Field ids start with a letter: an index where an object is means the answers
            // have another shape than the service.
            (Json::Object(_), Ok(_)) => return false,
            (Json::Object(map), Err(_)) => {
                if last {
                    map.insert(part.to_string(), value);
                    return true;
                }
                let next_is_index = parts[i + 1].parse::<usize>().is_ok();
                map.entry(part.to_string()).or_insert_with(|| {
                    if next_is_index {
                        Json::Array(vec![])
                    } else {
                        Json::Object(Map::new())
                    }
                })
            }
            _ => return false,
        };
        if last {
            *node = value;
            return true;
        }
    }
    false
}
