//! Tests for identities, encryption, recovery, and interop with the real `age` and
//! `chezmoi` binaries. A missing binary skips its test, except under CI=true where it fails.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};

use super::*;

const PLAINTEXT: &[u8] = b"TOP-SECRET-PLAINTEXT-4242: the quick brown fox\n";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `Some(path)` if the tool is usable; otherwise skip (or fail in CI).
fn require(tool: &str, found: Option<PathBuf>, hint: &str) -> Option<PathBuf> {
    if found.is_some() {
        return found;
    }
    if in_ci() {
        panic!("`{tool}` is required by this test under CI=true but was not found: {hint}");
    }
    eprintln!("SKIPPED: `{tool}` not found");
    None
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

fn age_bin() -> Option<PathBuf> {
    require("age", which("age"), "install the Debian package `age` (tests/run should)")
}

fn chezmoi_bin() -> Option<PathBuf> {
    let candidate = std::env::var_os("DOTBACK_TEST_CHEZMOI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/chezmoi-bin/chezmoi"));
    require("chezmoi", candidate.is_file().then_some(candidate), "set DOTBACK_TEST_CHEZMOI (tests/run fetches it)")
}

/// Runs a command, asserting success, returning stdout.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.stdin(Stdio::null()).output().expect("spawn");
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn key_file(dir: &Path, name: &str, id: &Identity) -> PathBuf {
    let path = dir.join(name);
    id.save_file(&path).unwrap();
    path
}

/// Binary age bytes of an armored file.
fn to_binary(armored: &[u8]) -> Vec<u8> {
    dearmor(armored).unwrap().into_owned()
}

fn to_armor(binary: &[u8]) -> Vec<u8> {
    let mut w = ArmoredWriter::wrap_output(Vec::new(), Format::AsciiArmor).unwrap();
    w.write_all(binary).unwrap();
    w.finish().unwrap()
}

/// Length of the binary header including the MAC line.
fn header_len(binary: &[u8]) -> usize {
    let mac = find(binary, b"\n--- ").unwrap();
    mac + 5 + binary[mac + 5..].iter().position(|&b| b == b'\n').unwrap() + 1
}

fn pass(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

// ---------------------------------------------------------------- round trips

#[test]
fn round_trip_one_recipient() {
    let id = Identity::generate();
    let ct = encrypt(PLAINTEXT, &[id.public()]).unwrap();
    assert_eq!(&decrypt(&ct, &[id]).unwrap()[..], PLAINTEXT);
}

#[test]
fn round_trip_three_recipients_each_alone() {
    let ids = [Identity::generate(), Identity::generate(), Identity::generate()];
    let ct = encrypt(PLAINTEXT, &ids.iter().map(Identity::public).collect::<Vec<_>>()).unwrap();
    for id in &ids {
        assert_eq!(&decrypt(&ct, std::slice::from_ref(id)).unwrap()[..], PLAINTEXT);
    }
    let stranger = Identity::generate();
    assert!(matches!(decrypt(&ct, std::slice::from_ref(&stranger)), Err(CryptError::NoMatchingIdentity)));
    // A non-matching identity alongside a matching one is fine.
    assert_eq!(&decrypt(&ct, &[stranger, ids[1].clone()]).unwrap()[..], PLAINTEXT);
    assert!(matches!(decrypt(&ct, &[]), Err(CryptError::NoMatchingIdentity)));
}

#[test]
fn round_trip_empty_and_multi_chunk_plaintext() {
    let id = Identity::generate();
    for len in [0usize, 1, 64 * 1024, 64 * 1024 + 1, 200_000] {
        let pt: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let ct = encrypt(&pt, &[id.public()]).unwrap();
        assert_eq!(&decrypt(&ct, std::slice::from_ref(&id)).unwrap()[..], &pt[..], "len {len}");
    }
}

#[test]
fn output_is_canonical_armor() {
    let id = Identity::generate();
    let ct = encrypt(&[7u8; 1000], &[id.public(), id.public()]).unwrap();
    let text = std::str::from_utf8(&ct).unwrap();
    assert!(text.starts_with(&format!("{ARMOR_BEGIN}\n")), "{text}");
    assert!(text.ends_with(&format!("{ARMOR_END}\n")), "{text}");
    assert!(text.lines().all(|l| l.len() <= 64 || l == ARMOR_BEGIN || l == ARMOR_END));
    // Duplicate recipients are collapsed into one stanza (plus age's grease stanza).
    let header = String::from_utf8_lossy(&to_binary(&ct)[..]).into_owned();
    assert_eq!(header.matches("-> X25519 ").count(), 1);
    assert!(matches!(encrypt(PLAINTEXT, &[]), Err(CryptError::NoRecipients)));
}

#[test]
fn binary_age_and_leading_whitespace_are_accepted() {
    let id = Identity::generate();
    let ct = encrypt(PLAINTEXT, &[id.public()]).unwrap();
    assert_eq!(&decrypt(&to_binary(&ct), std::slice::from_ref(&id)).unwrap()[..], PLAINTEXT);
    let mut padded = b"\n  \n".to_vec();
    padded.extend_from_slice(&ct);
    padded.extend_from_slice(b"\n\n");
    assert_eq!(&decrypt(&padded, std::slice::from_ref(&id)).unwrap()[..], PLAINTEXT);
    // CRLF line endings (a checkout with core.autocrlf) are fine too.
    let crlf = String::from_utf8(ct).unwrap().replace('\n', "\r\n");
    assert_eq!(&decrypt(crlf.as_bytes(), &[id]).unwrap()[..], PLAINTEXT);
}

// ---------------------------------------------------------------- bad input

#[test]
fn empty_and_non_age_input() {
    let id = Identity::generate();
    let ids = [id];
    assert!(matches!(decrypt(b"", &ids), Err(CryptError::Empty)));
    assert!(matches!(decrypt(b" \n\t\n", &ids), Err(CryptError::Empty)));
    assert!(matches!(decrypt(PLAINTEXT, &ids), Err(CryptError::NotAgeFile)));
    assert!(matches!(decrypt(b"a", &ids), Err(CryptError::NotAgeFile)));
    assert!(matches!(decrypt(&[0u8, 159, 146, 150, 255], &ids), Err(CryptError::NotAgeFile)));
    let pgp = b"-----BEGIN PGP MESSAGE-----\n\nhQEMA\n-----END PGP MESSAGE-----\n";
    assert!(matches!(decrypt(pgp, &ids), Err(CryptError::NotAgeFile)));
    assert!(matches!(decrypt(b"age-encryption.org/v2\n-> x\n--- AAAA\n", &ids), Err(CryptError::UnsupportedFormat)));
    assert!(matches!(decrypt(b"age-encr", &ids), Err(CryptError::Truncated { part: Part::Header })));
    assert!(matches!(decrypt(b"-----BEGIN AGE", &ids), Err(CryptError::Truncated { part: Part::Armor })));
}

#[test]
fn truncated_armored_input() {
    let id = Identity::generate();
    let ids = [id.clone()];
    let ct = encrypt(&[b'x'; 3000], &[id.public()]).unwrap();
    let text = std::str::from_utf8(&ct).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut_after = |n: usize| lines[..n].iter().map(|l| format!("{l}\n")).collect::<String>();
    // In the header: the begin marker and two lines (~96 bytes of a ~250-byte header).
    assert!(matches!(decrypt(cut_after(3).as_bytes(), &ids), Err(CryptError::Truncated { part: Part::Header })));
    // Only the begin marker.
    assert!(matches!(decrypt(cut_after(1).as_bytes(), &ids), Err(CryptError::Truncated { part: Part::Header })));
    // In the payload, at a line boundary and in the middle of a line.
    let mid = lines.len() / 2;
    assert!(matches!(decrypt(cut_after(mid).as_bytes(), &ids), Err(CryptError::Truncated { part: Part::Payload })));
    let mut cut = cut_after(mid);
    cut.push_str(&lines[mid][..30]);
    assert!(matches!(decrypt(cut.as_bytes(), &ids), Err(CryptError::Truncated { part: Part::Payload })));
    // Everything but the end marker.
    let all_but_end = cut_after(lines.len() - 1);
    assert!(matches!(decrypt(all_but_end.as_bytes(), &ids), Err(CryptError::Truncated { part: Part::Payload })));
}

#[test]
fn truncated_binary_input() {
    let id = Identity::generate();
    let ids = [id.clone()];
    let bin = to_binary(&encrypt(&[b'x'; 3000], &[id.public()]).unwrap());
    let hl = header_len(&bin);
    // In the header.
    for cut in [25, 40, hl / 2, hl - 10, hl - 1] {
        assert!(
            matches!(decrypt(&bin[..cut], &ids), Err(CryptError::Truncated { part: Part::Header })),
            "cut at {cut}: {:?}",
            decrypt(&bin[..cut], &ids).map(|_| ())
        );
    }
    // Right after the header (nonce missing), and inside the nonce.
    assert!(matches!(decrypt(&bin[..hl], &ids), Err(CryptError::Truncated { part: Part::Payload })));
    assert!(matches!(decrypt(&bin[..hl + 8], &ids), Err(CryptError::Truncated { part: Part::Payload })));
    // Right after the nonce: no chunk at all.
    assert!(matches!(decrypt(&bin[..hl + 16], &ids), Err(CryptError::Truncated { part: Part::Payload })));
    // Inside the (single) payload chunk: age cannot tell a cut from damage.
    assert!(matches!(decrypt(&bin[..bin.len() - 100], &ids), Err(CryptError::Corrupt { part: Part::Payload, .. })));

    // At a chunk boundary of a multi-chunk file: age knows the last chunk is missing.
    let big = to_binary(&encrypt(&vec![1u8; 150_000], &[id.public()]).unwrap());
    let boundary = header_len(&big) + 16 + 65_536 + 16;
    assert!(matches!(decrypt(&big[..boundary], &ids), Err(CryptError::Truncated { part: Part::Payload })));
}

#[test]
fn damaged_input() {
    let id = Identity::generate();
    let ids = [id.clone()];
    let bin = to_binary(&encrypt(&[b'x'; 3000], &[id.public()]).unwrap());
    let hl = header_len(&bin);

    // A flipped payload byte, binary and re-armored.
    let mut flipped = bin.clone();
    flipped[hl + 16 + 100] ^= 0x01;
    assert!(matches!(decrypt(&flipped, &ids), Err(CryptError::Corrupt { part: Part::Payload, .. })));
    assert!(matches!(decrypt(&to_armor(&flipped), &ids), Err(CryptError::Corrupt { part: Part::Payload, .. })));
    // A flipped nonce byte changes the payload key.
    let mut nonce = bin.clone();
    nonce[hl + 3] ^= 0x80;
    assert!(matches!(decrypt(&nonce, &ids), Err(CryptError::Corrupt { part: Part::Payload, .. })));
    // A modified MAC.
    let mut mac = bin.clone();
    let at = hl - 3;
    mac[at] = if mac[at] == b'A' { b'B' } else { b'A' };
    assert!(matches!(decrypt(&mac, &ids), Err(CryptError::Corrupt { part: Part::Header, .. })));
    // A garbled header line.
    let mut garbled = bin.clone();
    garbled[22] = b'\n';
    assert!(matches!(decrypt(&garbled, &ids), Err(CryptError::Corrupt { part: Part::Header, .. })));
    // Trailing garbage after a binary file.
    let mut trailing = bin.clone();
    trailing.extend_from_slice(b"junk");
    assert!(matches!(decrypt(&trailing, &ids), Err(CryptError::Corrupt { part: Part::Payload, .. })));

    // Armor damage: a character that is not base64, and garbage after the end marker.
    let armored = encrypt(&[b'x'; 3000], &[id.public()]).unwrap();
    let mut bad = armored.clone();
    let line3 = find(&bad, b"\n").unwrap() + 1 + 65 + 65 + 10;
    bad[line3] = b'*';
    assert!(matches!(decrypt(&bad, &ids), Err(CryptError::Corrupt { part: Part::Armor, .. })));
    let mut after = armored.clone();
    after.extend_from_slice(b"more\n");
    assert!(matches!(decrypt(&after, &ids), Err(CryptError::Corrupt { part: Part::Armor, .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Any truncation or byte change gives an error, never a panic or a wrong plaintext.
    #[test]
    fn mutations_never_yield_wrong_plaintext(cut in 0usize..2000, at in 0usize..2000, bit in 0u8..8, armored in any::<bool>()) {
        let id = Identity::generate();
        let ct = encrypt(&PLAINTEXT.repeat(20), &[id.public()]).unwrap();
        let base = if armored { ct } else { to_binary(&ct) };
        let ids = [id];

        let truncated = &base[..cut.min(base.len().saturating_sub(1))];
        let r = decrypt(truncated, &ids);
        prop_assert!(r.is_err() || r.unwrap()[..] == PLAINTEXT.repeat(20)[..]);

        let mut flipped = base.clone();
        let i = at % flipped.len();
        flipped[i] ^= 1 << bit;
        let r = decrypt(&flipped, &ids);
        prop_assert!(r.is_err() || r.unwrap()[..] == PLAINTEXT.repeat(20)[..]);
    }
}

// ---------------------------------------------------------------- identities

#[test]
fn secret_string_round_trip() {
    let id = Identity::generate();
    let s = id.to_secret_string();
    assert!(s.expose_secret().starts_with("AGE-SECRET-KEY-1"));
    let back = Identity::from_secret_str(&format!("  {}\n", s.expose_secret())).unwrap();
    assert_eq!(back.public(), id.public());
    assert!(matches!(Identity::from_secret_str("AGE-SECRET-KEY-1QQQ"), Err(CryptError::InvalidSecretKey { .. })));
    assert!(matches!(Identity::from_secret_str("age1xyz"), Err(CryptError::InvalidSecretKey { .. })));
    // Debug shows only the public key.
    let dbg = format!("{id:?}");
    assert!(dbg.contains(&id.public().to_string()) && !dbg.contains("AGE-SECRET-KEY"), "{dbg}");
}

#[test]
fn save_file_is_0600_keygen_style_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let id = Identity::generate();
    let path = key_file(dir.path(), "identity.txt", &id);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# created: 20") && lines[0].ends_with('Z'), "{text}");
    assert_eq!(lines[1], format!("# public key: {}", id.public()));
    assert_eq!(lines[2], id.to_secret_string().expose_secret());
    assert_eq!(lines.len(), 3);
    let loaded = Identity::load_file(&path).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].public(), id.public());

    // Never overwrites: not a file, not a (dangling) symlink.
    assert!(matches!(Identity::generate().save_file(&path), Err(CryptError::IdentityExists { .. })));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path().join("target-does-not-exist"), &link).unwrap();
    assert!(matches!(Identity::generate().save_file(&link), Err(CryptError::IdentityExists { .. })));
    assert!(!dir.path().join("target-does-not-exist").exists());
    // A missing parent directory is a write error naming the path.
    let deep = dir.path().join("no/such/dir/key.txt");
    let e = Identity::generate().save_file(&deep).unwrap_err();
    assert!(matches!(&e, CryptError::Path(p) if p.op == Op::Write && p.path == deep), "{e}");
}

#[test]
fn load_file_refuses_open_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(dir.path(), "k.txt", &Identity::generate());
    for mode in [0o644, 0o640, 0o604, 0o660, 0o610] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        match Identity::load_file(&path) {
            Err(CryptError::IdentityTooOpen { path: p, mode: m }) => {
                assert_eq!((p, m), (path.clone(), mode));
            }
            other => panic!("mode {mode:o}: {other:?}"),
        }
    }
    let msg = {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Identity::load_file(&path).unwrap_err().to_string()
    };
    assert!(msg.contains("0644") && msg.contains("k.txt"), "{msg}");
    for mode in [0o600, 0o400] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        assert!(Identity::load_file(&path).is_ok(), "mode {mode:o}");
    }
}

fn write_0600(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn load_file_parses_several_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Identity::generate(), Identity::generate());
    let path = dir.path().join("ids.txt");
    let text = format!(
        "# two keys\r\n{}\r\n\n   # indented comment\n  {}  \n",
        a.to_secret_string().expose_secret(),
        b.to_secret_string().expose_secret()
    );
    write_0600(&path, &text);
    let ids = Identity::load_file(&path).unwrap();
    assert_eq!(ids.iter().map(Identity::public).collect::<Vec<_>>(), vec![a.public(), b.public()]);

    write_0600(&path, "# only comments\n\n");
    assert!(matches!(Identity::load_file(&path), Err(CryptError::NoIdentities { .. })));

    write_0600(&path, &format!("{}\nsome-garbage-line-0001\n", a.to_secret_string().expose_secret()));
    match Identity::load_file(&path) {
        Err(e @ CryptError::IdentityFile { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("line 2") && !msg.contains("garbage"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    // A damaged secret key names the line and does not echo the key.
    let mut damaged = a.to_secret_string().expose_secret().to_string();
    damaged.replace_range(30..31, if &damaged[30..31] == "Q" { "P" } else { "Q" });
    write_0600(&path, &format!("# c\n{damaged}\n"));
    let msg = Identity::load_file(&path).unwrap_err().to_string();
    assert!(msg.contains("line 2") && !msg.contains(&damaged[16..]), "{msg}");

    write_0600(&path, "AGE-PLUGIN-YUBIKEY-1QQQ\n");
    assert!(Identity::load_file(&path).unwrap_err().to_string().contains("plugin"));
    write_0600(&path, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n");
    assert!(Identity::load_file(&path).unwrap_err().to_string().contains("SSH"));
    std::fs::write(&path, [0xffu8, 0xfe, b'\n']).unwrap();
    assert!(matches!(Identity::load_file(&path), Err(CryptError::IdentityFile { .. })));
    let missing = dir.path().join("missing");
    let e = Identity::load_file(&missing).unwrap_err();
    assert!(matches!(&e, CryptError::Path(p) if p.op == Op::Read && p.path == missing), "{e}");
}

#[test]
fn rfc3339_dates() {
    let at = |s| rfc3339_utc(UNIX_EPOCH + std::time::Duration::from_secs(s));
    assert_eq!(at(0), "1970-01-01T00:00:00Z");
    assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(at(1_767_225_599), "2025-12-31T23:59:59Z");
    assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
}

// ---------------------------------------------------------------- recovery

#[test]
fn recovery_seal_and_open() {
    let id = Identity::generate();
    let sealed = seal_recovery_with_work_factor(&id, &pass("correct horse battery staple"), 10).unwrap();
    assert!(sealed.starts_with(ARMOR_BEGIN.as_bytes()));
    let opened = open_recovery(&sealed, &pass("correct horse battery staple")).unwrap();
    assert_eq!(opened.public(), id.public());
    // What is sealed is an identity file: decrypting it gives a usable age -i key.
    assert!(matches!(open_recovery(&sealed, &pass("wrong horse")), Err(CryptError::WrongPassphrase)));
    assert!(matches!(open_recovery(&sealed, &pass("")), Err(CryptError::WrongPassphrase)));
    // Device keys cannot open it, and it is not a device-encrypted file.
    assert!(matches!(decrypt(&sealed, std::slice::from_ref(&id)), Err(CryptError::PassphraseEncrypted)));
    let device_file = encrypt(PLAINTEXT, &[id.public()]).unwrap();
    assert!(matches!(open_recovery(&device_file, &pass("x")), Err(CryptError::NotPassphraseEncrypted)));
    assert!(matches!(open_recovery(b"", &pass("x")), Err(CryptError::Empty)));
    // A passphrase-sealed file that does not hold a key.
    let mut r = age::scrypt::Recipient::new(pass("p"));
    r.set_work_factor(10);
    let not_key = write_armored(
        Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap(),
        b"hello",
        Vec::new(),
    )
    .unwrap();
    assert!(matches!(open_recovery(&not_key, &pass("p")), Err(CryptError::Corrupt { part: Part::Payload, .. })));
}

#[test]
fn recovery_refuses_bad_parameters() {
    let id = Identity::generate();
    assert!(matches!(seal_recovery_with_work_factor(&id, &pass(""), 10), Err(CryptError::EmptyPassphrase)));
    assert!(matches!(seal_recovery_with_work_factor(&id, &pass("p"), 0), Err(CryptError::InvalidWorkFactor { .. })));
    assert!(matches!(seal_recovery_with_work_factor(&id, &pass("p"), 31), Err(CryptError::InvalidWorkFactor { .. })));
}

#[test]
fn recovery_work_factor_knob() {
    assert_eq!(recovery_work_factor(None, true), DEFAULT_RECOVERY_WORK_FACTOR);
    assert_eq!(recovery_work_factor(Some("10".into()), true), 10);
    assert_eq!(recovery_work_factor(Some(" 12\n".into()), true), 12);
    for bad in ["0", "31", "x", "", "-1", "300"] {
        assert_eq!(recovery_work_factor(Some(bad.into()), true), DEFAULT_RECOVERY_WORK_FACTOR, "{bad}");
    }
    // A build without the `test-fast-scrypt` feature ignores the knob, whatever its value.
    for any in ["1", "10", "17", "19", "30", "x"] {
        assert_eq!(recovery_work_factor(Some(any.into()), false), DEFAULT_RECOVERY_WORK_FACTOR, "{any}");
    }
    // seal_recovery decides as this build does (with the environment as it is now).
    let sealed = seal_recovery(&Identity::generate(), &pass("p")).unwrap();
    let header = String::from_utf8_lossy(&to_binary(&sealed)).into_owned();
    let want = recovery_work_factor(std::env::var(TEST_SCRYPT_LOG_N_ENV).ok(), TEST_SCRYPT_KNOB);
    assert!(header.contains(&format!(" {want}\n")), "{header}");
}

// ---------------------------------------------------------------- error messages

#[test]
fn error_messages_never_contain_plaintext_or_secrets() {
    let secret_text = std::str::from_utf8(PLAINTEXT).unwrap().trim_end();
    let id = Identity::generate();
    let secret_key = id.to_secret_string().expose_secret().to_string();
    let dir = tempfile::tempdir().unwrap();
    let ct = encrypt(PLAINTEXT, &[id.public()]).unwrap();
    let bin = to_binary(&ct);
    let ids = [id.clone()];
    let mut errors: Vec<CryptError> = Vec::new();

    errors.push(decrypt(&ct, &[Identity::generate()]).unwrap_err());
    errors.push(decrypt(&ct[..ct.len() / 2], &ids).unwrap_err());
    errors.push(decrypt(&bin[..bin.len() - 5], &ids).unwrap_err());
    let mut flipped = bin.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    errors.push(decrypt(&flipped, &ids).unwrap_err());
    errors.push(decrypt(PLAINTEXT, &ids).unwrap_err());
    errors.push(decrypt(b"", &ids).unwrap_err());
    let sealed = seal_recovery_with_work_factor(&id, &pass(secret_text), 10).unwrap();
    errors.push(decrypt(&sealed, &ids).unwrap_err());
    errors.push(open_recovery(&sealed, &pass("wrong")).unwrap_err());
    errors.push(open_recovery(&ct, &pass(secret_text)).unwrap_err());
    errors.push(Identity::from_secret_str(secret_text).unwrap_err());
    errors.push(Identity::from_secret_str(&secret_key[..secret_key.len() - 2]).unwrap_err());

    let key = key_file(dir.path(), "k.txt", &id);
    errors.push(id.save_file(&key).unwrap_err());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    errors.push(Identity::load_file(&key).unwrap_err());
    let bad = dir.path().join("bad.txt");
    write_0600(&bad, &format!("{secret_key}\n{secret_text}\n"));
    errors.push(Identity::load_file(&bad).unwrap_err());
    write_0600(&bad, &format!("{}\n", &secret_key[..secret_key.len() - 1]));
    errors.push(Identity::load_file(&bad).unwrap_err());

    let rpath = dir.path().join("recipients.txt");
    errors.push(recipients::Recipients::parse(&rpath, &format!("{secret_text}\n")).unwrap_err());
    errors.push(recipients::Recipients::parse(&rpath, &format!("{secret_key}\n")).unwrap_err());
    errors.push(recipients::Recipients::load(dir.path(), &rpath).unwrap_err());
    let cfg = format!("encryption = \"age\"\n[data]\nx = \"{secret_text}\" junk\n");
    errors.push(chezmoi_config::parse(Path::new("/c/chezmoi.toml"), &cfg, Path::new("/h")).unwrap_err());
    let cfg = format!("encryption = \"age\"\n[age]\nrecipient = \"{secret_key}\"\n");
    errors.push(chezmoi_config::parse(Path::new("/c/chezmoi.toml"), &cfg, Path::new("/h")).unwrap_err());

    let variants: std::collections::HashSet<_> = errors.iter().map(std::mem::discriminant).collect();
    assert!(variants.len() >= 15, "only {} distinct variants exercised", variants.len());
    for e in &errors {
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains("TOP-SECRET"), "plaintext leaked: {shown}");
            assert!(!shown.contains(&secret_key[16..40]), "secret key leaked: {shown}");
            assert!(!shown.contains(&secret_key[30..]), "secret key leaked: {shown}");
        }
    }
}

// ---------------------------------------------------------------- the age CLI

#[test]
fn age_cli_decrypts_dotback_output() {
    let Some(age) = age_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Identity::generate(), Identity::generate());
    let ct = encrypt(PLAINTEXT, &[a.public(), b.public()]).unwrap();
    let file = dir.path().join("secret.age");
    std::fs::write(&file, &ct).unwrap();
    for (name, id) in [("a.txt", &a), ("b.txt", &b)] {
        let key = key_file(dir.path(), name, id);
        let out = run(Command::new(&age).arg("-d").arg("-i").arg(&key).arg(&file));
        assert_eq!(out, PLAINTEXT);
    }
    // A large multi-chunk file too.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, encrypt(&big, &[a.public()]).unwrap()).unwrap();
    let out = run(Command::new(&age).arg("-d").arg("-i").arg(dir.path().join("a.txt")).arg(&file));
    assert_eq!(out, big);
}

#[test]
fn dotback_decrypts_age_cli_output() {
    let Some(age) = age_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Identity::generate(), Identity::generate());
    let plain = dir.path().join("plain");
    std::fs::write(&plain, PLAINTEXT).unwrap();
    let recipients = |cmd: &mut Command| {
        cmd.arg("-r").arg(a.public().to_string()).arg("-r").arg(b.public().to_string());
    };
    let mut armored = Command::new(&age);
    armored.arg("-e").arg("-a");
    recipients(&mut armored);
    let armored = run(armored.arg(&plain));
    assert!(armored.starts_with(ARMOR_BEGIN.as_bytes()));
    let mut binary = Command::new(&age);
    binary.arg("-e");
    recipients(&mut binary);
    let binary = run(binary.arg(&plain));
    assert!(binary.starts_with(b"age-encryption.org/v1\n"));
    for ct in [&armored, &binary] {
        for id in [&a, &b] {
            assert_eq!(&decrypt(ct, std::slice::from_ref(id)).unwrap()[..], PLAINTEXT);
        }
        assert!(matches!(decrypt(ct, &[Identity::generate()]), Err(CryptError::NoMatchingIdentity)));
    }
}

#[test]
fn age_cli_reads_recipients_txt_and_keygen_files() {
    let Some(age) = age_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (laptop, recovery) = (Identity::generate(), Identity::generate());
    let mut r = recipients::Recipients::new();
    r.add_device("laptop", laptop.public()).unwrap();
    r.set_recovery(recovery.public()).unwrap();
    let rfile = dir.path().join("recipients.txt");
    std::fs::write(&rfile, r.to_text()).unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, PLAINTEXT).unwrap();
    let ct = run(Command::new(&age).arg("-e").arg("-a").arg("-R").arg(&rfile).arg(&plain));
    assert_eq!(&decrypt(&ct, &[laptop]).unwrap()[..], PLAINTEXT);
    assert_eq!(&decrypt(&ct, &[recovery]).unwrap()[..], PLAINTEXT);

    // A key file written by age-keygen loads (age-keygen creates it 0600).
    if let Some(keygen) = which("age-keygen") {
        let key = dir.path().join("keygen.txt");
        run(Command::new(&keygen).arg("-o").arg(&key));
        let ids = Identity::load_file(&key).unwrap();
        let public = run(Command::new(&keygen).arg("-y").arg(&key));
        assert_eq!(String::from_utf8(public).unwrap().trim(), ids[0].public().to_string());
        // And age-keygen -y reads ours.
        let ours = key_file(dir.path(), "ours.txt", &Identity::generate());
        let public = run(Command::new(&keygen).arg("-y").arg(&ours));
        assert_eq!(
            String::from_utf8(public).unwrap().trim(),
            Identity::load_file(&ours).unwrap()[0].public().to_string()
        );
    }

    // The sealed recovery file's plaintext is a key file age accepts.
    let id = Identity::generate();
    let sealed = seal_recovery_with_work_factor(&id, &pass("pw"), 10).unwrap();
    let opened = open_recovery(&sealed, &pass("pw")).unwrap();
    let key = key_file(dir.path(), "recovered.txt", &opened);
    let ct_file = dir.path().join("to-recovery.age");
    std::fs::write(&ct_file, encrypt(PLAINTEXT, &[id.public()]).unwrap()).unwrap();
    assert_eq!(run(Command::new(&age).arg("-d").arg("-i").arg(&key).arg(&ct_file)), PLAINTEXT);
}

// ---------------------------------------------------------------- chezmoi

struct ChezmoiEnv {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl ChezmoiEnv {
    fn new(bin: PathBuf) -> ChezmoiEnv {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "config/chezmoi", "data", "cache", "state", "source"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        ChezmoiEnv { dir, bin }
    }
    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }
    fn write_config(&self, text: &str) {
        std::fs::write(self.path("config/chezmoi/chezmoi.toml"), text).unwrap();
    }
    fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_STATE_HOME", self.path("state"))
            .current_dir(self.path("home"))
            .arg("--no-tty")
            .arg("--source")
            .arg(self.path("source"));
        cmd
    }
}

#[test]
fn chezmoi_interop_both_ways() {
    let Some(bin) = chezmoi_bin() else { return };
    let env = ChezmoiEnv::new(bin);
    let id = Identity::generate();
    let key = key_file(&env.path("home"), "key.txt", &id);
    let plain = env.path("plain.txt");
    std::fs::write(&plain, PLAINTEXT).unwrap();
    // chezmoi's builtin age always; the age command too when it is installed.
    let mut modes = vec![true];
    if which("age").is_some() {
        modes.push(false);
    }
    for use_builtin in modes {
        env.write_config(&format!(
            "encryption = \"age\"\n[age]\n  identity = \"~/key.txt\"\n  recipient = \"{}\"\n  useBuiltin = {use_builtin}\n",
            id.public()
        ));
        // dotback -> chezmoi decrypt
        let ct_file = env.path("from-dotback.age");
        std::fs::write(&ct_file, encrypt(PLAINTEXT, &[id.public(), Identity::generate().public()]).unwrap()).unwrap();
        let out = run(env.cmd().arg("decrypt").arg(&ct_file));
        assert_eq!(out, PLAINTEXT, "useBuiltin = {use_builtin}");
        // chezmoi encrypt -> dotback
        let ct = run(env.cmd().arg("encrypt").arg(&plain));
        assert!(ct.starts_with(ARMOR_BEGIN.as_bytes()), "useBuiltin = {use_builtin}");
        assert_eq!(&decrypt(&ct, std::slice::from_ref(&id)).unwrap()[..], PLAINTEXT);
        // And the config dotback reads from chezmoi names the same key.
        let cfg = chezmoi_config::read(&env.path("config/chezmoi"), &env.path("home")).unwrap().unwrap();
        assert_eq!(cfg.identities, vec![key.clone()]);
        assert_eq!(cfg.recipients, vec![id.public()]);
        let loaded = Identity::load_file(&cfg.identities[0]).unwrap();
        assert_eq!(&decrypt(&ct, &loaded).unwrap()[..], PLAINTEXT);
    }
}

/// chezmoi_config::read agrees with how the real chezmoi resolves its own config.
#[test]
fn chezmoi_config_matches_real_chezmoi() {
    let Some(bin) = chezmoi_bin() else { return };
    let env = ChezmoiEnv::new(bin);
    let (a, b) = (Identity::generate().public(), Identity::generate().public());
    env.write_config(&format!(
        "Encryption = \"age\"\nunknownTop = 1\n[AGE]\n  Identity = \"~/key.txt\"\n  identities = [\"/abs/k2\", \"~\", \"rel/k3\"]\n  \
         recipient = \"{a}\"\n  RECIPIENTS = [\"{b}\"]\n  recipientsfile = \"~/r.txt\"\n  recipientsFiles = [\"~/r2.txt\"]\n  \
         symmetric = true\n  suffix = \".enc\"\n  unknownAgeKey = \"x\"\n"
    ));
    let template = "{{ .chezmoi.config.encryption }}\n\
        {{ .chezmoi.config.age.identity }}\n\
        {{ range .chezmoi.config.age.identities }}{{ . }};{{ end }}\n\
        {{ .chezmoi.config.age.recipient }}\n\
        {{ range .chezmoi.config.age.recipients }}{{ . }};{{ end }}\n\
        {{ .chezmoi.config.age.recipientsFile }}\n\
        {{ range .chezmoi.config.age.recipientsFiles }}{{ . }};{{ end }}\n\
        {{ .chezmoi.config.age.symmetric }}\n\
        {{ .chezmoi.config.age.passphrase }}\n\
        {{ .chezmoi.config.age.suffix }}";
    let out = String::from_utf8(run(env.cmd().arg("execute-template").arg(template))).unwrap();
    let got: Vec<&str> = out.lines().collect();
    let ours = chezmoi_config::read(&env.path("config/chezmoi"), &env.path("home")).unwrap().unwrap();
    // chezmoi makes relative paths absolute against its working directory (HOME here).
    let cwd = env.path("home");
    let resolve = |p: &PathBuf| cwd.join(p).display().to_string();
    let joined = |ps: &[PathBuf]| ps.iter().map(|p| format!("{};", resolve(p))).collect::<String>();
    assert_eq!(got[0], "age");
    assert_eq!(got[1], resolve(&ours.identities[0]));
    assert_eq!(got[2], joined(&ours.identities[1..]));
    assert_eq!(got[3], a.to_string());
    assert_eq!(got[4], format!("{b};"));
    assert_eq!(got[5], resolve(&ours.recipient_files[0]));
    assert_eq!(got[6], joined(&ours.recipient_files[1..]));
    assert_eq!(got[7], ours.symmetric.to_string());
    assert_eq!(got[8], ours.passphrase.to_string());
    assert_eq!(got[9], ours.suffix);
    assert_eq!(ours.recipients, vec![a, b]);
}

#[test]
fn stanzas_are_counted_in_armored_and_binary_headers() {
    let ids: Vec<Identity> = (0..3).map(|_| Identity::generate()).collect();
    for n in 1..=3 {
        let to: Vec<_> = ids[..n].iter().map(Identity::public).collect();
        let armored = encrypt(b"secret", &to).unwrap();
        assert_eq!(x25519_stanzas(&armored).unwrap(), n);
        let binary = dearmor(&armored).unwrap().into_owned();
        assert_eq!(x25519_stanzas(&binary).unwrap(), n);
        let cut = &binary[..binary.windows(3).position(|w| w == b"---").unwrap()];
        assert!(x25519_stanzas(cut).is_err(), "a header without its end");
    }
    assert!(x25519_stanzas(b"plain text").is_err());
}
