//! The configuration file (`--config FILE` or `DIRSYNC_CONFIG`): dotenv-format `NAME=value`
//! lines with the names of the environment variables in the README table.
//!
//! The file is read with `dotenvy`'s iterator (never written into the process environment) and
//! each value becomes the *default* of the clap argument that reads that environment variable.
//! Clap's own order then gives the precedence: flag, environment, file, built-in default; the
//! file and the flags cannot disagree on what a setting means or how it is parsed.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, bail};
use clap::{ArgMatches, Command};

/// Names the file may hold that are not flags: read by the logging and OpenTelemetry set-up
/// from the environment only, so in the file they are accepted and ignored, as before.
fn environment_only(name: &str) -> bool {
    name == "RUST_LOG" || name == "DIRSYNC_CONFIG" || name.starts_with("OTEL_")
}

/// Parses the command line of `cmd`, with the settings of the configuration file as defaults.
/// Help, version and usage errors exit the process, as `Parser::parse` does.
pub fn matches(cmd: Command, argv: &[OsString]) -> anyhow::Result<(Command, ArgMatches)> {
    let mut cmd = match config_path(&cmd, argv) {
        Some(path) => with_file(cmd, Path::new(&path))?,
        None => cmd,
    };
    let matches = cmd.try_get_matches_from_mut(argv).unwrap_or_else(|e| e.exit());
    Ok((cmd, matches))
}

/// The file named by `--config` or `DIRSYNC_CONFIG`, found by a lenient parse of the command
/// line (a usage error is reported by the real parse afterwards).
fn config_path(cmd: &Command, argv: &[OsString]) -> Option<OsString> {
    let matches = cmd.clone().ignore_errors(true).try_get_matches_from(argv).ok()?;
    let mut matches = &matches;
    // `--config` is global: given after a subcommand, it is found in that subcommand's matches.
    let mut found = matches.get_raw("config").and_then(|mut v| v.next()).map(OsString::from);
    while let Some((_, sub)) = matches.subcommand() {
        matches = sub;
        if let Some(v) = matches.get_raw("config").and_then(|mut v| v.next()) {
            found = Some(v.to_owned());
        }
    }
    found
}

/// `cmd` with the file's settings as defaults of the arguments reading the same environment
/// variables, in every subcommand.
pub fn with_file(cmd: Command, path: &Path) -> anyhow::Result<Command> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {shown}"))?;
    let settings = parse(&text).with_context(|| format!("in {shown}"))?;
    let mut used = HashSet::new();
    let cmd = with_defaults(cmd, &settings, &mut used);
    if let Some((name, _)) = settings
        .iter()
        .find(|(name, _)| !used.contains(name) && !environment_only(name))
    {
        bail!("{shown}: unknown setting {name}");
    }
    Ok(cmd)
}

/// The `NAME=value` pairs of a dotenv file: `#` comments, values optionally in single quotes
/// (literal) or double quotes (`\` escapes), `$NAME` expanded outside single quotes. A line
/// that does not parse is named by its number only: it may hold a secret.
pub fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    dotenvy::from_read_iter(text.as_bytes())
        .map(|item| {
            item.map_err(|e| match e {
                // dotenvy names the line (or only its value) by content: find its number.
                dotenvy::Error::LineParse(line, _) => {
                    let number = text
                        .lines()
                        .position(|l| l.contains(line.trim()))
                        .map_or_else(|| "a line".to_owned(), |i| format!("line {}", i + 1));
                    anyhow::anyhow!("{number}: expected NAME=value (quote a value with spaces)")
                }
                other => anyhow::Error::new(other),
            })
        })
        .collect()
}

/// Sets, in `cmd` and all its subcommands, the default of every argument whose environment
/// variable the file names (the last line of a name wins); `used` collects the names applied.
fn with_defaults(mut cmd: Command, settings: &[(String, String)], used: &mut HashSet<String>) -> Command {
    let defaults: Vec<_> = cmd
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_str()?;
            let (name, value) = settings.iter().rev().find(|(name, _)| name == env)?;
            Some((
                arg.get_id().clone(),
                name.clone(),
                value.clone(),
                arg.is_hide_env_values_set(),
            ))
        })
        .collect();
    for (id, name, value, secret) in defaults {
        // A secret from the file must not show up in `--help` as a default.
        cmd = cmd.mut_arg(id, |arg| arg.default_value(value).hide_default_value(secret));
        used.insert(name);
    }
    let subcommands: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, |sub| with_defaults(sub, settings, used));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use clap::{Arg, ArgAction, Command};

    use super::*;

    /// Environment names no test process sets, so only flag, file and default compete here;
    /// the environment's place in the order is tested through the real binary (e2e `cli`).
    fn cmd() -> Command {
        Command::new("dirsync")
            .arg(Arg::new("config").long("config").global(true))
            .subcommand(
                Command::new("serve")
                    .arg(
                        Arg::new("scim_addr")
                            .long("scim-addr")
                            .env("DIRSYNC_UNIT_SCIM_ADDR")
                            .default_value("127.0.0.1:8080"),
                    )
                    .arg(
                        Arg::new("sync_log")
                            .long("sync-log")
                            .env("DIRSYNC_UNIT_SYNC_LOG")
                            .action(ArgAction::Set)
                            .value_parser(clap::value_parser!(bool))
                            .default_value("true"),
                    )
                    .arg(
                        Arg::new("origins")
                            .long("origins")
                            .env("DIRSYNC_UNIT_ORIGINS")
                            .value_delimiter(','),
                    )
                    .arg(
                        Arg::new("secret")
                            .long("secret")
                            .env("DIRSYNC_UNIT_SECRET")
                            .hide_env_values(true),
                    ),
            )
            .subcommand(
                Command::new("admin").subcommand(
                    Command::new("tenant").arg(
                        Arg::new("core_url")
                            .long("core-url")
                            .env("DIRSYNC_UNIT_CORE_URL")
                            .global(true),
                    ),
                ),
            )
    }

    fn file(text: &str) -> tempfile::TempPath {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut f, text.as_bytes()).expect("write");
        f.into_temp_path()
    }

    /// The `serve` matches for this file (or none) and these flags.
    fn serve(text: Option<&str>, flags: &[&str]) -> anyhow::Result<ArgMatches> {
        let path = text.map(file);
        let mut argv: Vec<OsString> = vec!["dirsync".into(), "serve".into()];
        if let Some(path) = &path {
            argv.push("--config".into());
            argv.push(path.as_os_str().to_owned());
        }
        argv.extend(flags.iter().map(OsString::from));
        let cmd = match config_path(&cmd(), &argv) {
            Some(p) => with_file(cmd(), Path::new(&p))?,
            None => cmd(),
        };
        let matches = cmd.try_get_matches_from(argv)?;
        Ok(matches.subcommand_matches("serve").cloned().expect("serve"))
    }

    fn one(m: &ArgMatches, id: &str) -> String {
        m.get_one::<String>(id).cloned().unwrap_or_default()
    }

    #[test]
    fn flag_beats_file_beats_default() {
        // (file, flags, expected --scim-addr)
        let rows: &[(Option<&str>, &[&str], &str)] = &[
            (None, &[], "127.0.0.1:8080"),
            (Some("DIRSYNC_UNIT_SCIM_ADDR=0.0.0.0:1\n"), &[], "0.0.0.0:1"),
            (
                Some("DIRSYNC_UNIT_SCIM_ADDR=0.0.0.0:1\n"),
                &["--scim-addr", "0.0.0.0:2"],
                "0.0.0.0:2",
            ),
            (
                Some("DIRSYNC_UNIT_SCIM_ADDR=0.0.0.0:1\n"),
                &["--scim-addr=0.0.0.0:3"],
                "0.0.0.0:3",
            ),
            (Some("# nothing\n"), &[], "127.0.0.1:8080"),
            (None, &["--scim-addr", "0.0.0.0:4"], "0.0.0.0:4"),
            // The last line of a name wins, as in a shell.
            (Some("DIRSYNC_UNIT_SCIM_ADDR=a\nDIRSYNC_UNIT_SCIM_ADDR=b\n"), &[], "b"),
        ];
        for (text, flags, expected) in rows {
            let m = serve(*text, flags).unwrap_or_else(|e| panic!("{text:?} {flags:?}: {e}"));
            assert_eq!(one(&m, "scim_addr"), *expected, "{text:?} {flags:?}");
        }
    }

    #[test]
    fn file_format() {
        // (file, expected --scim-addr)
        let rows: &[(&str, &str)] = &[
            ("DIRSYNC_UNIT_SCIM_ADDR=plain", "plain"),
            ("  DIRSYNC_UNIT_SCIM_ADDR = spaced  ", "spaced"),
            ("# a comment\n\nDIRSYNC_UNIT_SCIM_ADDR=after-blank", "after-blank"),
            ("DIRSYNC_UNIT_SCIM_ADDR=\"double quoted\"", "double quoted"),
            ("DIRSYNC_UNIT_SCIM_ADDR='single quoted'", "single quoted"),
            ("DIRSYNC_UNIT_SCIM_ADDR='$literal'", "$literal"),
            ("DIRSYNC_UNIT_SCIM_ADDR=value # trailing comment", "value"),
            ("DIRSYNC_UNIT_SCIM_ADDR=\"a=b#c\"", "a=b#c"),
            ("export DIRSYNC_UNIT_SCIM_ADDR=exported", "exported"),
            // Names read only from the environment are accepted and ignored.
            ("RUST_LOG=debug\nOTEL_SERVICE_NAME=x\nDIRSYNC_UNIT_SCIM_ADDR=ok", "ok"),
        ];
        for (text, expected) in rows {
            let m = serve(Some(text), &[]).unwrap_or_else(|e| panic!("{text:?}: {e:#}"));
            assert_eq!(one(&m, "scim_addr"), *expected, "{text:?}");
        }
    }

    #[test]
    fn bad_files_are_refused_with_the_line() {
        // (file, part of the error)
        let rows: &[(&str, &str)] = &[
            ("DIRSYNC_NOPE=1\n", "unknown setting DIRSYNC_NOPE"),
            ("# ok\nno equals sign\n", "line 2: expected NAME=value"),
            ("DIRSYNC_UNIT_SECRET=two words\n", "line 1: expected NAME=value"),
            ("DIRSYNC_UNIT_SCIM_ADDR=\"unterminated\n", "expected NAME=value"),
        ];
        for (text, expected) in rows {
            let e = serve(Some(text), &[]).expect_err(text);
            let e = format!("{e:#}");
            assert!(e.contains(expected), "{text:?}: {e}");
            assert!(!e.contains("two words"), "a refused line is not echoed: {e}");
        }
        assert!(
            format!("{:#}", serve(Some("x"), &[]).map(|_| ()).unwrap_err()).contains("in /"),
            "the error names the file"
        );
    }

    #[test]
    fn values_are_parsed_as_flags_are() {
        let m = serve(
            Some("DIRSYNC_UNIT_SYNC_LOG=false\nDIRSYNC_UNIT_ORIGINS=https://a.example,https://b.example\n"),
            &[],
        )
        .expect("parses");
        assert_eq!(m.get_one::<bool>("sync_log"), Some(&false));
        let origins: Vec<&String> = m.get_many::<String>("origins").expect("origins").collect();
        assert_eq!(origins, ["https://a.example", "https://b.example"]);
        // A value the argument refuses is refused as a flag would be.
        assert!(serve(Some("DIRSYNC_UNIT_SYNC_LOG=maybe\n"), &[]).is_err());
    }

    #[test]
    fn secrets_from_the_file_stay_out_of_help() {
        let path = file("DIRSYNC_UNIT_SECRET=hunter2\nDIRSYNC_UNIT_SCIM_ADDR=0.0.0.0:9\n");
        let mut cmd = with_file(cmd(), &path).expect("file");
        let serve = cmd.find_subcommand_mut("serve").expect("serve");
        let help = serve.render_long_help().to_string();
        assert!(!help.contains("hunter2"), "{help}");
        assert!(help.contains("0.0.0.0:9"), "{help}");
    }

    #[test]
    fn config_after_a_nested_subcommand_reaches_global_args() {
        let path = file("DIRSYNC_UNIT_CORE_URL=http://from-file:1\n");
        let argv: Vec<OsString> = ["dirsync", "admin", "tenant", "--config"]
            .iter()
            .map(OsString::from)
            .chain([path.as_os_str().to_owned()])
            .collect();
        let (_, m) = matches(cmd(), &argv).expect("parses");
        let tenant = m
            .subcommand_matches("admin")
            .and_then(|a| a.subcommand_matches("tenant"))
            .expect("tenant");
        assert_eq!(one(tenant, "core_url"), "http://from-file:1");
    }
}
