//! Money and time as the API and the web app write them, in one place.
//!
//! Amounts are kept as whole cents (`i64`); the API writes them as decimal
//! strings (`"1500.00"`), the web app groups them for reading (`USD 1,500.00`).

use chrono::NaiveDate;

/// `1234` cents as `"12.34"` (the API's amount strings).
pub fn cents(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The digits after the decimal point `currency` is written with (ISO 4217
/// minor units): none for the yen and its like, three for the dinars, two
/// for the rest.
pub fn currency_decimals(currency: &str) -> usize {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// `1234.5` in `currency`, grouped, with the currency's own decimals:
/// `USD 1,234.50`, `JPY 1,235` (amounts are stored in hundredths: a yen
/// amount with a fraction keeps it, `JPY 1,234.50`, rather than hide it).
pub fn money(cents: i64, currency: &str) -> String {
    let units = cents / 100;
    let mut digits = units.abs().to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    let sign = if cents < 0 { "-" } else { "" };
    let fraction = (cents % 100).abs();
    let decimals = match currency_decimals(currency) {
        0 if fraction == 0 => String::new(),
        3 => format!(".{fraction:02}0"),
        _ => format!(".{fraction:02}"),
    };
    format!("{currency} {sign}{digits}{grouped}{decimals}")
}

/// An amount as a person types it, in the API's form: the grouping
/// (`12,500.50`, `12 500,50`, `12.500,50`, `12'500.50`) taken out and a
/// decimal comma made a point. Whichever of `.` and `,` comes last is the
/// decimal separator when both appear; alone, a `,` followed by exactly three
/// digits (or appearing twice) groups thousands, as does a `.` appearing
/// twice. Groups must be whole (`1,234,567`, not `12,50,0`): anything else is
/// left as typed for the API to refuse with its message.
pub fn ungrouped_amount(typed: &str) -> String {
    let s: String = typed
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\'' | '_' | '\u{a0}' | '\u{202f}'))
        .collect();
    let (commas, points) = (s.matches(',').count(), s.matches('.').count());
    let decimal = match (commas, points) {
        (0, 0) => return s,
        (0, 1) => Some('.'),
        (0, _) => None,
        (1, 0) if s.rsplit(',').next().is_some_and(|tail| tail.len() != 3) => Some(','),
        (_, 0) => None,
        _ if s.rfind(',') > s.rfind('.') => Some(','),
        _ => Some('.'),
    };
    let (whole, fraction) = match decimal {
        Some(d) => s.rsplit_once(d).map_or((s.as_str(), None), |(w, f)| (w, Some(f))),
        None => (s.as_str(), None),
    };
    let group = match decimal {
        Some('.') => ',',
        _ if commas > 0 && decimal.is_none() => ',',
        _ => '.',
    };
    let digits = whole.trim_start_matches('-');
    let mut groups = digits.split(group);
    let first_ok = groups
        .next()
        .is_some_and(|g| (1..=3).contains(&g.len()) || !digits.contains(group));
    if !first_ok || !groups.all(|g| g.len() == 3) || fraction.is_some_and(|f| f.contains([',', '.'])) {
        return typed.trim().to_string();
    }
    let mut plain = whole.replace(group, "");
    if let Some(f) = fraction {
        plain.push('.');
        plain.push_str(f);
    }
    plain
}

/// A calendar date as `YYYY-MM-DD`, empty when there is none.
pub fn date(d: &Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
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
    fn money_has_its_currencys_decimals() {
        assert_eq!(money(123_400, "JPY"), "JPY 1,234");
        assert_eq!(money(123_450, "JPY"), "JPY 1,234.50");
        assert_eq!(money(123_450, "KWD"), "KWD 1,234.500");
    }

    #[test]
    fn typed_amounts_lose_their_grouping() {
        for (typed, plain) in [
            ("12,500.50", "12500.50"),
            ("12 500,50", "12500.50"),
            ("12.500,50", "12500.50"),
            ("12'500.50", "12500.50"),
            ("1,234,567", "1234567"),
            ("1.234.567", "1234567"),
            ("12,500", "12500"),
            ("12,5", "12.5"),
            ("1500", "1500"),
            ("1500.5", "1500.5"),
            (" 7\u{a0}000 ", "7000"),
            ("abc", "abc"),
            ("-1,000", "-1000"),
            ("12,50,0.1.2", "12,50,0.1.2"),
            ("1,2345", "1.2345"),
        ] {
            assert_eq!(ungrouped_amount(typed), plain, "{typed}");
        }
    }

    #[test]
    fn money_is_grouped() {
        assert_eq!(money(0, "USD"), "USD 0.00");
        assert_eq!(money(123_456_789, "EUR"), "EUR 1,234,567.89");
        assert_eq!(money(100_000, "USD"), "USD 1,000.00");
        assert_eq!(money(5, "USD"), "USD 0.05");
    }
}
