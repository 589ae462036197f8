//! A municipality's look as a stylesheet. Under a strict Content-Security-Policy pages carry no
//! inline styles, so the tenant's colours reach the page as CSS custom properties in a file of
//! their own, linked after the main stylesheet.

use baukasten_dsl::model::Tenant;

/// 4.5:1 against the footer's #f3f2f1 is about 5.04:1 against white; a little margin on top.
const MIN_CONTRAST_WITH_WHITE: f64 = 5.1;

/// The theme stylesheet of `tenant`, or `None` when it sets no usable colour.
///
/// Only `#rgb` and `#rrggbb` are accepted, so nothing a tenant file says can break out of the
/// declaration. A colour is also refused when it would not reach the 4.5:1 contrast WCAG 2.1 AA
/// asks for: the header and buttons put white text on it, and links use it as text colour on
/// white and on the light grey of the footer (#f3f2f1), which needs about 5.1:1 against white.
pub fn theme_css(tenant: &Tenant) -> Option<String> {
    let mut css = String::new();
    for (name, value) in [
        ("--primary", &tenant.theme.primary_color),
        ("--accent", &tenant.theme.accent_color),
    ] {
        if let Some(rgb) = value.as_deref().and_then(parse_hex)
            && contrast_with_white(rgb) >= MIN_CONTRAST_WITH_WHITE
        {
            css.push_str(&format!("  {name}: {};\n", hex(rgb)));
        }
    }
    if css.is_empty() {
        None
    } else {
        Some(format!(
            "/* Theme of {}: generated from tenant.yaml. */\n:root {{\n{css}}}\n",
            tenant
                .id
                .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-', "")
        ))
    }
}

fn parse_hex(value: &str) -> Option<[u8; 3]> {
    let digits = value.strip_prefix('#')?;
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let nibble = |i: usize| u8::from_str_radix(&digits[i..=i], 16).ok();
    match digits.len() {
        3 => Some([nibble(0)? * 17, nibble(1)? * 17, nibble(2)? * 17]),
        6 => {
            let byte = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).ok();
            Some([byte(0)?, byte(2)?, byte(4)?])
        }
        _ => None,
    }
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The WCAG contrast ratio of white against `rgb`.
fn contrast_with_white(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
    1.05 / (l + 0.05)
}
