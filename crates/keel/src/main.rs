//! `keel`: the one binary. Serves the web application and API, runs migrations, and
//! administers users, tokens, products and memberships from the command line.
#![forbid(unsafe_code)]

mod cli;
mod config;
mod import;
mod transfer;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            // One line, the whole chain of causes: "while reading keel.toml: …".
            let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("keel: {}", msg.join(": "));
            ExitCode::from(1)
        }
    }
}
