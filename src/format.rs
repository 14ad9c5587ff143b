//! Money and time as the API and the web app write them, in one place.
//!
//! Amounts are kept as whole cents (`i64`); the API writes them as decimal
//! strings (`"1500.00"`), the web app groups them for reading (`USD 1,500.00`).

use chrono::{DateTime, NaiveDate, Utc};

/// `1234` cents as `"12.34"` (the API's amount strings).
pub fn cents(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// `1234.5` in `currency`, grouped: `USD 1,234.50`.
pub fn money(cents: i64, currency: &str) -> String {
    let units = cents / 100;
    let mut digits = units.abs().to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    let sign = if cents < 0 { "-" } else { "" };
    format!("{currency} {sign}{digits}{grouped}.{:02}", (cents % 100).abs())
}

/// A calendar date as `YYYY-MM-DD`, empty when there is none.
pub fn date(d: &Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// A moment as `YYYY-MM-DD HH:MM` (UTC).
pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_as_decimal_strings() {
        assert_eq!(cents(150_000), "1500.00");
        assert_eq!(cents(5), "0.05");
    }

    #[test]
    fn money_is_grouped() {
        assert_eq!(money(0, "USD"), "USD 0.00");
        assert_eq!(money(123_456_789, "EUR"), "EUR 1,234,567.89");
        assert_eq!(money(100_000, "USD"), "USD 1,000.00");
        assert_eq!(money(5, "USD"), "USD 0.05");
    }
}
