//! The identity providers the portal offers and their step-by-step guides: the operator guides
//! of `docs/idp/`, compiled in, from the step after "Create the connection in dirsync" (the
//! portal did that) up to "What happens in dirsync".

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

pub struct Idp {
    /// The connection's IdP profile.
    pub profile: &'static str,
    pub name: &'static str,
    guide: &'static str,
}

pub static IDPS: &[Idp] = &[
    Idp {
        profile: "entra",
        name: "Microsoft Entra ID",
        guide: include_str!("../../../docs/idp/entra.md"),
    },
    Idp {
        profile: "okta",
        name: "Okta",
        guide: include_str!("../../../docs/idp/okta.md"),
    },
    Idp {
        profile: "google",
        name: "Google Workspace",
        guide: include_str!("../../../docs/idp/google.md"),
    },
    Idp {
        profile: "onelogin",
        name: "OneLogin",
        guide: include_str!("../../../docs/idp/onelogin.md"),
    },
    Idp {
        profile: "pingone",
        name: "PingOne / PingFederate",
        guide: include_str!("../../../docs/idp/pingone.md"),
    },
    Idp {
        profile: "jumpcloud",
        name: "JumpCloud",
        guide: include_str!("../../../docs/idp/jumpcloud.md"),
    },
    Idp {
        profile: "generic",
        name: "Other SCIM 2.0 client",
        guide: include_str!("../../../docs/idp/README.md"),
    },
];

pub fn find(profile: &str) -> Option<&'static Idp> {
    IDPS.iter().find(|i| i.profile == profile)
}

impl Idp {
    /// The steps of the guide as HTML: headings one level down (the page owns h1 and h2),
    /// relative links and raw HTML reduced to text.
    pub fn steps_html(&self) -> String {
        let md = steps(self.guide);
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

/// The part of a guide an IT admin follows in the IdP.
fn steps(guide: &str) -> &str {
    let start = guide
        .find("\n## 2.")
        .or_else(|| guide.find("\n## What every IdP gets"))
        .unwrap_or(0);
    let rest = &guide[start..];
    let end = rest.find("\n## What happens in dirsync").unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guide_has_steps_for_the_admin() {
        for idp in IDPS {
            let html = idp.steps_html();
            assert!(html.len() > 200, "{}: {html}", idp.profile);
            assert!(!html.contains("<h1") && !html.contains("<h2"), "{}", idp.profile);
            assert!(!html.contains("Create the connection in dirsync"), "{}", idp.profile);
            assert!(!html.contains("<a "), "{}", idp.profile);
            assert!(!html.contains("<script"), "{}", idp.profile);
        }
        let okta = find("okta").unwrap().steps_html();
        assert!(okta.contains("SCIM connector base URL"));
        assert!(okta.contains("<h3>Create the app integration</h3>"), "{okta}");
    }
}
