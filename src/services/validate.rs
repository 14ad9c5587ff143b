//! Checks of values that arrive from clients. Each returns the normalized value
//! or a message for the field error; the caller names the field.

/// Text may not hold the NUL character: PostgreSQL cannot store it, so it is
/// refused on both backends alike (422 naming the field), never a 500. The
/// API's bodies and an import's cells say so in these words.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// A required text: trimmed, `1..=max` characters.
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(v.to_string())
}

/// An optional text: trimmed; empty becomes `None`.
pub fn optional_text(value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required_text(v, max).map(Some),
    }
}

/// An email address: trimmed and lower-cased. Deliberately practical rather
/// than RFC 5322-complete: one `@`, a non-empty local part without spaces, and a
/// domain of dot-separated labels.
pub fn email(value: &str) -> Result<String, String> {
    let v = value.trim().to_lowercase();
    let invalid = || Err("not a valid email address".to_string());
    if v.len() > 254 {
        return invalid();
    }
    let Some((local, domain)) = v.rsplit_once('@') else {
        return invalid();
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok { Ok(v) } else { invalid() }
}

/// An absolute `http` or `https` URL of at most 2,000 characters.
pub fn web_url(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    let ok = url.chars().count() <= 2000
        && (url.starts_with("https://") || url.starts_with("http://"))
        && url.split_once("://").is_some_and(|(_, rest)| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !host.contains(char::is_whitespace)
        })
        && !url.contains(char::is_whitespace);
    if ok {
        Ok(url.to_string())
    } else {
        Err("must be an http or https URL".into())
    }
}

/// Password rules of api.md §3: 8..128 characters, at least one letter and one
/// digit, not the email address.
pub fn password(password: &str, email: &str) -> Result<(), String> {
    let len = password.chars().count();
    if !(8..=128).contains(&len) {
        return Err("must be 8 to 128 characters long".into());
    }
    if !password.chars().any(char::is_alphabetic) || !password.chars().any(|c| c.is_ascii_digit()) {
        return Err("must contain at least one letter and one digit".into());
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err("must not be the email address".into());
    }
    Ok(())
}

/// A phone number as read: E.164, its national digits (also a search word,
/// api.md §5) and the extension typed after it (`ext. 12`, `x12`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub e164: String,
    pub national: String,
    pub extension: Option<String>,
}

/// A phone number normalized to E.164: one written with its country code
/// (`+33 1 42 68 53 00`, `0033 …`) is read as such, any other with
/// `default_country`. An extension is kept apart, never dropped.
pub fn phone(value: &str, default_country: &str) -> Result<Phone, String> {
    use std::str::FromStr;
    let invalid = || "not a valid phone number".to_string();
    let value = value.trim();
    // The crate reads `+33 …` as a French number only without a default
    // country; `00` is the international prefix of most countries.
    let (country, value) = match value.strip_prefix("00") {
        _ if value.starts_with('+') => (None, value.to_string()),
        Some(rest) if value.len() > 8 => (None, format!("+{rest}")),
        _ => (
            phonenumber::country::Id::from_str(default_country).ok(),
            value.to_string(),
        ),
    };
    let number = phonenumber::parse(country, &value).map_err(|_| invalid())?;
    if !number.is_valid() {
        return Err(invalid());
    }
    Ok(Phone {
        e164: number.format().mode(phonenumber::Mode::E164).to_string(),
        national: number.national().to_string(),
        extension: number.extension().map(|e| e.to_string()),
    })
}

/// A stored E.164 number as people read it: `+1 415-555-0134`, with its
/// extension (`+1 415-555-0134 ext. 12`); as stored when it cannot be read.
pub fn phone_for_reading(e164: &str, extension: Option<&str>) -> String {
    let number = phonenumber::parse(None, e164)
        .map(|n| n.format().mode(phonenumber::Mode::International).to_string())
        .unwrap_or_else(|_| e164.to_string());
    match extension {
        Some(ext) => format!("{number} ext. {ext}"),
        None => number,
    }
}

/// A phone extension: 1..10 digits.
pub fn phone_extension(value: &str) -> Result<String, String> {
    let value = value.trim();
    if (1..=10).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err("must be 1 to 10 digits".to_string())
    }
}

/// An ISO 4217 currency code, in any case; returned upper-case.
pub fn currency(value: &str) -> Result<String, String> {
    code_in(CURRENCIES, value).ok_or_else(|| "not an ISO 4217 currency code".into())
}

/// An ISO 3166-1 alpha-2 country code, in any case; returned upper-case.
pub fn country(value: &str) -> Result<String, String> {
    code_in(COUNTRIES, value).ok_or_else(|| "not an ISO 3166-1 alpha-2 country code".into())
}

/// Every currency code [`currency`] accepts (upper-case), for the API's schemas.
pub fn currency_codes() -> impl Iterator<Item = &'static str> {
    CURRENCIES.split_ascii_whitespace()
}

/// Every country code [`country`] accepts (upper-case), for the API's schemas.
pub fn country_codes() -> impl Iterator<Item = &'static str> {
    COUNTRIES.split_ascii_whitespace()
}

/// `value` upper-cased, when it is one of the space-separated `codes`.
fn code_in(codes: &str, value: &str) -> Option<String> {
    let code = value.trim().to_ascii_uppercase();
    codes.split_ascii_whitespace().any(|c| c == code).then_some(code)
}

/// Active ISO 4217 codes (funds and precious metals included, the testing and
/// "no currency" codes XTS and XXX left out).
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV \
    BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD \
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD \
    JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU \
    MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB \
    RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD \
    TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF \
    XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL";

/// ISO 3166-1 alpha-2 codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM \
    BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO \
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK \
    HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI \
    LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF \
    NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE \
    SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
    UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("  John.Smith@Acme.COM ").unwrap(), "john.smith@acme.com");
        for bad in [
            "",
            "a",
            "a@b",
            "@acme.com",
            "a b@acme.com",
            "a@acme..com",
            "a@-acme.com",
            "a@@acme.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn passwords() {
        assert!(password("abcdefg1", "x@y.z").is_ok());
        assert!(password("abcdefgh", "x@y.z").is_err());
        assert!(password("12345678", "x@y.z").is_err());
        assert!(password("ab1", "x@y.z").is_err());
        assert!(password(&"a1".repeat(65), "x@y.z").is_err());
        assert!(password("Me1@acme.com", "me1@acme.com").is_err());
    }

    #[test]
    fn codes() {
        assert_eq!(currency("inr").unwrap(), "INR");
        assert!(currency("ABC").is_err());
        assert!(currency("XTS").is_err());
        assert_eq!(country("de").unwrap(), "DE");
        assert!(country("XX").is_err());
        assert_eq!(CURRENCIES.split_ascii_whitespace().count(), 180);
        assert_eq!(COUNTRIES.split_ascii_whitespace().count(), 249);
    }

    #[test]
    fn phones() {
        assert_eq!(
            phone("(415) 555-0100", "US").unwrap(),
            Phone {
                e164: "+14155550100".into(),
                national: "4155550100".into(),
                extension: None
            }
        );
        assert_eq!(phone("+44 20 7946 0958", "US").unwrap().e164, "+442079460958");
        assert_eq!(phone("030 12345678", "DE").unwrap().e164, "+493012345678");
        // International numbers whatever the default country.
        assert_eq!(phone("+33 1 42 68 53 00", "US").unwrap().e164, "+33142685300");
        assert_eq!(phone("+353 1 234 5678", "US").unwrap().e164, "+35312345678");
        assert_eq!(phone("0033 1 42 68 53 00", "US").unwrap().e164, "+33142685300");
        // Extensions are kept.
        let with_ext = phone("+1 415 555 0134 ext. 12", "US").unwrap();
        assert_eq!(
            (with_ext.e164.as_str(), with_ext.extension.as_deref()),
            ("+14155550134", Some("12"))
        );
        assert_eq!(phone("415-555-0134 x7", "US").unwrap().extension.as_deref(), Some("7"));
        assert_eq!(phone_for_reading("+14155550134", Some("12")), "+1 415-555-0134 ext. 12");
        assert_eq!(phone_for_reading("+33142685300", None), "+33 1 42 68 53 00");
        assert!(phone_extension("12a").is_err());
        assert!(phone("12", "US").is_err());
        assert!(phone("not a phone", "US").is_err());
    }

    #[test]
    fn texts() {
        assert_eq!(required_text("  hi ", 5).unwrap(), "hi");
        assert!(required_text("   ", 5).is_err());
        assert!(required_text("abcdef", 5).is_err());
        assert_eq!(optional_text(Some("  "), 5).unwrap(), None);
        assert_eq!(optional_text(None, 5).unwrap(), None);
    }
}
