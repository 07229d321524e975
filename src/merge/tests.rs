//! The merge oracle: [`merge`] against the real `git merge-file`.
//!
//! - a table of the interesting cases of git's own t/t6403-merge-file.sh (with the outputs
//!   that script expects, checked even without git) plus edge cases of our own;
//! - a proptest over generated (base, ours, theirs) triples built from a few short lines, so
//!   edits collide often, each compared with `git merge-file`;
//! - properties that need no git (identity merges, no added line vanishes).
//!
//! Comparing with git: `git merge-file -p` (default options) decides clean or conflict and gives
//! the clean text; `git merge-file -p --diff3` gives the marker text and the conflict count of
//! [`TextMerge::Conflict`]. The default style's marker output, which dotback does not use, is
//! compared too, through the internal `Merge3`, because it exercises git's conflict refinement.
//! A missing `git` skips these tests, except under CI=true where it fails them.

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use super::text::{Labels, TextMerge, is_mergeable_text, merge};
use super::xmerge::{Merge3, Names, Style};

const LABELS: Labels<'static> = Labels { ours: "ours", base: "base", theirs: "theirs" };

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The `git` binary, or None (after printing SKIPPED) if there is none; under CI=true a
/// missing git fails the test instead.
fn git_bin() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join("git")).find(|p| p.is_file()));
    if found.is_none() {
        if in_ci() {
            panic!("`git` is required by the merge oracle tests under CI=true but was not found on PATH");
        }
        eprintln!("SKIPPED: `git` not found; the merge is not compared with `git merge-file`");
    }
    found
}

/// `git merge-file -p [--diff3] -L ours -L base -L theirs`: its output and exit code (the
/// number of conflicts), unaffected by any git configuration.
fn git_merge_file(
    git: &Path,
    base: &str,
    ours: &str,
    theirs: &str,
    labels: Labels<'_>,
    diff3: bool,
) -> (String, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in [("ours", ours), ("base", base), ("theirs", theirs)] {
        std::fs::write(dir.path().join(name), text).expect("write merge input");
    }
    let mut cmd = Command::new(git);
    cmd.current_dir(dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CEILING_DIRECTORIES", dir.path())
        .args(["-c", "merge.conflictStyle=merge", "merge-file", "-p"]);
    if diff3 {
        cmd.arg("--diff3");
    }
    cmd.args(["-L", labels.ours, "-L", labels.base, "-L", labels.theirs, "ours", "base", "theirs"]);
    let out = cmd.output().expect("run git merge-file");
    let code = out.status.code().expect("git merge-file killed by a signal");
    assert!((0..128).contains(&code), "git merge-file failed ({code}): {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).expect("git merge-file printed UTF-8"), code as usize)
}

/// The default (non-diff3) style output and conflict count, which `merge` uses only to decide.
fn default_style(base: &str, ours: &str, theirs: &str, labels: Labels<'_>) -> (String, usize) {
    let names = Names { ours: labels.ours, base: labels.base, theirs: labels.theirs };
    Merge3::new(base, ours, theirs).run(Style::Merge, names)
}

/// Compares `merge` (and the default style) with `git merge-file` on one triple.
fn check_with_git(git: &Path, base: &str, ours: &str, theirs: &str, labels: Labels<'_>) {
    let ctx = || format!("\nbase:   {}\nours:   {}\ntheirs: {}", shown(base), shown(ours), shown(theirs));
    let (git_plain, git_plain_conflicts) = git_merge_file(git, base, ours, theirs, labels, false);
    let (plain, plain_conflicts) = default_style(base, ours, theirs, labels);
    assert_eq!(plain, git_plain, "default style differs from git merge-file{}", ctx());
    // git's exit code is the number of conflicts, but at most 127.
    assert_eq!(plain_conflicts.min(127), git_plain_conflicts, "default style conflict count differs{}", ctx());
    match merge(base, ours, theirs, labels) {
        TextMerge::Clean(text) => {
            assert_eq!(git_plain_conflicts, 0, "clean here, but git merge-file reports conflicts{}", ctx());
            assert_eq!(text, git_plain, "clean result differs from git merge-file{}", ctx());
        }
        TextMerge::Conflict { with_markers, conflicts } => {
            assert!(git_plain_conflicts > 0, "conflict here, but git merge-file merges cleanly{}", ctx());
            let (git_diff3, git_diff3_conflicts) = git_merge_file(git, base, ours, theirs, labels, true);
            assert_eq!(with_markers, git_diff3, "markers differ from git merge-file --diff3{}", ctx());
            assert_eq!(
                conflicts.min(127),
                git_diff3_conflicts,
                "conflict count differs from git merge-file --diff3{}",
                ctx()
            );
        }
    }
}

/// An input for a failure message: whole if short, else its length and start.
fn shown(text: &str) -> String {
    if text.len() <= 400 {
        format!("{text:?}")
    } else {
        let cut = (0..=300).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        format!("({} bytes) {:?}...", text.len(), &text[..cut])
    }
}

// ---------------------------------------------------------------------------------------------
// The table: git's t/t6403-merge-file.sh, and our own edge cases.

const ORIG: &str = "\
Dominus regit me,
et nihil mihi deerit.
In loco pascuae ibi me collocavit,
super aquam refectionis educavit me;
animam meam convertit,
deduxit me super semitas jusitiae,
propter nomen suum.
";

const TAIL: &str = "\
Nam et si ambulavero in medio umbrae mortis,
non timebo mala, quoniam tu mecum es:
virga tua et baculus tuus ipsa me consolata sunt.
";

/// t6403's new1.txt: orig with three lines appended.
fn new1() -> String {
    format!("{ORIG}{TAIL}")
}

/// new2.txt: the first two lines joined.
fn new2() -> String {
    ORIG.replacen("me,\net", "me, et", 1)
}

/// new3.txt: DOMINUS.
fn new3() -> String {
    ORIG.replacen("Dominus", "DOMINUS", 1)
}

/// new4.txt: new2 without the final newline.
fn new4() -> String {
    new2().trim_end_matches('\n').to_owned()
}

/// new5.txt: new1 with " TU ".
fn new5() -> String {
    new1().replace(" tu ", " TU ")
}

/// new6.txt / new7.txt: new5 with the line endings `deerit.` and `me;` changed differently.
fn new6() -> String {
    new5().replace("deerit.\n", "deerit;\n").replace("me;\n", "me.\n")
}

fn new7() -> String {
    new5().replace("deerit.\n", "deerit,\n").replace("me;\n", "me,\n")
}

/// new8.txt / new9.txt: new6 / new7 with four empty lines after `deerit`, and `locavit`
/// changed differently.
fn new8() -> String {
    new6().replace("deerit;\n", "deerit;\n\n\n\n\n").replace("locavit,", "locavit;")
}

fn new9() -> String {
    new7().replace("deerit,\n", "deerit,\n\n\n\n\n").replace("locavit,", "locavit --")
}

const BASE_C: &str = "\
int f(int x, int y)
{
\tif (x == 0)
\t{
\t\treturn y;
\t}
\treturn x;
}

int g(size_t u)
{
\twhile (u < 30)
\t{
\t\tu++;
\t}
\treturn u;
}
";

const OURS_C: &str = "\
int g(size_t u)
{
\twhile (u < 30)
\t{
\t\tu++;
\t}
\treturn u;
}

int h(int x, int y, int z)
{
\tif (z == 0)
\t{
\t\treturn x;
\t}
\treturn y;
}
";

fn theirs_c() -> String {
    BASE_C.replace("u < 30", "u > 34").replace("u++", "u--")
}

/// What a table case must produce, independently of git.
enum Expect {
    /// `merge` returns `Clean` with this text.
    Clean(String),
    /// `merge` returns `Conflict` with this marker text (None: not pinned) and count.
    Diff3(Option<String>, usize),
    /// The default style (git merge-file without --diff3) gives this text (None: not pinned)
    /// and count.
    Default(Option<String>, usize),
    /// The diff3 style (unrefined hunks) has this many conflicts.
    Unrefined(usize),
}

struct Case {
    name: &'static str,
    base: String,
    ours: String,
    theirs: String,
    /// The -L labels t6403 uses (file names), so its expected outputs apply verbatim.
    labels: Labels<'static>,
    expect: Vec<Expect>,
}

fn case(name: &'static str, base: &str, ours: &str, theirs: &str, expect: Vec<Expect>) -> Case {
    Case { name, base: base.into(), ours: ours.into(), theirs: theirs.into(), labels: LABELS, expect }
}

fn labeled(mut c: Case, ours: &'static str, base: &'static str, theirs: &'static str) -> Case {
    c.labels = Labels { ours, base, theirs };
    c
}

fn clean(text: &str) -> Expect {
    Expect::Clean(text.into())
}

fn diff3(text: &str, conflicts: usize) -> Expect {
    Expect::Diff3(Some(text.into()), conflicts)
}

fn table() -> Vec<Case> {
    let merged12 = format!("{}{TAIL}", new2());
    vec![
        // ---- t6403-merge-file.sh ----
        case("t6403 merge with no changes", ORIG, ORIG, ORIG, vec![clean(ORIG)]),
        case("t6403 merge without conflict", ORIG, &new1(), &new2(), vec![clean(&merged12)]),
        // test_expect_failure in t6403: git reports a conflict here (the missing LF turns
        // theirs' last line into a change that touches ours' appended lines). We match git.
        case(
            "t6403 merge without conflict (missing LF at EOF) is a known git conflict",
            ORIG,
            &new1(),
            &new4(),
            vec![Expect::Diff3(None, 1), Expect::Default(None, 1)],
        ),
        case(
            "t6403 missing LF at EOF, away from change in the other file",
            &new2(),
            &new4(),
            &new3(),
            vec![clean(new3().trim_end_matches('\n'))],
        ),
        labeled(
            case(
                "t6403 merge with conflicts",
                ORIG,
                &merged12,
                &new3(),
                vec![Expect::Default(
                    Some(format!(
                        "<<<<<<< test.txt\nDominus regit me, et nihil mihi deerit.\n=======\nDOMINUS regit me,\n\
                         et nihil mihi deerit.\n>>>>>>> new3.txt\n{}{TAIL}",
                        ORIG.split_inclusive('\n').skip(2).collect::<String>()
                    )),
                    1,
                )],
            ),
            "test.txt",
            "orig.txt",
            "new3.txt",
        ),
        labeled(
            case(
                "t6403 conflict in removed tail",
                &new1(),
                ORIG,
                &new5(),
                vec![Expect::Default(
                    Some(format!(
                        "{ORIG}<<<<<<< orig.txt\n=======\n{}>>>>>>> new5.txt\n",
                        TAIL.replace(" tu ", " TU ")
                    )),
                    1,
                )],
            ),
            "orig.txt",
            "new1.txt",
            "new5.txt",
        ),
        case("t6403 MERGE_ZEALOUS simplifies non-conflicts", &new5(), &new6(), &new7(), vec![Expect::Default(None, 1)]),
        labeled(
            case(
                "t6403 ZEALOUS_ALNUM, and \"diff3 -m\" style output",
                &new5(),
                &new8(),
                &new9(),
                vec![
                    Expect::Default(None, 1),
                    diff3(
                        "Dominus regit me,\n\
                         <<<<<<< new8.txt\n\
                         et nihil mihi deerit;\n\n\n\n\n\
                         In loco pascuae ibi me collocavit;\n\
                         super aquam refectionis educavit me.\n\
                         ||||||| new5.txt\n\
                         et nihil mihi deerit.\n\
                         In loco pascuae ibi me collocavit,\n\
                         super aquam refectionis educavit me;\n\
                         =======\n\
                         et nihil mihi deerit,\n\n\n\n\n\
                         In loco pascuae ibi me collocavit --\n\
                         super aquam refectionis educavit me,\n\
                         >>>>>>> new9.txt\n\
                         animam meam convertit,\n\
                         deduxit me super semitas jusitiae,\n\
                         propter nomen suum.\n\
                         Nam et si ambulavero in medio umbrae mortis,\n\
                         non timebo mala, quoniam TU mecum es:\n\
                         virga tua et baculus tuus ipsa me consolata sunt.\n",
                        1,
                    ),
                ],
            ),
            "new8.txt",
            "new5.txt",
            "new9.txt",
        ),
        case(
            "t6403 conflict at EOF without LF",
            "line1\nline2\nline3",
            "line1\nline2\nline3x",
            "line1\nline2\nline3y",
            vec![diff3(
                "line1\nline2\n<<<<<<< ours\nline3x\n||||||| base\nline3\n=======\nline3y\n>>>>>>> theirs\n",
                1,
            )],
        ),
        case(
            "t6403 conflict sections match existing line endings",
            "1\r\n2\r\n3",
            "1\r\n2\r\n4",
            "1\r\n2\r\n5",
            vec![diff3("1\r\n2\r\n<<<<<<< ours\r\n4\r\n||||||| base\r\n3\r\n=======\r\n5\r\n>>>>>>> theirs\r\n", 1)],
        ),
        labeled(
            case(
                "t6403 merging C files with myers creates some spurious conflicts",
                BASE_C,
                OURS_C,
                &theirs_c(),
                vec![diff3(
                    "int g(size_t u)\n{\n\twhile (u < 30)\n\t{\n\t\tu++;\n\t}\n\treturn u;\n}\n\n\
                     int h(int x, int y, int z)\n{\n\
                     <<<<<<< ours.c\n\tif (z == 0)\n||||||| base.c\n\
                     \twhile (u < 30)\n=======\n\twhile (u > 34)\n>>>>>>> theirs.c\n\
                     \t{\n\
                     <<<<<<< ours.c\n\t\treturn x;\n||||||| base.c\n\t\tu++;\n=======\n\t\tu--;\n>>>>>>> theirs.c\n\
                     \t}\n\treturn y;\n}\n",
                    2,
                )],
            ),
            "ours.c",
            "base.c",
            "theirs.c",
        ),
        // ---- our own edge cases ----
        case("all empty", "", "", "", vec![clean("")]),
        case("both sides add the same file", "", "a\nb\n", "a\nb\n", vec![clean("a\nb\n")]),
        case(
            "both sides add different files",
            "",
            "a\n",
            "b\n",
            vec![diff3("<<<<<<< ours\na\n||||||| base\n=======\nb\n>>>>>>> theirs\n", 1)],
        ),
        case("only ours adds a file", "", "a\n", "", vec![clean("a\n")]),
        case("both sides delete everything", "a\nb\n", "", "", vec![clean("")]),
        case(
            "one side deletes everything, the other edits",
            "a\nb\n",
            "",
            "a\nB\n",
            vec![diff3("<<<<<<< ours\n||||||| base\na\nb\n=======\na\nB\n>>>>>>> theirs\n", 1)],
        ),
        case("identical edits", "1\n2\n3\n", "1\nX\n3\n", "1\nX\n3\n", vec![clean("1\nX\n3\n")]),
        case(
            "non-overlapping edits",
            "1\n2\n3\n4\n5\n",
            "1\nA\n3\n4\n5\n",
            "1\n2\n3\nB\n5\n",
            vec![clean("1\nA\n3\nB\n5\n")],
        ),
        // Adjacent lines: git needs an unchanged base line between the two sides' changes.
        case(
            "edits to adjacent lines conflict",
            "1\n2\n3\n4\n",
            "1\nA\n3\n4\n",
            "1\n2\nB\n4\n",
            vec![diff3("1\n<<<<<<< ours\nA\n3\n||||||| base\n2\n3\n=======\n2\nB\n>>>>>>> theirs\n4\n", 1)],
        ),
        case(
            "an insertion right after the other side's edit conflicts",
            "1\n2\n3\n",
            "1\nA\n3\n",
            "1\n2\nI\n3\n",
            vec![diff3("1\n<<<<<<< ours\nA\n||||||| base\n2\n=======\n2\nI\n>>>>>>> theirs\n3\n", 1)],
        ),
        case(
            "an insertion right before the other side's edit conflicts",
            "1\n2\n3\n",
            "1\nA\n3\n",
            "1\nI\n2\n3\n",
            vec![diff3("1\n<<<<<<< ours\nA\n||||||| base\n2\n=======\nI\n2\n>>>>>>> theirs\n3\n", 1)],
        ),
        case("insertions at the same place conflict", "1\n2\n", "1\nA\n2\n", "1\nB\n2\n", vec![Expect::Diff3(None, 1)]),
        case(
            "the same insertion at the same place merges",
            "1\n2\n",
            "1\nA\n2\n",
            "1\nA\n2\n",
            vec![clean("1\nA\n2\n")],
        ),
        case(
            "a delete next to an unchanged line merges",
            "1\n2\n3\n4\n",
            "1\n3\n4\n",
            "1\n2\n3\nB\n",
            vec![clean("1\n3\nB\n")],
        ),
        case("ours drops the final newline", "a\nb\nc\n", "a\nb\nc", "A\nb\nc\n", vec![clean("A\nb\nc")]),
        case("theirs adds a final newline", "a\nb\nc", "A\nb\nc", "a\nb\nc\n", vec![clean("A\nb\nc\n")]),
        case(
            "conflicting edits without final newline",
            "a",
            "b",
            "c",
            vec![diff3("<<<<<<< ours\nb\n||||||| base\na\n=======\nc\n>>>>>>> theirs\n", 1)],
        ),
        case(
            "CRLF text merges with CRLF kept",
            "1\r\n2\r\n3\r\n4\r\n5\r\n",
            "1\r\nA\r\n3\r\n4\r\n5\r\n",
            "1\r\n2\r\n3\r\nB\r\n5\r\n",
            vec![clean("1\r\nA\r\n3\r\nB\r\n5\r\n")],
        ),
        case(
            "CRLF conflict gets CRLF markers",
            "1\r\n2\r\n3\r\n",
            "1\r\nA\r\n3\r\n",
            "1\r\nB\r\n3\r\n",
            vec![diff3("1\r\n<<<<<<< ours\r\nA\r\n||||||| base\r\n2\r\n=======\r\nB\r\n>>>>>>> theirs\r\n3\r\n", 1)],
        ),
        case(
            "LF vs CRLF on the same line conflicts, LF markers",
            "1\n2\n3\n",
            "1\n2\r\n3\n",
            "1\nX\n3\n",
            vec![diff3("1\n<<<<<<< ours\n2\r\n||||||| base\n2\n=======\nX\n>>>>>>> theirs\n3\n", 1)],
        ),
        case(
            "an identical edit and a one-sided edit merge",
            "1\n2\n3\n4\n5\n",
            "1\nX\n3\nY\n5\n",
            "1\nX\n3\n4\n5\n",
            vec![clean("1\nX\n3\nY\n5\n")],
        ),
        // Both delete a "b", but the diffs line the deletions up differently, so the unrefined
        // (diff3) hunks conflict; git's refinement finds both sides' lines equal and merges.
        case(
            "a conflict whose sides agree after refinement is clean",
            "a\nb\nb\n",
            "a\nb\n",
            "c\na\na\nb\n",
            vec![clean("c\na\na\nb\n"), Expect::Unrefined(1)],
        ),
        case(
            "conflicts far apart stay separate",
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
            "A\n2\n3\n4\n5\n6\n7\n8\nC\n",
            "B\n2\n3\n4\n5\n6\n7\n8\nD\n",
            vec![Expect::Diff3(None, 2), Expect::Default(None, 2)],
        ),
        case(
            "conflicts separated by non-alphanumeric lines join in the default style",
            "1\n}\n}\n}\n}\n2\n",
            "A\n}\n}\n}\n}\nC\n",
            "B\n}\n}\n}\n}\nD\n",
            vec![Expect::Diff3(None, 2), Expect::Default(None, 1)],
        ),
        case(
            "non-ASCII text",
            "grüß\nλ\n日本\n",
            "GRÜSS\nλ\n日本\n",
            "grüß\nλ\n日本語\n",
            vec![clean("GRÜSS\nλ\n日本語\n")],
        ),
    ]
}

fn check_expectations(c: &Case) {
    let got = merge(&c.base, &c.ours, &c.theirs, c.labels);
    for expect in &c.expect {
        match expect {
            Expect::Clean(text) => assert_eq!(got, TextMerge::Clean(text.clone()), "{}", c.name),
            Expect::Diff3(text, n) => {
                let TextMerge::Conflict { with_markers, conflicts } = &got else {
                    panic!("{}: expected a conflict, got {got:?}", c.name)
                };
                assert_eq!(conflicts, n, "{}: conflict count", c.name);
                if let Some(text) = text {
                    assert_eq!(with_markers, text, "{}", c.name);
                }
            }
            Expect::Unrefined(n) => {
                let names = Names { ours: c.labels.ours, base: c.labels.base, theirs: c.labels.theirs };
                let (_, conflicts) = Merge3::new(&c.base, &c.ours, &c.theirs).run(Style::Diff3, names);
                assert_eq!(conflicts, *n, "{}: diff3-style conflict count", c.name);
            }
            Expect::Default(text, n) => {
                let (out, conflicts) = default_style(&c.base, &c.ours, &c.theirs, c.labels);
                assert_eq!(conflicts, *n, "{}: default-style conflict count", c.name);
                if let Some(text) = text {
                    assert_eq!(&out, text, "{}: default style", c.name);
                }
            }
        }
    }
}

#[test]
fn table_matches_t6403_expectations() {
    for c in table() {
        check_expectations(&c);
    }
}

#[test]
fn table_matches_git_merge_file() {
    let Some(git) = git_bin() else { return };
    for c in table() {
        eprintln!("case: {}", c.name);
        check_with_git(&git, &c.base, &c.ours, &c.theirs, c.labels);
    }
}

// ---------------------------------------------------------------------------------------------
// Generated triples.

/// Lines base is made of: few, short, and some without letters (git joins conflicts separated
/// only by those) or with a stray CR.
const BASE_LINES: [&str; 6] = ["a", "b", "c", "", "}", "b\r"];
/// Lines edits insert: the base lines and two new ones.
const EDIT_LINES: [&str; 8] = ["a", "b", "c", "", "}", "b\r", "x", "y"];

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, usize),
    Delete(usize),
    Replace(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..EDIT_LINES.len()).prop_map(|(at, line)| Edit::Insert(at, line)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), 0..EDIT_LINES.len()).prop_map(|(at, line)| Edit::Replace(at, line)),
    ]
}

fn apply(base: &[&'static str], edits: &[Edit]) -> Vec<&'static str> {
    let mut lines = base.to_vec();
    for e in edits {
        match *e {
            Edit::Insert(at, line) => lines.insert(at % (lines.len() + 1), EDIT_LINES[line]),
            Edit::Delete(at) if !lines.is_empty() => {
                lines.remove(at % lines.len());
            }
            Edit::Replace(at, line) if !lines.is_empty() => {
                let at = at % lines.len();
                lines[at] = EDIT_LINES[line];
            }
            _ => {}
        }
    }
    lines
}

fn render(lines: &[&str], eol: &str, final_newline: bool) -> String {
    let mut text = lines.iter().map(|l| format!("{l}{eol}")).collect::<String>();
    if !final_newline {
        text.truncate(text.len() - if text.ends_with(eol) { eol.len() } else { 0 });
    }
    text
}

/// (base, ours, theirs): ours and theirs are base after 0-4 random line edits each; a quarter
/// of the triples use CRLF, and each file may lack its final newline.
fn triple() -> impl Strategy<Value = (String, String, String)> {
    let base = prop::collection::vec(prop::sample::select(BASE_LINES.to_vec()), 0..10);
    let edits = || prop::collection::vec(edit(), 0..5);
    let no_final_newline = || prop::bool::weighted(0.15);
    (base, edits(), edits(), 0..4u8, no_final_newline(), no_final_newline(), no_final_newline()).prop_map(
        |(base, e1, e2, eol, nb, no, nt)| {
            let eol = if eol == 3 { "\r\n" } else { "\n" };
            let ours = apply(&base, &e1);
            let theirs = apply(&base, &e2);
            (render(&base, eol, !nb), render(&ours, eol, !no), render(&theirs, eol, !nt))
        },
    )
}

#[test]
fn generated_triples_match_git_merge_file() {
    let Some(git) = git_bin() else { return };
    // ~200 cases keep this to a few seconds (git runs two or three times per case); set
    // PROPTEST_CASES for a longer hunt. No regression files: they would land outside src/merge.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    TestRunner::new(config)
        .run(&triple(), |(base, ours, theirs)| {
            check_with_git(&git, &base, &ours, &theirs, LABELS);
            Ok(())
        })
        .unwrap();
}

/// A deterministic pseudo-random generator for the large-input test.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Long files with many changes, so that git's Myers cost limits come into play: the
/// furthest-reaching fallback (edit cost 256, or more for files over ~32k lines) and the
/// shortcuts taken at a good snake after dense changes (files over ~32k lines only).
#[test]
fn large_inputs_match_git_merge_file() {
    let Some(git) = git_bin() else { return };
    let mut rng = Lcg(7);
    let mut file = |len: usize| -> Vec<String> { (0..len).map(|_| format!("line {}\n", rng.below(150))).collect() };
    let (small, large) = (file(3000), file(34_000));
    let mut rng = Lcg(11);
    let mut scattered = |base: &[String]| -> String {
        let mut lines = base.to_vec();
        for _ in 0..400 {
            let at = rng.below(lines.len());
            match rng.below(4) {
                0 => lines.insert(at, format!("line {}\n", rng.below(150))),
                1 => {
                    lines.remove(at);
                }
                2 => lines[at] = format!("new {}\n", rng.below(5000)),
                _ => {
                    let to = rng.below(lines.len());
                    lines.swap(at, to);
                }
            }
        }
        lines.concat()
    };
    // Dense changes in every other block, unchanged blocks between them.
    let blocks = |base: &[String], size: usize, change: fn(&mut [String])| -> String {
        let mut lines = base.to_vec();
        lines.chunks_mut(size).skip(1).step_by(2).for_each(change);
        lines.concat()
    };
    let reverse: fn(&mut [String]) = |block| block.reverse();
    let rotate: fn(&mut [String]) = |block| block.rotate_left(block.len() / 2);
    let mut rng = Lcg(3);
    let mut deletes = |base: &[String]| -> String {
        let mut lines = base.to_vec();
        for _ in 0..1500 {
            lines.remove(rng.below(lines.len()));
        }
        lines.concat()
    };
    let triples = [
        (small.concat(), scattered(&small), scattered(&small)),
        (small.concat(), blocks(&small, 50, reverse), scattered(&small)),
        (large.concat(), blocks(&large, 25, rotate), deletes(&large)),
    ];
    super::xdiff::reset_heuristics_used();
    for (base, ours, theirs) in &triples {
        check_with_git(&git, base, ours, theirs, LABELS);
    }
    let used = super::xdiff::heuristics_used();
    assert!(used.iter().all(|&n| n > 0), "not every cost heuristic was exercised: {used:?}");
}

// ---------------------------------------------------------------------------------------------
// Properties that need no git.

/// Lines of `side` that base does not have at all (by content, line break ignored).
fn added_lines<'a>(base: &str, side: &'a str) -> Vec<&'a str> {
    let base_lines: Vec<&str> = base.lines().collect();
    side.lines().filter(|l| !base_lines.contains(l)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn same_change_on_both_sides_is_clean((base, ours, _theirs) in triple()) {
        prop_assert_eq!(merge(&base, &ours, &ours, LABELS), TextMerge::Clean(ours.clone()));
    }

    #[test]
    fn one_side_unchanged_takes_the_other((base, ours, theirs) in triple()) {
        prop_assert_eq!(merge(&base, &base, &theirs, LABELS), TextMerge::Clean(theirs.clone()));
        prop_assert_eq!(merge(&base, &ours, &base, LABELS), TextMerge::Clean(ours.clone()));
    }

    #[test]
    fn no_added_or_changed_line_vanishes((base, ours, theirs) in triple()) {
        let result = match merge(&base, &ours, &theirs, LABELS) {
            TextMerge::Clean(text) => text,
            TextMerge::Conflict { with_markers, conflicts } => {
                let separators = with_markers.split_inclusive('\n').filter(|l| l.starts_with("=======")).count();
                prop_assert!(conflicts >= 1);
                prop_assert_eq!(separators, conflicts);
                with_markers
            }
        };
        let result_lines: Vec<&str> = result.lines().collect();
        for line in added_lines(&base, &ours).into_iter().chain(added_lines(&base, &theirs)) {
            // `lines()` strips "\n" and one "\r"; markers may add a line break to the last line.
            prop_assert!(
                result_lines.iter().any(|r| r.trim_end_matches('\r') == line.trim_end_matches('\r')),
                "line {:?} vanished from {:?}", line, result
            );
        }
    }

    #[test]
    fn clean_merges_are_the_same_for_diff3_style((base, ours, theirs) in triple()) {
        // When the unrefined (diff3) merge is clean, the default style is clean with the same
        // text; the converse need not hold.
        let names = Names { ours: "ours", base: "base", theirs: "theirs" };
        let m = Merge3::new(&base, &ours, &theirs);
        let (d3, n3) = m.run(Style::Diff3, names);
        if n3 == 0 {
            prop_assert_eq!(merge(&base, &ours, &theirs, LABELS), TextMerge::Clean(d3));
        }
    }
}

#[test]
fn labels_with_line_breaks_stay_on_their_marker_line() {
    let labels = Labels { ours: "my\nlaptop", base: "merge\r\nbase", theirs: "work" };
    let TextMerge::Conflict { with_markers, .. } = merge("a\n", "b\n", "c\n", labels) else { panic!("no conflict") };
    assert_eq!(with_markers, "<<<<<<< my laptop\nb\n||||||| merge  base\na\n=======\nc\n>>>>>>> work\n");
}

#[test]
fn mergeable_text_is_utf8_without_nul() {
    assert!(is_mergeable_text(b""));
    assert!(is_mergeable_text(b"export PATH=$HOME/bin:$PATH\n"));
    assert!(is_mergeable_text("grüß\r\n".as_bytes()));
    assert!(!is_mergeable_text(b"a\0b"));
    assert!(!is_mergeable_text(b"\x89PNG\r\n\x1a\n"));
    // UTF-16 has NULs; Latin-1 is not UTF-8.
    assert!(!is_mergeable_text(&[0xff, 0xfe, b'a', 0]));
    assert!(!is_mergeable_text(b"gr\xfc\xdf\n"));
}
