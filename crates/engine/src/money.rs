//! Money: amounts are exact decimals and are rounded to the cent by one rule, everywhere.
//!
//! The rule is commercial rounding (kaufmännisches Runden, DIN 1333): a half cent rounds away
//! from zero, so 0.125 € is 0.13 € and -0.125 € is -0.13 €. Fees, their total, money answers,
//! computed values of type `money` and every amount a citizen reads go through [`round`].

use rust_decimal::{Decimal, RoundingStrategy};

/// `d` rounded to the cent, a half cent away from zero.
pub fn round(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `d` rounded to the cent and written with two places: `"30.70"`, `"-0.13"`.
pub fn format(d: Decimal) -> String {
    format!("{:.2}", round(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_cent_rounds_away_from_zero() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(round(d("0.125")), d("0.13"));
        assert_eq!(round(d("0.135")), d("0.14"));
        assert_eq!(round(d("-0.125")), d("-0.13"));
        assert_eq!(round(d("2.5049")), d("2.50"));
        assert_eq!(format(d("30.7")), "30.70");
        assert_eq!(format(d("0.125")), "0.13");
        assert_eq!(format(d("7")), "7.00");
    }
}
