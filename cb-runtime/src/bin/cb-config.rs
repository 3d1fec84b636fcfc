//! `cb-config`: check a circuit breaker configuration file and explain where each value of a
//! breaker comes from, from any directory, on any program's file.
//!
//! ```text
//! cargo install cb-runtime --features yaml      # or: cargo install --path cb-runtime --features yaml
//! cb-config check [FILE]
//! cb-config explain NAME [FILE]
//! ```
//! Without FILE (or `--config FILE`): `CB_CONFIG`, else `./circuit_breakers.toml`, else
//! `./circuit_breakers.yaml`, else the built-in defaults. Macro arguments live in the program's
//! binary, so this command shows every level but them; in the program,
//! `registry().explain(name)` shows them too.

use cb_runtime::Registry;
use cb_runtime::config::{self, ConfigSource, LoadError};
use std::ffi::{OsStr, OsString};
use std::process::ExitCode;

const USAGE: &str = "usage: cb-config check [FILE]
       cb-config explain NAME [FILE]
       cb-config --help | --version";

const HELP: &str = "Checks a circuit breaker configuration (circuit_breakers.toml, or .yaml/.yml when built
with feature `yaml`) and the CB_BREAKER__<NAME>__<KEY> variables, and explains where every
value of a breaker comes from.

commands:
  check [FILE]           validate FILE and the environment; every problem with file:line:column
  explain NAME [FILE]    the configuration breaker NAME gets, key by key, with the level it comes from

FILE (or --config FILE) defaults to CB_CONFIG, else ./circuit_breakers.toml, else
./circuit_breakers.yaml, else the built-in defaults. Macro arguments are compiled into the
program: `registry().explain(NAME)` in the program shows them too.

exit status: 0 valid, 1 invalid configuration, 2 wrong usage";

/// The configuration to check, or every problem with it, one a line.
fn source(path: Option<&OsStr>) -> Result<ConfigSource, String> {
    let source = match path {
        Some(path) => ConfigSource::from_file(path),
        None => ConfigSource::discover(),
    }
    .map_err(|err: LoadError| err.to_string())?;
    let mut env = config::env_problems();
    // Discovering, as the program does: a misspelt `CB_CONFIG` would have been the file.
    if path.is_none() {
        env.extend(config::misspelt_config_variables());
    }
    if env.is_empty() {
        Ok(source)
    } else {
        Err(env.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    }
}

/// The command line: the command's words, and the file from `--config FILE` if given.
fn split(args: &[OsString]) -> Result<(Vec<&OsStr>, Option<&OsStr>), ()> {
    let mut words = Vec::new();
    let mut config = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let bytes = arg.as_encoded_bytes();
        if arg == "--config" {
            config = Some(args.next().ok_or(())?.as_os_str());
        } else if bytes.starts_with(b"-") && bytes.len() > 1 {
            return Err(());
        } else {
            words.push(arg.as_os_str());
        }
    }
    Ok((words, config))
}

/// Writes to stdout; a closed pipe (`cb-config explain x | head`) ends the output quietly.
fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // Paths stay `OsString`s: a file name need not be UTF-8.
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        out(&format!("{USAGE}\n\n{HELP}\n"));
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--version" || a == "-V") {
        out(&format!("cb-config {}\n", env!("CARGO_PKG_VERSION")));
        return ExitCode::SUCCESS;
    }
    let Ok((words, flag)) = split(&args) else {
        return usage();
    };
    let Some((command, rest)) = words.split_first() else {
        return usage();
    };
    let (command, name, file) = match (command.to_str(), rest) {
        (Some("check"), []) => ("check", None, None),
        (Some("check"), [file]) => ("check", None, Some(*file)),
        (Some("explain"), [name]) => ("explain", Some(name.to_string_lossy()), None),
        (Some("explain"), [name, file]) => ("explain", Some(name.to_string_lossy()), Some(*file)),
        _ => return usage(),
    };
    let file = match (file, flag) {
        (Some(_), Some(_)) => return usage(),
        (file, flag) => file.or(flag),
    };
    let source = match source(file) {
        Ok(source) => source,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    match (command, name) {
        ("explain", Some(name)) => out(&Registry::new().with_config(source).explain(&name).to_string()),
        _ => {
            let file = source
                .file()
                .and_then(|f| f.path())
                .map_or("no configuration file".into(), |p| p.display().to_string());
            out(&format!("ok: {file}\n"));
        }
    }
    ExitCode::SUCCESS
}
