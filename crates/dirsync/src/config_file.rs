//! The configuration file: `NAME=value` lines with the same names as the environment
//! variables of the README table. Precedence: flag, then environment, then file, then default.
//! The file is turned into flags before parsing, using clap's own argument metadata, so the
//! file and the flags can never disagree on what a setting means.

use std::ffi::OsString;

use anyhow::{Context, bail};
use clap::Command;

/// Parses `NAME=value` lines; `#` starts a comment; values may be quoted.
pub fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            bail!("line {}: expected NAME=value", n + 1);
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        out.push((name.trim().to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// The command line with the settings of the configuration file added as flags, for those
/// settings that neither a flag nor the environment gives.
pub fn apply(cmd: &Command, argv: Vec<OsString>) -> anyhow::Result<Vec<OsString>> {
    let mut argv = argv;
    let mut path: Option<OsString> = std::env::var_os("DIRSYNC_CONFIG");
    if let Some(i) = argv.iter().position(|a| a == "--config") {
        argv.remove(i);
        if i >= argv.len() {
            bail!("--config needs a file");
        }
        path = Some(argv.remove(i));
    } else if let Some(i) = argv.iter().position(|a| a.to_string_lossy().starts_with("--config=")) {
        let a = argv.remove(i);
        path = Some(OsString::from(
            a.to_string_lossy().trim_start_matches("--config=").to_owned(),
        ));
    }
    let Some(path) = path else { return Ok(argv) };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.to_string_lossy()))?;
    let settings = parse(&text).with_context(|| format!("in {}", path.to_string_lossy()))?;

    // The subcommand the settings go to (no subcommand means `serve`).
    let sub_at = argv
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))
        .map(|i| i + 1);
    let sub_name = match sub_at {
        Some(i) => argv[i].to_string_lossy().into_owned(),
        None => {
            argv.insert(1, OsString::from("serve"));
            "serve".to_owned()
        }
    };
    let insert_at = argv
        .iter()
        .position(|a| a.to_string_lossy() == sub_name)
        .map_or(argv.len(), |i| i + 1);
    let Some(sub) = cmd.find_subcommand(&sub_name) else {
        return Ok(argv);
    };
    let known = |name: &str| {
        cmd.get_subcommands().any(|s| {
            s.get_arguments().any(|a| a.get_env().is_some_and(|e| e == name))
                || s.get_subcommands()
                    .any(|ss| ss.get_arguments().any(|a| a.get_env().is_some_and(|e| e == name)))
        })
    };
    let mut added = Vec::new();
    for (name, value) in settings {
        if name == "DIRSYNC_CONFIG" {
            continue;
        }
        let Some(arg) = sub
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == name.as_str()))
        else {
            if known(&name) || matches!(name.as_str(), "RUST_LOG") || name.starts_with("OTEL_") {
                continue;
            }
            bail!("{}: unknown setting {name}", path.to_string_lossy());
        };
        let Some(long) = arg.get_long() else { continue };
        let flag = format!("--{long}");
        let on_command_line = argv.iter().any(|a| {
            let a = a.to_string_lossy();
            a == flag || a.starts_with(&format!("{flag}="))
        });
        if on_command_line || std::env::var_os(&name).is_some() {
            continue;
        }
        added.push(OsString::from(format!("{flag}={value}")));
    }
    argv.splice(insert_at..insert_at, added);
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use clap::{Arg, Command};

    use super::*;

    fn cmd() -> Command {
        Command::new("dirsync")
            .subcommand(
                Command::new("serve")
                    .arg(Arg::new("scim_addr").long("scim-addr").env("DIRSYNC_TEST_SCIM_ADDR"))
                    .arg(Arg::new("grpc_addr").long("grpc-addr").env("DIRSYNC_TEST_GRPC_ADDR")),
            )
            .subcommand(Command::new("edge").arg(Arg::new("core_url").long("core-url").env("DIRSYNC_TEST_CORE_URL")))
    }

    fn run(file: &str, args: &[&str]) -> anyhow::Result<Vec<String>> {
        let path = std::env::temp_dir().join(format!("dirsync-config-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, file).unwrap();
        let mut argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        argv.push("--config".into());
        argv.push(path.clone().into());
        let out = apply(&cmd(), argv);
        std::fs::remove_file(path).unwrap();
        Ok(out?.into_iter().map(|a| a.to_string_lossy().into_owned()).collect())
    }

    #[test]
    fn file_settings_become_flags_unless_given() {
        let file = "# comment\nDIRSYNC_TEST_SCIM_ADDR=\"0.0.0.0:8080\"\nDIRSYNC_TEST_GRPC_ADDR=0.0.0.0:50051\nDIRSYNC_TEST_CORE_URL=x\n";
        assert_eq!(
            run(file, &["dirsync", "serve", "--grpc-addr", "127.0.0.1:1"]).unwrap(),
            [
                "dirsync",
                "serve",
                "--scim-addr=0.0.0.0:8080",
                "--grpc-addr",
                "127.0.0.1:1"
            ]
        );
        // No subcommand means serve.
        assert_eq!(run(file, &["dirsync"]).unwrap()[1], "serve");
        assert!(
            run("DIRSYNC_NOPE=1\n", &["dirsync", "serve"])
                .unwrap_err()
                .to_string()
                .contains("DIRSYNC_NOPE")
        );
        assert!(parse("no equals sign").is_err());
    }
}
