//! Parsing and checking what citizens type into typed fields: Postleitzahl, IBAN, Steuer-ID,
//! Kfz-Kennzeichen, telephone, email, numbers, amounts of money and dates.
//!
//! Each function takes the text as typed and returns either the value in its stored form (the
//! compact IBAN, the E.164 number, a `Decimal`, a `NaiveDate`) or an [`Invalid`] with a stable
//! code and a message in German and English. The message is written for the kind of field and
//! names the problem ("Den 31. Februar gibt es nicht."); it does not repeat the field's label,
//! because it is shown next to it.
//!
//! The functions accept the forms people actually type (spaces in an IBAN, "(0431) 12 34 56",
//! "1.234,56 €") and never panic, whatever the input. Whether a field is required, and limits
//! such as a minimum date, are not checked here: the evaluator does that with the field's rules.
//! The rules themselves are in `shared/reference/validators.md`.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::NaiveDate;
use iban::{Iban, IbanLike, ParseBaseIbanError, ParseIbanError};
use regex::Regex;
use rust_decimal::Decimal;
use validator::ValidateEmail;

/// Why an input was refused: a stable code and a message for the citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub de: String,
    pub en: String,
}

impl Invalid {
    fn new(code: &'static str, de: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            code,
            de: de.into(),
            en: en.into(),
        }
    }
}

/// `str::trim`, without decoding characters when the text starts and ends with a visible
/// ASCII character, as nearly every input does.
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

// ---------------------------------------------------------------------------------------------
// Postleitzahl

const PLZ: &str = "invalid_plz";

/// A German postcode: five digits, not starting with "00" (no postal region 00 exists).
pub fn plz(input: &str) -> Result<String, Invalid> {
    plz_str(input).map(str::to_string)
}

/// [`plz`] without copying: the trimmed input.
pub(crate) fn plz_str(input: &str) -> Result<&str, Invalid> {
    let s = trim(input);
    if s.is_empty() {
        return Err(Invalid::new(
            PLZ,
            "Bitte geben Sie eine Postleitzahl ein.",
            "Please enter a postcode.",
        ));
    }
    if !s.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::new(
            PLZ,
            "Bitte geben Sie die Postleitzahl nur mit Ziffern ein, zum Beispiel 24103.",
            "Please enter the postcode using digits only, for example 24103.",
        ));
    }
    if s.len() != 5 {
        return Err(Invalid::new(
            PLZ,
            format!("Eine Postleitzahl hat fünf Ziffern; Sie haben {} eingegeben.", s.len()),
            format!("A postcode has five digits; you entered {}.", s.len()),
        ));
    }
    if s.starts_with("00") {
        return Err(Invalid::new(
            PLZ,
            "Postleitzahlen beginnen nicht mit 00. Bitte prüfen Sie die Eingabe.",
            "German postcodes do not begin with 00. Please check your entry.",
        ));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// IBAN

const IBAN: &str = "invalid_iban";

/// An IBAN of any country, stored in the electronic form ("DE89370400440532013000").
///
/// iban_validate only accepts the strict paper format (groups of four), so we remove all
/// whitespace and upper-case the letters first: people type and paste IBANs in every grouping.
pub fn iban(input: &str) -> Result<String, Invalid> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.is_empty() {
        return Err(Invalid::new(
            IBAN,
            "Bitte geben Sie Ihre IBAN ein.",
            "Please enter your IBAN.",
        ));
    }
    if !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Invalid::new(
            IBAN,
            "Eine IBAN besteht nur aus Buchstaben und Ziffern, zum Beispiel DE89 3704 0044 0532 0130 00.",
            "An IBAN consists of letters and digits only, for example DE89 3704 0044 0532 0130 00.",
        ));
    }
    // A German IBAN of the wrong length would fail the checksum, and "check digits do not match"
    // would send the citizen looking for a typo instead of the missing or extra digit.
    if compact.starts_with("DE") && compact.len() != 22 {
        return Err(Invalid::new(
            IBAN,
            format!(
                "Eine deutsche IBAN hat 22 Stellen: DE und 20 Ziffern. Sie haben {} Stellen eingegeben.",
                compact.len()
            ),
            format!(
                "A German IBAN has 22 characters: DE and 20 digits. You entered {}.",
                compact.len()
            ),
        ));
    }
    match compact.parse::<Iban>() {
        Ok(parsed) => Ok(parsed.electronic_str().to_string()),
        Err(err) => Err(iban_error(&compact, err)),
    }
}

fn iban_error(compact: &str, err: ParseIbanError) -> Invalid {
    match err {
        ParseIbanError::InvalidBaseIban {
            source: ParseBaseIbanError::InvalidChecksum,
        } => Invalid::new(
            IBAN,
            "Die Prüfziffern der IBAN passen nicht. Bitte prüfen Sie die IBAN auf Tippfehler.",
            "The IBAN check digits do not match. Please check it for typos.",
        ),
        ParseIbanError::InvalidBaseIban {
            source: ParseBaseIbanError::InvalidFormat,
        } => Invalid::new(
            IBAN,
            "Eine IBAN beginnt mit dem Ländercode und zwei Prüfziffern, zum Beispiel DE89 3704 0044 0532 0130 00.",
            "An IBAN begins with the country code and two check digits, for example DE89 3704 0044 0532 0130 00.",
        ),
        ParseIbanError::UnknownCountry(_) => {
            let country = compact.get(..2).unwrap_or_default();
            Invalid::new(
                IBAN,
                format!("„{country}“ ist kein Ländercode für IBANs. Bitte prüfen Sie die ersten beiden Buchstaben."),
                format!("“{country}” is not an IBAN country code. Please check the first two letters."),
            )
        }
        ParseIbanError::InvalidBban(_) if compact.starts_with("DE") => Invalid::new(
            IBAN,
            "Bei einer deutschen IBAN folgen auf DE nur Ziffern. Bitte prüfen Sie die Eingabe.",
            "In a German IBAN, only digits follow DE. Please check your entry.",
        ),
        ParseIbanError::InvalidBban(_) => Invalid::new(
            IBAN,
            "Die IBAN hat nicht den Aufbau, der für dieses Land gilt (Länge oder Zeichen). \
             Bitte prüfen Sie die Eingabe.",
            "The IBAN does not have the format of its country (length or characters). Please check your entry.",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Steuerliche Identifikationsnummer

const STEUER_ID: &str = "invalid_steuer_id";

/// The Steuer-ID: 11 digits, the first not 0, a digit-frequency rule and an ISO 7064 MOD 11,10
/// check digit. Returns the 11 digits without spaces.
pub fn steuer_id(input: &str) -> Result<String, Invalid> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(Invalid::new(
            STEUER_ID,
            "Bitte geben Sie Ihre Steuer-Identifikationsnummer ein.",
            "Please enter your tax identification number.",
        ));
    }
    if !compact.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::new(
            STEUER_ID,
            "Die Steuer-ID besteht nur aus Ziffern. Sie finden sie zum Beispiel auf Ihrem Steuerbescheid.",
            "The tax ID consists of digits only. You can find it on your tax assessment, for example.",
        ));
    }
    if compact.len() != 11 {
        return Err(Invalid::new(
            STEUER_ID,
            format!("Die Steuer-ID hat 11 Ziffern; Sie haben {} eingegeben.", compact.len()),
            format!("The tax ID has 11 digits; you entered {}.", compact.len()),
        ));
    }
    let digits: Vec<u8> = compact.bytes().map(|b| b - b'0').collect();
    let (first_ten, check) = digits.split_at(10);
    if first_ten[0] == 0 {
        return Err(Invalid::new(
            STEUER_ID,
            "Eine Steuer-ID beginnt nicht mit 0. Bitte prüfen Sie die Eingabe.",
            "A tax ID does not begin with 0. Please check your entry.",
        ));
    }
    // Both rules catch typos; the citizen cannot tell them apart, so the advice is the same.
    if !steuer_id_digits_plausible(first_ten) || steuer_id_check_digit(first_ten) != check[0] {
        return Err(Invalid::new(
            STEUER_ID,
            "Diese Nummer ist keine gültige Steuer-ID. Bitte prüfen Sie sie auf Tippfehler.",
            "This number is not a valid tax ID. Please check it for typos.",
        ));
    }
    Ok(compact)
}

/// Among the first ten digits exactly one digit occurs twice or three times (three times never
/// in a row), every other digit at most once.
fn steuer_id_digits_plausible(first_ten: &[u8]) -> bool {
    let mut counts = [0u8; 10];
    for &d in first_ten {
        if let Some(count) = counts.get_mut(usize::from(d)) {
            *count += 1;
        }
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|&c| c > 1).collect();
    let three_in_a_row = first_ten.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]);
    matches!(repeated.as_slice(), [2] | [3]) && !three_in_a_row
}

/// ISO 7064 MOD 11,10 as the Bundeszentralamt für Steuern specifies it for the Steuer-ID.
/// (A weighted sum, as some web pages describe, gives wrong results.)
fn steuer_id_check_digit(first_ten: &[u8]) -> u8 {
    let mut product = 10;
    for &d in first_ten {
        let mut sum = (d + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    // `product` is never 0 (11 is prime), so the check is 1..=10 and 10 stands for 0.
    match 11 - product {
        10 => 0,
        check => check,
    }
}

// ---------------------------------------------------------------------------------------------
// Kfz-Kennzeichen

const KFZ: &str = "invalid_kfz_kennzeichen";

/// The pattern from validators.md, with groups so that we can rebuild the canonical form.
static KFZ_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-ZÄÖÜ]{1,3})([- ]?)([A-Z]{1,2})([- ]?)([1-9][0-9]{0,3}[EH]?)$")
        .expect("the Kfz-Kennzeichen pattern is a valid regex")
});

/// A German number plate. Returns "KI-AB 123" when the split between district code and letters
/// is clear, and otherwise the upper-cased input: "KIAB123" could be KI-AB 123 or KIA-B 123.
pub fn kfz_kennzeichen(input: &str) -> Result<String, Invalid> {
    let plate = normalize_plate(input);
    if plate.is_empty() {
        return Err(Invalid::new(
            KFZ,
            "Bitte geben Sie ein Kennzeichen ein.",
            "Please enter a number plate.",
        ));
    }
    let Some(caps) = KFZ_PATTERN.captures(&plate) else {
        return Err(plate_format_error(&plate));
    };
    let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let (district, sep, letters, number) = (group(1), group(2), group(3), group(5));
    let length = district.chars().count() + letters.chars().count() + number.len();
    if length > 8 {
        return Err(Invalid::new(
            KFZ,
            "Ein Kennzeichen hat höchstens acht Zeichen (ohne Bindestrich und Leerzeichen).",
            "A number plate has at most eight characters (not counting hyphens and spaces).",
        ));
    }
    if !sep.is_empty() {
        return Ok(format!("{district}-{letters} {number}"));
    }
    let run: Vec<char> = district.chars().chain(letters.chars()).collect();
    Ok(match plate_split(&run) {
        Some((district, letters)) => format!("{district}-{letters} {number}"),
        None => plate,
    })
}

/// Upper-cases the plate and turns each run of separators into one: a hyphen if the run has
/// one, else a space, so that "ki - ab  123" reads as "KI-AB 123". Only ASCII letters and ä, ö,
/// ü are upper-cased: Unicode upper-casing turns "ß" into "SS", which would make a plate of it.
fn normalize_plate(input: &str) -> String {
    let mut plate = String::new();
    let mut pending: Option<char> = None;
    for c in trim(input).chars() {
        if c == '-' || c.is_whitespace() {
            pending = if c == '-' || pending == Some('-') {
                Some('-')
            } else {
                Some(' ')
            };
            continue;
        }
        plate.extend(pending.take());
        plate.push(match c {
            'ä' => 'Ä',
            'ö' => 'Ö',
            'ü' => 'Ü',
            c => c.to_ascii_uppercase(),
        });
    }
    plate
}

/// Without a separator, "KIAB" could be KI-AB or KIA-B: both are real district codes, so we
/// cannot choose. Some runs allow only one split ("MX" is M-X, "MÜA" is MÜ-A because the
/// letters after the district have no umlauts); those we return.
fn plate_split(run: &[char]) -> Option<(String, String)> {
    let is_district = |part: &[char]| (1..=3).contains(&part.len());
    let is_letters = |part: &[char]| (1..=2).contains(&part.len()) && part.iter().all(|c| c.is_ascii_uppercase());
    let mut splits = (1..run.len())
        .map(|i| run.split_at(i))
        .filter(|(d, l)| is_district(d) && is_letters(l));
    match (splits.next(), splits.next()) {
        (Some((district, letters)), None) => Some((district.iter().collect(), letters.iter().collect())),
        _ => None,
    }
}

fn plate_format_error(plate: &str) -> Invalid {
    let starts_with_zero = plate
        .char_indices()
        .any(|(i, c)| c == '0' && !plate[..i].chars().next_back().is_some_and(|p| p.is_ascii_digit()));
    if starts_with_zero {
        return Invalid::new(
            KFZ,
            "Die Zahl auf einem Kennzeichen beginnt nicht mit 0. Bitte prüfen Sie die Eingabe.",
            "The number on a plate does not begin with 0. Please check your entry.",
        );
    }
    Invalid::new(
        KFZ,
        "Bitte geben Sie das Kennzeichen in der Form KI-AB 123 ein: Ortskennung, ein oder zwei Buchstaben \
         und eine Zahl, eventuell mit E oder H am Ende.",
        "Please enter the number plate in the form KI-AB 123: district code, one or two letters and a number, \
         possibly followed by E or H.",
    )
}

// ---------------------------------------------------------------------------------------------
// Telephone

const PHONE: &str = "invalid_phone";

/// A telephone number, stored in E.164 ("+49431123456"). Numbers with a single leading 0 are
/// German; "+" or "00" starts an international number.
pub fn phone(input: &str) -> Result<String, Invalid> {
    let s = trim(input);
    if s.is_empty() {
        return Err(Invalid::new(
            PHONE,
            "Bitte geben Sie eine Telefonnummer ein.",
            "Please enter a telephone number.",
        ));
    }
    let (plus, rest) = match s.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || "/-().".contains(c))
    {
        return Err(Invalid::new(
            PHONE,
            "Bitte geben Sie die Telefonnummer nur mit Ziffern ein, zum Beispiel 0431 123456.",
            "Please enter the telephone number using digits only, for example 0431 123456.",
        ));
    }
    let international = plus || digits_of(rest).starts_with("00");
    let e164_digits = if international {
        // "+49 (0)431 …" is a common way of writing a number; the (0) is dialled only from
        // within the country and has no place in E.164.
        let digits = digits_of(&rest.replace("(0)", ""));
        let digits = if plus {
            digits
        } else {
            digits.get(2..).unwrap_or_default().to_string()
        };
        if digits.starts_with('0') {
            return Err(Invalid::new(
                PHONE,
                "Nach + oder 00 folgt die Landesvorwahl, zum Beispiel +49 für Deutschland.",
                "After + or 00 comes the country code, for example +49 for Germany.",
            ));
        }
        digits
    } else if let Some(national) = digits_of(rest).strip_prefix('0') {
        format!("49{national}")
    } else {
        return Err(Invalid::new(
            PHONE,
            "Bitte geben Sie die Telefonnummer mit Vorwahl ein, zum Beispiel 0431 123456.",
            "Please enter the telephone number with its area code, for example 0431 123456.",
        ));
    };
    match e164_digits.len() {
        8..=15 => Ok(format!("+{e164_digits}")),
        0..8 => Err(Invalid::new(
            PHONE,
            "Diese Telefonnummer ist zu kurz. Bitte geben Sie sie mit Vorwahl ein, zum Beispiel 0431 123456.",
            "This telephone number is too short. Please include the area code, for example 0431 123456.",
        )),
        _ => Err(Invalid::new(
            PHONE,
            "Diese Telefonnummer ist zu lang: Mit Landesvorwahl hat eine Telefonnummer höchstens 15 Ziffern.",
            "This telephone number is too long: with the country code, a number has at most 15 digits.",
        )),
    }
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

// ---------------------------------------------------------------------------------------------
// Email

const EMAIL: &str = "invalid_email";

/// An email address as HTML forms accept it (the validator crate), with a dot in the domain:
/// an address at a bare host name ("name@localhost") cannot be reached from the town hall.
pub fn email(input: &str) -> Result<String, Invalid> {
    email_str(input).map(str::to_string)
}

/// [`email`] without copying: the trimmed input.
pub(crate) fn email_str(input: &str) -> Result<&str, Invalid> {
    let s = trim(input);
    if s.is_empty() {
        return Err(Invalid::new(
            EMAIL,
            "Bitte geben Sie Ihre E-Mail-Adresse ein.",
            "Please enter your email address.",
        ));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(Invalid::new(
            EMAIL,
            "Eine E-Mail-Adresse enthält keine Leerzeichen. Bitte prüfen Sie die Eingabe.",
            "An email address contains no spaces. Please check your entry.",
        ));
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err(Invalid::new(
            EMAIL,
            "In der E-Mail-Adresse fehlt das @-Zeichen. Bitte geben Sie sie in der Form name@beispiel.de ein.",
            "The email address is missing the @ sign. Please enter it in the form name@example.com.",
        ));
    };
    // Plain ASCII addresses are checked by hand; the rest (IP literals, international domain
    // names) by the validator crate.
    let plain = plain_local_part(local) && plain_domain(domain);
    if !(plain || s.validate_email()) || !domain.contains('.') {
        return Err(Invalid::new(
            EMAIL,
            "Bitte geben Sie die E-Mail-Adresse in der Form name@beispiel.de ein.",
            "Please enter the email address in the form name@example.com.",
        ));
    }
    Ok(s)
}

/// Whether `local` is a local part that the validator crate accepts (its HTML pattern, at
/// most 64 characters), checked without a regular expression.
fn plain_local_part(local: &str) -> bool {
    (1..=64).contains(&local.len())
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b))
}

/// Whether `domain` is a domain that the validator crate accepts at once (at most 255
/// characters, labels of 1 to 63 ASCII letters, digits and hyphens, neither starting nor
/// ending with a hyphen), checked without a regular expression. `false` only means "ask the
/// validator crate".
fn plain_domain(domain: &str) -> bool {
    (1..=255).contains(&domain.len())
        && domain.split('.').all(|label| {
            let bytes = label.as_bytes();
            (1..=63).contains(&bytes.len())
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        })
}

// ---------------------------------------------------------------------------------------------
// Numbers and money

const INTEGER: &str = "invalid_integer";
const DECIMAL: &str = "invalid_decimal";
const MONEY: &str = "invalid_money";

/// What went wrong while reading a number; each caller words it for its kind of field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberError {
    Empty,
    NotANumber,
    TwoCommas,
    Grouping,
    TooManyDigits,
}

/// A number as typed, split into its parts: sign, the integer digits with thousands dots
/// removed, and the fraction digits if a decimal separator was typed (possibly none: "5,").
struct NumberParts<'a> {
    negative: bool,
    int_digits: Cow<'a, str>,
    fraction: Option<&'a str>,
}

/// Reads German ("1.234,56") and, where unambiguous, English ("1234.56") number input.
/// A dot is a thousands separator when it sits between groups of three ("1.234", "12.345.678");
/// otherwise a single dot is a decimal point. "1.234" could be either: in Germany it is 1234.
fn number_parts(input: &str) -> Result<NumberParts<'_>, NumberError> {
    let s = trim(input);
    if s.is_empty() {
        return Err(NumberError::Empty);
    }
    // People copy the typographic minus (U+2212) from documents.
    let (negative, body) = match s.strip_prefix('-').or_else(|| s.strip_prefix('−')) {
        Some(body) => (true, body),
        None => (false, s),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return Err(NumberError::NotANumber);
    }
    let (int_digits, fraction) = match body.split_once(',') {
        Some((_, fraction)) if fraction.contains(',') => return Err(NumberError::TwoCommas),
        // "1,234.56" is English with a thousands comma: refuse rather than guess.
        Some((_, fraction)) if fraction.contains('.') => return Err(NumberError::Grouping),
        Some((int, fraction)) => (ungroup(int)?, Some(fraction)),
        None => split_at_dot(body)?,
    };
    if int_digits.is_empty() && fraction.is_none_or(str::is_empty) {
        return Err(NumberError::NotANumber);
    }
    Ok(NumberParts {
        negative,
        int_digits,
        fraction,
    })
}

/// A number without a comma: the dots are either thousands separators or one decimal point.
fn split_at_dot(body: &str) -> Result<(Cow<'_, str>, Option<&str>), NumberError> {
    match body.split_once('.') {
        None => Ok((Cow::Borrowed(body), None)),
        Some((int, fraction)) if !fraction.contains('.') && !is_thousands_grouping(body) => {
            Ok((Cow::Borrowed(int), Some(fraction)))
        }
        Some(_) => Ok((ungroup(body)?, None)),
    }
}

/// Removes thousands dots, which must separate groups of three digits after a first group of
/// one to three ("1.234.567"). Digits without dots pass unchanged.
fn ungroup(int: &str) -> Result<Cow<'_, str>, NumberError> {
    if !int.contains('.') {
        return Ok(Cow::Borrowed(int));
    }
    if !is_thousands_grouping(int) {
        return Err(NumberError::Grouping);
    }
    Ok(Cow::Owned(int.chars().filter(|c| *c != '.').collect()))
}

fn is_thousands_grouping(int: &str) -> bool {
    let mut groups = int.split('.');
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
    first_ok && int.contains('.') && groups.all(|g| g.len() == 3)
}

fn to_decimal(parts: &NumberParts<'_>) -> Result<Decimal, NumberError> {
    let fraction = parts.fraction.unwrap_or_default();
    // Up to 18 digits fit a u64 exactly: no text to build and parse. The digits are ASCII
    // digits (checked by `number_parts`), and the scale is the number of fraction digits, as
    // `Decimal::from_str` makes it.
    if parts.int_digits.len() + fraction.len() <= 18 {
        let mantissa = parts
            .int_digits
            .bytes()
            .chain(fraction.bytes())
            .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
        let signed = if parts.negative {
            -i128::from(mantissa)
        } else {
            i128::from(mantissa)
        };
        let mut value = Decimal::from_i128_with_scale(signed, fraction.len() as u32);
        if value.is_zero() {
            value.set_sign_positive(true);
        }
        return Ok(value);
    }
    let int = if parts.int_digits.is_empty() {
        "0"
    } else {
        &parts.int_digits
    };
    let sign = if parts.negative { "-" } else { "" };
    let text = match parts.fraction {
        Some(fraction) if !fraction.is_empty() => format!("{sign}{int}.{fraction}"),
        _ => format!("{sign}{int}"),
    };
    let mut value = Decimal::from_str(&text).map_err(|_| NumberError::TooManyDigits)?;
    // "-0" and "-0,00" are zero; a stored "-0" would surprise whoever reads the data.
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    Ok(value)
}

/// A whole number: "1234", "1.234", "-5".
pub fn integer(input: &str) -> Result<i64, Invalid> {
    let parts = number_parts(input).map_err(|err| number_error(INTEGER, err))?;
    if parts.fraction.is_some() {
        return Err(Invalid::new(
            INTEGER,
            "Hier sind nur ganze Zahlen möglich. Bitte geben Sie die Zahl ohne Komma ein, zum Beispiel 12.",
            "Only whole numbers are allowed here. Please enter the number without a decimal part, for example 12.",
        ));
    }
    // Up to 18 digits fit an i64 exactly: no text to build and parse.
    if parts.int_digits.len() <= 18 {
        let n = parts
            .int_digits
            .bytes()
            .fold(0i64, |n, digit| n * 10 + i64::from(digit - b'0'));
        return Ok(if parts.negative { -n } else { n });
    }
    let sign = if parts.negative { "-" } else { "" };
    format!("{sign}{}", parts.int_digits)
        .parse::<i64>()
        .map_err(|_| number_error(INTEGER, NumberError::TooManyDigits))
}

/// A decimal number: "1.234,56", "1234,56", "1234.56", "-0,5".
pub fn decimal(input: &str) -> Result<Decimal, Invalid> {
    number_parts(input)
        .and_then(|parts| to_decimal(&parts))
        .map_err(|err| number_error(DECIMAL, err))
}

/// An amount in euros: like [`decimal`], with "€" or "EUR" before or after, at most two
/// decimal places and not negative.
pub fn money(input: &str) -> Result<Decimal, Invalid> {
    let amount = number_parts(strip_currency(input))
        .and_then(|parts| to_decimal(&parts))
        .map_err(|err| number_error(MONEY, err))?;
    if amount.is_sign_negative() {
        return Err(Invalid::new(
            MONEY,
            "Bitte geben Sie den Betrag ohne Minuszeichen ein.",
            "Please enter the amount without a minus sign.",
        ));
    }
    if amount.scale() > 2 {
        return Err(Invalid::new(
            MONEY,
            "Bitte geben Sie höchstens zwei Nachkommastellen (Cent) an.",
            "Please enter at most two decimal places (cents).",
        ));
    }
    Ok(amount)
}

/// Removes one "€" or "EUR" (any case) before and one after the amount.
fn strip_currency(input: &str) -> &str {
    let s = trim(input);
    let s = match s.strip_prefix('€') {
        Some(rest) => rest,
        None if s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("EUR")) => s.get(3..).unwrap_or_default(),
        None => s,
    };
    let s = trim(s);
    let s = match s.strip_suffix('€') {
        Some(rest) => rest,
        None if s.len() >= 3 && s.get(s.len() - 3..).is_some_and(|p| p.eq_ignore_ascii_case("EUR")) => {
            s.get(..s.len() - 3).unwrap_or_default()
        }
        None => s,
    };
    trim(s)
}

fn number_error(code: &'static str, err: NumberError) -> Invalid {
    let (example_de, example_en) = match code {
        INTEGER => ("12 oder 1.500", "12 or 1.500"),
        MONEY => ("12,50 €", "12,50 €"),
        _ => ("12,5 oder 1.234,56", "12,5 or 1.234,56"),
    };
    match err {
        NumberError::Empty if code == MONEY => {
            Invalid::new(code, "Bitte geben Sie einen Betrag ein.", "Please enter an amount.")
        }
        NumberError::Empty => Invalid::new(code, "Bitte geben Sie eine Zahl ein.", "Please enter a number."),
        NumberError::NotANumber if code == MONEY => Invalid::new(
            code,
            format!("Bitte geben Sie einen Betrag in Euro ein, zum Beispiel {example_de}."),
            format!("Please enter an amount in euros, for example {example_en}."),
        ),
        NumberError::NotANumber if code == INTEGER => Invalid::new(
            code,
            format!("Bitte geben Sie eine ganze Zahl ein, zum Beispiel {example_de}."),
            format!("Please enter a whole number, for example {example_en}."),
        ),
        NumberError::NotANumber => Invalid::new(
            code,
            format!("Bitte geben Sie eine Zahl ein, zum Beispiel {example_de}."),
            format!("Please enter a number, for example {example_en}."),
        ),
        NumberError::TwoCommas => Invalid::new(
            code,
            format!("Bitte verwenden Sie nur ein Komma, zum Beispiel {example_de}."),
            format!("Please use only one decimal comma, for example {example_en}."),
        ),
        NumberError::Grouping => Invalid::new(
            code,
            format!(
                "Bitte setzen Sie Punkte nur zwischen Dreiergruppen von Ziffern oder lassen Sie sie weg, \
                 zum Beispiel {example_de}."
            ),
            format!(
                "Please use dots only between groups of three digits, or leave them out, for example {example_en}."
            ),
        ),
        NumberError::TooManyDigits => Invalid::new(
            code,
            "Diese Zahl hat zu viele Stellen.",
            "This number has too many digits.",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Dates

const DATE: &str = "invalid_date";

/// A date from the three inputs Tag, Monat and Jahr. Each message names the one problem the
/// citizen has to fix, in the order they read the fields.
pub fn date_parts(day: &str, month: &str, year: &str) -> Result<NaiveDate, Invalid> {
    // A trailing dot is how Germans write a day or month number ("28." "2.").
    let day = trim(trim(day).strip_suffix('.').unwrap_or(trim(day)));
    let month = trim(trim(month).strip_suffix('.').unwrap_or(trim(month)));
    let year = trim(year);
    if day.is_empty() || month.is_empty() || year.is_empty() {
        missing_date_parts(day, month, year)?;
    }
    let d = date_number(day, "den Tag", "day", "28", "28")?;
    let m = date_number(month, "den Monat", "month", "2 für Februar", "2 for February")?;
    let y = date_number(year, "das Jahr", "year", "2026", "2026")?;
    if !(1..=31).contains(&d) {
        return Err(Invalid::new(
            DATE,
            "Bitte geben Sie einen Tag zwischen 1 und 31 ein.",
            "Please enter a day between 1 and 31.",
        ));
    }
    if !(1..=12).contains(&m) {
        return Err(Invalid::new(
            DATE,
            "Bitte geben Sie einen Monat zwischen 1 und 12 ein.",
            "Please enter a month between 1 and 12.",
        ));
    }
    // "26" for 2026 is common, but guessing the century is wrong for birth dates.
    if year.len() != 4 {
        return Err(Invalid::new(
            DATE,
            "Bitte geben Sie das Jahr mit vier Ziffern ein, zum Beispiel 2026.",
            "Please enter the year with four digits, for example 2026.",
        ));
    }
    let y = i32::try_from(y).unwrap_or(i32::MAX);
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| impossible_day(d, m, y))
}

fn missing_date_parts(day: &str, month: &str, year: &str) -> Result<(), Invalid> {
    let names = [
        (day, "den Tag", "the day"),
        (month, "den Monat", "the month"),
        (year, "das Jahr", "the year"),
    ];
    let missing: Vec<_> = names.iter().filter(|(value, _, _)| value.is_empty()).collect();
    match missing.as_slice() {
        [] => Ok(()),
        [(_, de, en)] => Err(Invalid::new(
            DATE,
            format!("Bitte geben Sie auch {de} an."),
            format!("Please also enter {en}."),
        )),
        [(_, de1, en1), (_, de2, en2)] => Err(Invalid::new(
            DATE,
            format!("Bitte geben Sie auch {de1} und {de2} an."),
            format!("Please also enter {en1} and {en2}."),
        )),
        _ => Err(Invalid::new(
            DATE,
            "Bitte geben Sie ein Datum ein.",
            "Please enter a date.",
        )),
    }
}

/// Reads one part of a date. Too many digits to fit a `u32` is out of range, not "not a number":
/// the range check that follows says so.
fn date_number(value: &str, de: &str, en: &str, example_de: &str, example_en: &str) -> Result<u32, Invalid> {
    if !value.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::new(
            DATE,
            format!("Bitte geben Sie {de} als Zahl ein, zum Beispiel {example_de}."),
            format!("Please enter the {en} as a number, for example {example_en}."),
        ));
    }
    Ok(value.parse::<u32>().unwrap_or(u32::MAX))
}

fn impossible_day(day: u32, month: u32, year: i32) -> Invalid {
    let (de, en) = (month_name_de(month), month_name_en(month));
    if month == 2 && day == 29 {
        Invalid::new(
            DATE,
            format!("Den 29. Februar gibt es {year} nicht (kein Schaltjahr)."),
            format!("There is no 29 February in {year} (not a leap year)."),
        )
    } else {
        Invalid::new(
            DATE,
            format!("Den {day}. {de} gibt es nicht."),
            format!("There is no {day} {en}."),
        )
    }
}

/// A date typed as one text: ISO "2026-02-28" or German "28.02.2026" / "28.2.2026". The parts
/// go through [`date_parts`], so the messages are the same as for three fields.
pub fn date_text(input: &str) -> Result<NaiveDate, Invalid> {
    let s = trim(input);
    if s.is_empty() {
        return Err(Invalid::new(
            DATE,
            "Bitte geben Sie ein Datum ein.",
            "Please enter a date.",
        ));
    }
    let separator = if s.contains('.') { '.' } else { '-' };
    let mut split = s.split(separator);
    let parts = [split.next(), split.next(), split.next(), split.next()];
    // With a hyphen, a four-digit first part is ISO (year first); "28-02-2026" is day first.
    let iso = separator == '-' && parts[0].is_some_and(|p| trim(p).len() == 4);
    match (parts, iso) {
        ([Some(year), Some(month), Some(day), None], true) => date_parts(day, month, year),
        ([Some(year), Some(month), None, _], true) => date_parts("", month, year),
        ([Some(day), Some(month), Some(year), None], false) => date_parts(day, month, year),
        // "28.02" lacks the year: say so rather than "wrong form".
        ([Some(day), Some(month), None, _], false) => date_parts(day, month, ""),
        _ => Err(Invalid::new(
            DATE,
            "Bitte geben Sie das Datum in der Form TT.MM.JJJJ ein, zum Beispiel 28.02.2026.",
            "Please enter the date as DD.MM.YYYY, for example 28.02.2026.",
        )),
    }
}

const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The German name of a month (1 = Januar); an empty string outside 1..=12.
pub fn month_name_de(month: u32) -> &'static str {
    month_name(&MONTHS_DE, month)
}

/// The English name of a month (1 = January); an empty string outside 1..=12.
pub fn month_name_en(month: u32) -> &'static str {
    month_name(&MONTHS_EN, month)
}

fn month_name(names: &[&'static str; 12], month: u32) -> &'static str {
    let index = usize::try_from(month).ok().and_then(|m| m.checked_sub(1));
    index.and_then(|i| names.get(i)).copied().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test dates are valid")
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test decimals are valid")
    }

    fn de_message<T: std::fmt::Debug>(result: Result<T, Invalid>) -> String {
        result.expect_err("the input is invalid").de
    }

    #[test]
    fn plz_accepts_five_digits_and_trims() {
        assert_eq!(plz("24103"), Ok("24103".to_string()));
        assert_eq!(plz(" 01067 "), Ok("01067".to_string()));
    }

    #[test]
    fn plz_refuses_wrong_length_letters_and_00() {
        assert_eq!(
            de_message(plz("2410")),
            "Eine Postleitzahl hat fünf Ziffern; Sie haben 4 eingegeben."
        );
        assert_eq!(plz("241033").map_err(|e| e.code), Err("invalid_plz"));
        assert!(de_message(plz("D-24103")).contains("nur mit Ziffern"));
        assert!(de_message(plz("00123")).contains("nicht mit 00"));
        assert_eq!(de_message(plz("  ")), "Bitte geben Sie eine Postleitzahl ein.");
    }

    #[test]
    fn iban_accepts_spaces_and_lower_case() {
        let expected = Ok("DE89370400440532013000".to_string());
        assert_eq!(iban("DE89 3704 0044 0532 0130 00"), expected);
        assert_eq!(iban("de89370400440532013000"), expected);
        assert_eq!(iban("  DE89 37040044 0532013000 "), expected);
        assert_eq!(
            iban("GB82 WEST 1234 5698 7654 32"),
            Ok("GB82WEST12345698765432".to_string())
        );
    }

    #[test]
    fn iban_with_a_changed_digit_is_a_typo() {
        let err = iban("DE89 3704 0044 0532 0130 01").expect_err("one digit changed");
        assert_eq!(err.code, "invalid_iban");
        assert_eq!(
            err.de,
            "Die Prüfziffern der IBAN passen nicht. Bitte prüfen Sie die IBAN auf Tippfehler."
        );
    }

    #[test]
    fn iban_of_wrong_length_says_so() {
        assert_eq!(
            de_message(iban("DE89 3704 0044 0532 0130 0")),
            "Eine deutsche IBAN hat 22 Stellen: DE und 20 Ziffern. Sie haben 21 Stellen eingegeben."
        );
        // The checksum is right, but no country has the code XX.
        assert!(de_message(iban("XX46 3704 0044 0532 0130 00")).contains("„XX“"));
        assert!(de_message(iban("DE89-3704-0044-0532-0130-00")).contains("nur aus Buchstaben und Ziffern"));
        assert!(de_message(iban("1234")).contains("Ländercode"));
    }

    #[test]
    fn steuer_id_worked_example_is_valid() {
        assert_eq!(steuer_id("86095742719"), Ok("86095742719".to_string()));
        assert_eq!(steuer_id("86 095 742 719"), Ok("86095742719".to_string()));
        assert_eq!(steuer_id_check_digit(&[8, 6, 0, 9, 5, 7, 4, 2, 7, 1]), 9);
    }

    #[test]
    fn steuer_id_with_wrong_check_digit_is_refused() {
        let err = steuer_id("86095742718").expect_err("check digit 8 instead of 9");
        assert_eq!(err.code, "invalid_steuer_id");
        assert!(err.de.contains("Tippfehler"));
        // Two neighbouring digits swapped: the classic typo.
        assert!(steuer_id("68095742719").is_err());
    }

    /// Builds an ID with the right check digit, so that a test isolates the frequency rule.
    fn with_check_digit(first_ten: &str) -> String {
        let digits: Vec<u8> = first_ten.bytes().map(|b| b - b'0').collect();
        format!("{first_ten}{}", steuer_id_check_digit(&digits))
    }

    #[test]
    fn steuer_id_digit_frequency_rule() {
        // One digit three times, not in a row: allowed.
        assert!(steuer_id(&with_check_digit("1121345678")).is_ok());
        // Three in a row: refused even with the right check digit.
        assert!(steuer_id(&with_check_digit("1112345678")).is_err());
        // All ten digits different: refused.
        assert!(steuer_id(&with_check_digit("1234567890")).is_err());
        // Two digits repeated: refused.
        assert!(steuer_id(&with_check_digit("1122345678")).is_err());
        // A digit four times: refused.
        assert!(steuer_id(&with_check_digit("1121314567")).is_err());
    }

    #[test]
    fn steuer_id_length_leading_zero_and_letters() {
        assert_eq!(
            de_message(steuer_id("8609574271")),
            "Die Steuer-ID hat 11 Ziffern; Sie haben 10 eingegeben."
        );
        assert!(de_message(steuer_id(&with_check_digit("0860957427"))).contains("nicht mit 0"));
        assert!(de_message(steuer_id("86O95742719")).contains("nur aus Ziffern"));
    }

    #[test]
    fn kfz_canonical_form_when_split_is_clear() {
        assert_eq!(kfz_kennzeichen("KI-AB 123"), Ok("KI-AB 123".to_string()));
        assert_eq!(kfz_kennzeichen("ki ab 123"), Ok("KI-AB 123".to_string()));
        assert_eq!(kfz_kennzeichen("KI-AB123"), Ok("KI-AB 123".to_string()));
        assert_eq!(kfz_kennzeichen("m x 1e"), Ok("M-X 1E".to_string()));
        assert_eq!(kfz_kennzeichen("lö - ab  99h"), Ok("LÖ-AB 99H".to_string()));
        // Only one split possible: M-X, and MÜ-A (no umlauts after the district code).
        assert_eq!(kfz_kennzeichen("MX1"), Ok("M-X 1".to_string()));
        // MÜ-HA and MÜH-A are both possible.
        assert_eq!(kfz_kennzeichen("mühA 12"), Ok("MÜHA 12".to_string()));
        assert_eq!(kfz_kennzeichen("müa12"), Ok("MÜ-A 12".to_string()));
    }

    #[test]
    fn kfz_without_separator_keeps_the_input() {
        assert_eq!(kfz_kennzeichen("kiab123"), Ok("KIAB123".to_string()));
        assert_eq!(kfz_kennzeichen("KIAB 123"), Ok("KIAB 123".to_string()));
    }

    #[test]
    fn kfz_refuses_malformed_plates() {
        assert!(de_message(kfz_kennzeichen("KI-AB 0123")).contains("nicht mit 0"));
        assert!(de_message(kfz_kennzeichen("ABC-DE 1234")).contains("höchstens acht Zeichen"));
        assert!(de_message(kfz_kennzeichen("KI-ABC 123")).contains("in der Form KI-AB 123"));
        assert!(de_message(kfz_kennzeichen("KI-AB")).contains("in der Form KI-AB 123"));
        assert!(kfz_kennzeichen("straße 1").is_err());
        assert_eq!(kfz_kennzeichen("").map_err(|e| e.code), Err("invalid_kfz_kennzeichen"));
    }

    #[test]
    fn phone_accepts_the_usual_forms() {
        let kiel = Ok("+49431123456".to_string());
        for input in [
            "0431 123456",
            "0431/123456",
            "(0431) 12 34 56",
            "+49 431 123456",
            "0049 431 123456",
        ] {
            assert_eq!(phone(input), kiel, "{input}");
        }
        assert_eq!(phone("+49 (0)431 123456"), kiel);
        assert_eq!(phone("0431-12 34-56"), kiel);
        assert_eq!(phone("+44 20 7946 0958"), Ok("+442079460958".to_string()));
        assert_eq!(phone("0171 1234567"), Ok("+491711234567".to_string()));
    }

    #[test]
    fn phone_refuses_letters_missing_area_code_and_bad_lengths() {
        assert!(de_message(phone("0431 CALL ME")).contains("nur mit Ziffern"));
        assert!(de_message(phone("123456")).contains("mit Vorwahl"));
        assert!(de_message(phone("0431 12")).contains("zu kurz"));
        assert!(de_message(phone("+49 431 1234567890123")).contains("zu lang"));
        assert!(de_message(phone("+0431 123456")).contains("Landesvorwahl"));
        assert!(phone("0431 +123456").is_err());
        assert_eq!(phone("").map_err(|e| e.code), Err("invalid_phone"));
    }

    #[test]
    fn email_accepts_addresses_and_trims() {
        assert_eq!(email(" anna.schmidt@kiel.de "), Ok("anna.schmidt@kiel.de".to_string()));
        assert_eq!(
            email("buergerbuero+antrag@stadt-kiel.de"),
            Ok("buergerbuero+antrag@stadt-kiel.de".to_string())
        );
    }

    #[test]
    fn email_explains_the_expected_form() {
        assert!(de_message(email("anna.schmidt.kiel.de")).contains("fehlt das @-Zeichen"));
        assert_eq!(
            de_message(email("anna@kiel")),
            "Bitte geben Sie die E-Mail-Adresse in der Form name@beispiel.de ein."
        );
        assert!(email("anna@@kiel.de").is_err());
        assert!(de_message(email("anna schmidt@kiel.de")).contains("keine Leerzeichen"));
    }

    #[test]
    fn integer_reads_german_input() {
        assert_eq!(integer("1234"), Ok(1234));
        assert_eq!(integer("1.234"), Ok(1234));
        assert_eq!(integer("1.234.567"), Ok(1_234_567));
        assert_eq!(integer(" -5 "), Ok(-5));
        assert_eq!(integer("−5"), Ok(-5));
        assert_eq!(integer("-9.223.372.036.854.775.808"), Ok(i64::MIN));
    }

    #[test]
    fn integer_refuses_fractions_letters_and_overflow() {
        let err = integer("1,5").expect_err("not whole");
        assert_eq!(err.code, "invalid_integer");
        assert!(err.de.starts_with("Hier sind nur ganze Zahlen möglich."));
        assert!(de_message(integer("1.5")).contains("nur ganze Zahlen"));
        assert!(de_message(integer("zwölf")).contains("ganze Zahl"));
        assert!(de_message(integer("12.34.567")).contains("Dreiergruppen"));
        assert!(de_message(integer("9223372036854775808")).contains("zu viele Stellen"));
        assert_eq!(de_message(integer("")), "Bitte geben Sie eine Zahl ein.");
        assert!(integer("-").is_err());
    }

    #[test]
    fn decimal_reads_german_and_english_forms() {
        assert_eq!(decimal("1.234,56"), Ok(dec("1234.56")));
        assert_eq!(decimal("1234,56"), Ok(dec("1234.56")));
        assert_eq!(decimal("1234.56"), Ok(dec("1234.56")));
        assert_eq!(decimal("1.234"), Ok(dec("1234")));
        assert_eq!(decimal("1234.567"), Ok(dec("1234.567")));
        assert_eq!(decimal("-0,5"), Ok(dec("-0.5")));
        assert_eq!(decimal(",5"), Ok(dec("0.5")));
        assert_eq!(decimal("-0"), Ok(Decimal::ZERO));
        assert!(!decimal("-0,0").expect("zero").is_sign_negative());
    }

    #[test]
    fn decimal_refuses_two_commas_letters_and_empty() {
        let err = decimal("1,2,3").expect_err("two commas");
        assert_eq!(err.code, "invalid_decimal");
        assert!(err.de.contains("nur ein Komma"));
        assert!(de_message(decimal("12a")).starts_with("Bitte geben Sie eine Zahl ein"));
        assert_eq!(de_message(decimal("")), "Bitte geben Sie eine Zahl ein.");
        assert!(decimal("1,234.56").is_err());
        assert!(decimal(",").is_err());
        assert!(decimal(".").is_err());
        assert!(de_message(decimal(&"9".repeat(40))).contains("zu viele Stellen"));
    }

    #[test]
    fn money_accepts_currency_signs() {
        for input in [
            "12,50",
            "12,50 €",
            "€ 12,50",
            "12,50€",
            "EUR 12,50",
            "12,50 eur",
            "12.50",
        ] {
            assert_eq!(money(input), Ok(dec("12.50")), "{input}");
        }
        assert_eq!(money("1.234,56 €"), Ok(dec("1234.56")));
        assert_eq!(money("1.500"), Ok(dec("1500")));
    }

    #[test]
    fn money_refuses_cents_fractions_and_negative_amounts() {
        let err = money("12,505").expect_err("three decimals");
        assert_eq!(err.code, "invalid_money");
        assert_eq!(err.de, "Bitte geben Sie höchstens zwei Nachkommastellen (Cent) an.");
        assert!(de_message(money("-5 €")).contains("ohne Minuszeichen"));
        assert_eq!(de_message(money("€")), "Bitte geben Sie einen Betrag ein.");
        assert!(de_message(money("zwölf Euro")).contains("Betrag in Euro"));
        assert!(money("12 $").is_err());
    }

    #[test]
    fn date_parts_builds_dates() {
        assert_eq!(date_parts("28", "2", "2026"), Ok(date(2026, 2, 28)));
        assert_eq!(date_parts(" 01 ", "01", "2000"), Ok(date(2000, 1, 1)));
        assert_eq!(date_parts("29.", "2.", "2024"), Ok(date(2024, 2, 29)));
    }

    #[test]
    fn date_parts_names_the_impossible_day() {
        let err = date_parts("31", "2", "2026").expect_err("no 31 February");
        assert_eq!(err.code, "invalid_date");
        assert_eq!(err.de, "Den 31. Februar gibt es nicht.");
        assert_eq!(err.en, "There is no 31 February.");
        let err = date_parts("29", "2", "2026").expect_err("2026 is not a leap year");
        assert_eq!(err.de, "Den 29. Februar gibt es 2026 nicht (kein Schaltjahr).");
        assert_eq!(err.en, "There is no 29 February in 2026 (not a leap year).");
        assert_eq!(
            de_message(date_parts("31", "4", "2026")),
            "Den 31. April gibt es nicht."
        );
        assert_eq!(
            de_message(date_parts("29", "2", "1900")),
            "Den 29. Februar gibt es 1900 nicht (kein Schaltjahr)."
        );
    }

    #[test]
    fn date_parts_names_missing_and_malformed_parts() {
        assert_eq!(
            de_message(date_parts("28", "", "2026")),
            "Bitte geben Sie auch den Monat an."
        );
        assert_eq!(
            de_message(date_parts("", "", "2026")),
            "Bitte geben Sie auch den Tag und den Monat an."
        );
        assert_eq!(
            date_parts("28", "", "").expect_err("missing").en,
            "Please also enter the month and the year."
        );
        assert_eq!(de_message(date_parts(" ", "", "")), "Bitte geben Sie ein Datum ein.");
        assert!(de_message(date_parts("28", "Feb", "2026")).contains("den Monat als Zahl"));
        assert_eq!(
            de_message(date_parts("28", "13", "2026")),
            "Bitte geben Sie einen Monat zwischen 1 und 12 ein."
        );
        assert_eq!(
            de_message(date_parts("0", "1", "2026")),
            "Bitte geben Sie einen Tag zwischen 1 und 31 ein."
        );
        assert!(de_message(date_parts("28", "2", "26")).contains("vier Ziffern"));
        assert!(de_message(date_parts("28", "2", "99999999999")).contains("vier Ziffern"));
    }

    #[test]
    fn date_text_reads_iso_and_german() {
        assert_eq!(date_text("2026-02-28"), Ok(date(2026, 2, 28)));
        assert_eq!(date_text("28.02.2026"), Ok(date(2026, 2, 28)));
        assert_eq!(date_text(" 28.2.2026 "), Ok(date(2026, 2, 28)));
        assert_eq!(date_text("28-02-2026"), Ok(date(2026, 2, 28)));
    }

    #[test]
    fn date_text_has_the_same_messages() {
        let err = date_text("31.02.2026").expect_err("no 31 February");
        assert_eq!(err.de, "Den 31. Februar gibt es nicht.");
        assert_eq!(err.en, "There is no 31 February.");
        assert_eq!(
            de_message(date_text("2026-02-29")),
            "Den 29. Februar gibt es 2026 nicht (kein Schaltjahr)."
        );
        assert_eq!(de_message(date_text("28.02")), "Bitte geben Sie auch das Jahr an.");
        assert!(de_message(date_text("28022026")).contains("TT.MM.JJJJ"));
        assert!(de_message(date_text("28.02.2026.")).contains("TT.MM.JJJJ"));
        assert_eq!(de_message(date_text("")), "Bitte geben Sie ein Datum ein.");
    }

    #[test]
    fn month_names() {
        assert_eq!(month_name_de(3), "März");
        assert_eq!(month_name_en(12), "December");
        assert_eq!(month_name_de(0), "");
        assert_eq!(month_name_en(13), "");
    }

    #[test]
    fn huge_input_is_refused_without_panicking() {
        let huge = "9".repeat(1_000_000);
        assert!(plz(&huge).is_err());
        assert!(iban(&huge).is_err());
        assert!(steuer_id(&huge).is_err());
        assert!(kfz_kennzeichen(&huge).is_err());
        assert!(phone(&huge).is_err());
        assert!(email(&huge).is_err());
        assert!(integer(&huge).is_err());
        assert!(decimal(&huge).is_err());
        assert!(money(&huge).is_err());
        assert!(date_parts(&huge, &huge, &huge).is_err());
        assert!(date_text(&huge).is_err());
    }

    /// Writes an integer the way a German clerk would: with thousands dots.
    fn german_grouped(n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let grouped: Vec<&str> = digits
            .as_bytes()
            .rchunks(3)
            .rev()
            .filter_map(|g| std::str::from_utf8(g).ok())
            .collect();
        format!("{}{}", if n < 0 { "-" } else { "" }, grouped.join("."))
    }

    fn all_validators(s: &str) {
        let _ = plz(s);
        let _ = iban(s);
        let _ = steuer_id(s);
        let _ = kfz_kennzeichen(s);
        let _ = phone(s);
        let _ = email(s);
        let _ = integer(s);
        let _ = decimal(s);
        let _ = money(s);
        let _ = date_text(s);
        let _ = date_parts(s, s, s);
        let _ = date_parts(s, "2", "2026");
    }

    proptest! {
        #[test]
        fn no_validator_panics_on_any_string(s in any::<String>()) {
            all_validators(&s);
        }

        /// Strings made of the characters the parsers look at reach the deeper branches.
        #[test]
        fn no_validator_panics_on_near_miss_input(s in r"[0-9 .,+\-/()€EURDEHÄÖÜäöüa-z@]{0,40}") {
            all_validators(&s);
        }

        #[test]
        fn no_validator_panics_on_odd_date_parts(d in ".{0,6}", m in ".{0,6}", y in ".{0,8}") {
            let _ = date_parts(&d, &m, &y);
        }

        #[test]
        fn the_quick_trim_is_str_trim(s in r"[ \t\n\u{a0}\u{3000}a-z.]{0,6}|\PC{0,6}") {
            prop_assert_eq!(trim(&s), s.trim());
        }

        #[test]
        fn month_names_never_panic(m in any::<u32>()) {
            let _ = (month_name_de(m), month_name_en(m));
        }

        #[test]
        fn integer_reads_what_german_formatting_writes(n in any::<i64>()) {
            prop_assert_eq!(integer(&german_grouped(n)), Ok(n));
            prop_assert_eq!(integer(&n.to_string()), Ok(n));
        }

        #[test]
        fn money_reads_euro_and_cent(euros in 0i64..1_000_000_000_000, cents in 0u32..100) {
            let typed = format!("{},{cents:02} €", german_grouped(euros));
            let expected = Decimal::new(euros * 100 + i64::from(cents), 2);
            prop_assert_eq!(money(&typed), Ok(expected));
        }

        /// Short numbers are read without building a text for `Decimal::from_str`; the
        /// value and its scale (the decimal places stored) must be what it would give.
        #[test]
        fn short_numbers_read_as_decimal_from_str_would(
            negative in any::<bool>(),
            int in "[0-9]{0,12}",
            fraction in proptest::option::of("[0-9]{0,8}"),
        ) {
            let typed = format!("{}{int}{}", if negative { "-" } else { "" },
                fraction.as_ref().map(|f| format!(",{f}")).unwrap_or_default());
            let text = format!("{}{}{}", if negative { "-" } else { "" },
                if int.is_empty() { "0" } else { &int },
                fraction.as_ref().filter(|f| !f.is_empty()).map(|f| format!(".{f}")).unwrap_or_default());
            if let Ok(mut expected) = Decimal::from_str(&text) {
                if expected.is_zero() {
                    expected.set_sign_positive(true);
                }
                if let Ok(read) = decimal(&typed) {
                    prop_assert_eq!(read.to_string(), expected.to_string());
                    prop_assert_eq!(read.is_sign_negative(), expected.is_sign_negative());
                } else {
                    // Only input without any digit is refused.
                    prop_assert!(int.is_empty() && fraction.as_ref().is_none_or(|f| f.is_empty()));
                }
            }
        }

        /// The hand-written check for plain addresses never accepts what the validator crate
        /// refuses.
        #[test]
        fn plain_addresses_are_valid_for_the_validator_crate(s in r"[a-z0-9.+\-_]{0,8}@[a-zA-Z0-9.\-]{0,12}") {
            if let Some((local, domain)) = s.rsplit_once('@')
                && plain_local_part(local)
                && plain_domain(domain)
            {
                prop_assert!(s.validate_email(), "{}", s);
            }
        }

        #[test]
        fn date_text_reads_every_real_date(days in 0i64..3_000_000) {
            let day = date(1, 1, 1) + chrono::Days::new(days.unsigned_abs());
            if (1000..=9999).contains(&chrono::Datelike::year(&day)) {
                prop_assert_eq!(date_text(&day.format("%d.%m.%Y").to_string()), Ok(day));
                prop_assert_eq!(date_text(&day.format("%Y-%m-%d").to_string()), Ok(day));
            }
        }
    }
}
