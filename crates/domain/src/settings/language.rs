//! A user's language, normalised to one the tenant's product speaks.
//!
//! The IdP's `preferredLanguage` / `locale` stay in the SCIM document exactly as sent; this
//! module derives the value the product uses (`User.language` over gRPC):
//!
//! 1. Candidates, in order: every language range of `preferredLanguage` (RFC 7643 §4.1.1 gives
//!    it the Accept-Language format, e.g. `de-CH, en;q=0.8`: ordered by `q`, ties in the order
//!    written, `q=0` and `*` ignored), then `locale`.
//! 2. For the first candidate that matches anything: the supported tag equal to it (ignoring
//!    case and `_` vs `-`), else the longest supported tag that is a prefix of it
//!    (`en-GB-oxendict` -> `en-GB`), else the first supported tag of the same primary
//!    language (`de-AT` -> `de-DE`, `en` -> `en-GB`).
//! 3. Nothing matches (or nothing was sent): the tenant's default: its `default_language`,
//!    else its first supported language, else empty (no languages configured).

/// Why an administrator's language tag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a BCP 47 language tag (e.g. \"de-DE\", \"en\", \"zh-Hant-TW\")")]
pub struct BadTag(pub String);

/// `tag` in canonical case (`de-DE`, `zh-Hant-TW`, `sr-Latn`), with `_` read as `-`; refused
/// unless it has the shape of a BCP 47 tag: a 2–3 letter language, then subtags of 1–8
/// letters or digits.
pub fn canonical_tag(tag: &str) -> Result<String, BadTag> {
    let bad = || BadTag(tag.to_owned());
    let trimmed = tag.trim();
    if trimmed.is_empty() || trimmed.len() > 64 {
        return Err(bad());
    }
    let mut out: Vec<String> = Vec::new();
    // After a singleton (`x`, `u`, ...) subtags are extensions: lower case, no region rules.
    let mut in_extension = false;
    for (i, sub) in trimmed.split(['-', '_']).enumerate() {
        if sub.is_empty() || sub.len() > 8 || !sub.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        let lower = sub.to_ascii_lowercase();
        let alpha = sub.chars().all(|c| c.is_ascii_alphabetic());
        let digits = sub.chars().all(|c| c.is_ascii_digit());
        let canonical = if i == 0 {
            if !alpha || !(2..=3).contains(&sub.len()) {
                return Err(bad());
            }
            lower
        } else if in_extension {
            lower
        } else if sub.len() == 1 {
            in_extension = true;
            lower
        } else if alpha && sub.len() == 4 {
            // Script: title case.
            let mut c = lower.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        } else if (alpha && sub.len() == 2) || (digits && sub.len() == 3) {
            // Region.
            sub.to_ascii_uppercase()
        } else {
            lower
        };
        out.push(canonical);
    }
    Ok(out.join("-"))
}

/// The language ranges of an Accept-Language style value, best first.
fn ranges(value: &str) -> Vec<String> {
    let mut weighted: Vec<(u32, String)> = Vec::new();
    for item in value.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        if range.is_empty() || range == "*" {
            continue;
        }
        // q in thousandths; an unreadable q counts as 1 (the value was still sent).
        let mut q = 1000;
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
                    .map_or(1000, |q| (q * 1000.0).round() as u32);
            }
        }
        if q > 0 {
            weighted.push((q, range.to_owned()));
        }
    }
    // Stable: equal weights keep the order written.
    weighted.sort_by_key(|w| std::cmp::Reverse(w.0));
    weighted.into_iter().map(|(_, r)| r).collect()
}

/// The primary language subtag, lower case.
fn primary(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase()
}

/// `tag` with `_` read as `-`, lower case: the form tags are compared in.
fn key(tag: &str) -> String {
    tag.trim().replace('_', "-").to_ascii_lowercase()
}

/// The languages a tenant's product speaks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Languages {
    /// Canonical tags, in the tenant's order.
    pub supported: Vec<String>,
    /// One of `supported`, or empty.
    pub default: String,
}

impl Languages {
    /// The language of users who state none the tenant speaks.
    pub fn effective_default(&self) -> &str {
        if self.default.is_empty() {
            self.supported.first().map_or("", String::as_str)
        } else {
            &self.default
        }
    }

    /// The supported tag one candidate matches, if any (rule 2 of the module doc).
    fn matching(&self, candidate: &str) -> Option<&str> {
        let want = key(candidate);
        if want.is_empty() {
            return None;
        }
        if let Some(s) = self.supported.iter().find(|s| key(s) == want) {
            return Some(s);
        }
        let prefix = self
            .supported
            .iter()
            .filter(|s| want.starts_with(&format!("{}-", key(s))))
            .max_by_key(|s| s.len());
        if let Some(s) = prefix {
            return Some(s);
        }
        let p = primary(&want);
        self.supported.iter().find(|s| primary(s) == p).map(String::as_str)
    }

    /// The normalised language of a user who sent these values.
    pub fn normalise(&self, preferred_language: Option<&str>, locale: Option<&str>) -> String {
        let candidates = preferred_language
            .map(ranges)
            .unwrap_or_default()
            .into_iter()
            .chain(locale.map(str::to_owned));
        for c in candidates {
            if let Some(found) = self.matching(&c) {
                return found.to_owned();
            }
        }
        self.effective_default().to_owned()
    }

    /// The normalised language of a user's SCIM document (attribute names matched ignoring
    /// case, like SCIM does).
    pub fn of_document(&self, doc: &serde_json::Value) -> String {
        let get = |name: &str| {
            doc.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .and_then(|(_, v)| v.as_str())
        };
        self.normalise(get("preferredLanguage"), get("locale"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(supported: &[&str], default: &str) -> Languages {
        Languages {
            supported: supported.iter().map(|s| s.to_string()).collect(),
            default: default.into(),
        }
    }

    #[test]
    fn canonical_tags() {
        for (input, want) in [
            ("de-DE", Ok("de-DE")),
            ("DE-de", Ok("de-DE")),
            ("de_de", Ok("de-DE")),
            ("en", Ok("en")),
            (" en-gb ", Ok("en-GB")),
            ("zh-hant-tw", Ok("zh-Hant-TW")),
            ("es-419", Ok("es-419")),
            ("sr-LATN", Ok("sr-Latn")),
            ("de-CH-x-Phonebk", Ok("de-CH-x-phonebk")),
            ("", Err(())),
            ("german", Err(())),
            ("d", Err(())),
            ("de-", Err(())),
            ("de--DE", Err(())),
            ("de DE", Err(())),
            ("12-DE", Err(())),
            ("de-toolongsubtag", Err(())),
            ("de-DE, en", Err(())),
        ] {
            assert_eq!(
                canonical_tag(input).map_err(|_| ()),
                want.map(str::to_owned),
                "{input:?}"
            );
        }
    }

    #[test]
    fn accept_language_ranges() {
        for (input, want) in [
            ("de-CH", vec!["de-CH"]),
            ("de-CH, en;q=0.8", vec!["de-CH", "en"]),
            ("en;q=0.5, fr;q=0.9, de", vec!["de", "fr", "en"]),
            ("fr;q=0, it", vec!["it"]),
            ("*, en", vec!["en"]),
            ("da, en-gb;q=0.8, en;q=0.7", vec!["da", "en-gb", "en"]),
            ("", vec![]),
            ("de;q=bogus", vec!["de"]),
        ] {
            assert_eq!(ranges(input), want, "{input:?}");
        }
    }

    #[test]
    fn normalisation() {
        let de_en = tenant(&["de-DE", "en-GB"], "");
        let de_en_default_en = tenant(&["de-DE", "en-GB"], "en-GB");
        let none = tenant(&[], "");
        let en_variants = tenant(&["en-US", "en-GB"], "");
        for (langs, preferred, locale, want) in [
            // Exact, ignoring case and `_`.
            (&de_en, Some("de-DE"), None, "de-DE"),
            (&de_en, Some("DE-de"), None, "de-DE"),
            (&de_en, Some("en_gb"), None, "en-GB"),
            // Another region of a supported language.
            (&de_en, Some("de-AT"), None, "de-DE"),
            (&de_en, Some("en-US"), None, "en-GB"),
            (&de_en, Some("en"), None, "en-GB"),
            // Not spoken: the default (explicit, else the first supported).
            (&de_en, Some("fr-FR"), None, "de-DE"),
            (&de_en_default_en, Some("fr-FR"), None, "en-GB"),
            (&de_en_default_en, None, None, "en-GB"),
            // preferredLanguage first, then locale.
            (&de_en, Some("en-US"), Some("de-DE"), "en-GB"),
            (&de_en, Some("fr-FR"), Some("en_US"), "en-GB"),
            (&de_en, None, Some("de_AT"), "de-DE"),
            // Accept-Language lists: the first range that matches, by weight.
            (&de_en, Some("fr-CH, en;q=0.8"), None, "en-GB"),
            (&de_en, Some("de-CH, en;q=0.8"), None, "de-DE"),
            (&de_en, Some("de;q=0.2, en;q=0.9"), None, "en-GB"),
            // The longest supported prefix beats the first of the same language.
            (&en_variants, Some("en-GB-oxendict"), None, "en-GB"),
            (&en_variants, Some("en-AU"), None, "en-US"),
            // No languages configured: empty.
            (&none, Some("de-DE"), Some("de_DE"), ""),
            (&none, None, None, ""),
            // Garbage is simply not a match.
            (&de_en_default_en, Some(";;,"), Some(""), "en-GB"),
        ] {
            assert_eq!(
                langs.normalise(preferred, locale),
                want,
                "{langs:?} {preferred:?} {locale:?}"
            );
        }
    }

    #[test]
    fn documents_are_read_ignoring_attribute_case() {
        let langs = tenant(&["de-DE", "en-GB"], "");
        for (doc, want) in [
            (
                serde_json::json!({"preferredLanguage": "en-US", "locale": "de-AT"}),
                "en-GB",
            ),
            (serde_json::json!({"preferredlanguage": "en-US"}), "en-GB"),
            (serde_json::json!({"LOCALE": "en-IE"}), "en-GB"),
            (serde_json::json!({"preferredLanguage": 7}), "de-DE"),
            (serde_json::json!({}), "de-DE"),
        ] {
            assert_eq!(langs.of_document(&doc), want, "{doc}");
        }
    }
}
