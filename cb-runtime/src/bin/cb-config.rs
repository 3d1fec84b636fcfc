//! `cb-config`: check a `circuit_breakers.toml` and explain where each value of a breaker
//! comes from.
//!
//! ```text
//! cargo run -p cb-runtime --bin cb-config -- check [--config PATH]
//! cargo run -p cb-runtime --bin cb-config -- explain NAME [--config PATH]
//! ```
//! Without `--config`: `CB_CONFIG`, else `./circuit_breakers.toml`, else the built-in defaults.
//! Macro arguments live in the program's binary, so this command shows every level but them;
//! in the program, `registry().explain(name)` shows them too.

use cb_runtime::Registry;
use cb_runtime::config::{self, ConfigSource, LoadError};
use std::process::ExitCode;

const USAGE: &str = "usage: cb-config check [--config PATH]\n       cb-config explain NAME [--config PATH]";

fn source(path: Option<&str>) -> Result<ConfigSource, LoadError> {
    let source = match path {
        Some(path) => ConfigSource::from_file(path)?,
        None => ConfigSource::discover()?,
    };
    let env = config::env_problems();
    if env.is_empty() {
        Ok(source)
    } else {
        Err(LoadError { errors: env })
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let config = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    let positional: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| *a != "--config" && (*i == 0 || args[i - 1] != "--config"))
        .map(|(_, a)| a.as_str())
        .collect();
    let source = match (positional.as_slice(), source(config)) {
        ([], _) | ([_, _, _, ..], _) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        (_, Err(err)) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
        (_, Ok(source)) => source,
    };
    match positional.as_slice() {
        ["check"] => {
            let file = source
                .file()
                .and_then(|f| f.path())
                .map_or("no configuration file".into(), |p| p.display().to_string());
            println!("ok: {file}");
            ExitCode::SUCCESS
        }
        ["explain", name] => {
            print!("{}", Registry::new().with_config(source).explain(name));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
