//! Reading a passphrase: from a file, from standard input when it is not a terminal, or from
//! the terminal without echo. Never from a command-line argument (other users can read those).

use secrecy::SecretString;
use std::io::{IsTerminal, Read};
use std::path::Path;

/// Shortest passphrase accepted for the recovery key: it guards every secret in the store.
const MIN_LEN: usize = 8;

pub fn read(file: Option<&Path>, what: &str, confirm: bool) -> Result<SecretString, String> {
    let text = if let Some(f) = file {
        let raw = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        first_line(&raw)
    } else if !std::io::stdin().is_terminal() {
        let mut raw = String::new();
        std::io::stdin().read_to_string(&mut raw).map_err(|e| format!("cannot read standard input: {e}"))?;
        first_line(&raw)
    } else {
        let first = rpassword::prompt_password(format!("{what}: ")).map_err(|e| format!("cannot read it: {e}"))?;
        if confirm {
            let again = rpassword::prompt_password("Repeat it: ").map_err(|e| format!("cannot read it: {e}"))?;
            if again != first {
                return Err("the two entries differ".into());
            }
        }
        first
    };
    if text.is_empty() {
        return Err("it is empty (give it on standard input, with --passphrase-file, or on a terminal)".into());
    }
    if text.chars().count() < MIN_LEN {
        return Err(format!("it must have at least {MIN_LEN} characters"));
    }
    Ok(SecretString::from(text))
}

fn first_line(raw: &str) -> String {
    raw.lines().next().unwrap_or("").to_string()
}
