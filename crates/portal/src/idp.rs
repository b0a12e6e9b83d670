//! The identity providers the portal offers and their step-by-step guides: the operator guides
//! of `docs/idp/` (English) and `docs/idp/de/` (German), compiled in, from the step after
//! "Create the connection in dirsync" (the portal did that) up to the first section that is
//! not a numbered step ("What happens in dirsync").

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::i18n::Lang;

pub struct Idp {
    /// The connection's IdP profile.
    pub profile: &'static str,
    pub name: &'static str,
    guide: &'static str,
    guide_de: &'static str,
}

pub static IDPS: &[Idp] = &[
    Idp {
        profile: "entra",
        name: "Microsoft Entra ID",
        guide: include_str!("../../../docs/idp/entra.md"),
        guide_de: include_str!("../../../docs/idp/de/entra.md"),
    },
    Idp {
        profile: "okta",
        name: "Okta",
        guide: include_str!("../../../docs/idp/okta.md"),
        guide_de: include_str!("../../../docs/idp/de/okta.md"),
    },
    Idp {
        profile: "google",
        name: "Google Workspace",
        guide: include_str!("../../../docs/idp/google.md"),
        guide_de: include_str!("../../../docs/idp/de/google.md"),
    },
    Idp {
        profile: "onelogin",
        name: "OneLogin",
        guide: include_str!("../../../docs/idp/onelogin.md"),
        guide_de: include_str!("../../../docs/idp/de/onelogin.md"),
    },
    Idp {
        profile: "pingone",
        name: "PingOne / PingFederate",
        guide: include_str!("../../../docs/idp/pingone.md"),
        guide_de: include_str!("../../../docs/idp/de/pingone.md"),
    },
    Idp {
        profile: "jumpcloud",
        name: "JumpCloud",
        guide: include_str!("../../../docs/idp/jumpcloud.md"),
        guide_de: include_str!("../../../docs/idp/de/jumpcloud.md"),
    },
    Idp {
        profile: "generic",
        name: "Other SCIM 2.0 client",
        guide: include_str!("../../../docs/idp/README.md"),
        guide_de: include_str!("../../../docs/idp/de/README.md"),
    },
];

pub fn find(profile: &str) -> Option<&'static Idp> {
    IDPS.iter().find(|i| i.profile == profile)
}

impl Idp {
    /// The guide in `lang`.
    fn guide(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.guide,
            Lang::De => self.guide_de,
        }
    }

    /// The steps of the guide in `lang` as HTML: headings one level down (the page owns h1
    /// and h2), relative links and raw HTML reduced to text.
    pub fn steps_html(&self, lang: Lang) -> String {
        let md = steps(self.guide(lang));
        let mut in_heading = false;
        let parser = Parser::new_ext(md, Options::ENABLE_TABLES).filter_map(move |e| match e {
            // The page numbers its own steps; the guide's "2." would read as a second step 2.
            Event::Text(text) if in_heading => {
                in_heading = false;
                let bare = text
                    .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                    .trim_start();
                Some(Event::Text(bare.to_owned().into()))
            }
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                in_heading = true;
                Some(Event::Start(Tag::Heading {
                    level: demote(level),
                    id,
                    classes,
                    attrs,
                }))
            }
            Event::End(TagEnd::Heading(level)) => Some(Event::End(TagEnd::Heading(demote(level)))),
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) | Event::End(TagEnd::Link | TagEnd::Image) => None,
            Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
            other => Some(other),
        });
        let mut out = String::new();
        pulldown_cmark::html::push_html(&mut out, parser);
        out
    }
}

fn demote(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 | HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        _ => HeadingLevel::H5,
    }
}

/// The part of a guide an IT admin follows in the IdP: the numbered sections from "2." on
/// (step 1 creates the connection, which the portal did), up to the first section that is not
/// numbered. A guide without numbered steps (the generic one) gives its first section on.
/// Only the headings' numbering counts, so the English and German guides split alike.
fn steps(guide: &str) -> &str {
    let sections: Vec<usize> = guide.match_indices("\n## ").map(|(i, _)| i).collect();
    let numbered = |i: usize| guide[i + 4..].starts_with(|c: char| c.is_ascii_digit());
    let start = guide.find("\n## 2.").or_else(|| sections.first().copied()).unwrap_or(0);
    let end = if guide[start..].starts_with("\n## 2.") {
        sections
            .iter()
            .copied()
            .find(|&i| i > start && !numbered(i))
            .unwrap_or(guide.len())
    } else {
        guide.len()
    };
    &guide[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the first step (done by the portal) and the first unnumbered section are called.
    const CUT: [(Lang, &str, &str); 2] = [
        (Lang::En, "Create the connection in dirsync", "What happens in dirsync"),
        (Lang::De, "Verbindung in dirsync anlegen", "Was in dirsync passiert"),
    ];

    fn count(html: &str, tag: &str) -> usize {
        html.matches(tag).count()
    }

    #[test]
    fn every_guide_has_steps_for_the_admin_in_both_languages() {
        for idp in IDPS {
            for (lang, first, after) in CUT {
                let guide = idp.guide(lang);
                assert!(
                    idp.profile == "generic" || (guide.contains(first) && guide.contains(after)),
                    "{} {lang:?}: the guide has lost its step 1 or its closing section",
                    idp.profile
                );
                let html = idp.steps_html(lang);
                let what = format!("{} {lang:?}: {html}", idp.profile);
                assert!(html.len() > 200, "{what}");
                assert!(!html.contains("<h1") && !html.contains("<h2"), "{what}");
                assert!(!html.contains(first) && !html.contains(after), "{what}");
                assert!(!html.contains("<a ") && !html.contains("<script"), "{what}");
            }
            // A faithful translation: the same steps, tables, rows and list items.
            let (en, de) = (idp.steps_html(Lang::En), idp.steps_html(Lang::De));
            assert_ne!(en, de, "{}", idp.profile);
            for tag in ["<h3", "<h4", "<table", "<tr", "<li"] {
                assert_eq!(count(&en, tag), count(&de, tag), "{}: {tag}", idp.profile);
            }
        }
        for (lang, profile, text) in [
            (Lang::En, "okta", "<h3>Create the app integration</h3>"),
            (Lang::En, "okta", "SCIM connector base URL"),
            (Lang::De, "okta", "<h3>App-Integration anlegen</h3>"),
            (Lang::De, "okta", "SCIM connector base URL"),
            (Lang::En, "entra", "<strong>Secret Token</strong>"),
            (Lang::De, "entra", "<strong>Secret Token</strong>"),
            (Lang::De, "entra", "Attributzuordnungen"),
            (Lang::De, "generic", "Was jeder IdP bekommt"),
        ] {
            let html = find(profile).unwrap().steps_html(lang);
            assert!(html.contains(text), "{profile} {lang:?} lacks {text}: {html}");
        }
    }
}
