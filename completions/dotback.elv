
use builtin;
use str;

set edit:completion:arg-completer[dotback] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'dotback'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'dotback'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Create the store (or adopt an existing chezmoi source directory) and set up this device'
            cand add 'Track files, directories and symlinks from HOME'
            cand forget 'Stop tracking paths. The live files in HOME are left untouched'
            cand status 'Show what differs between HOME and the store, and what the store has not committed'
            cand diff 'Show how HOME differs from the store, as the patch `dotback apply` would make'
            cand apply 'Make HOME match the store'
            cand commit 'Capture files changed in HOME into the store and commit everything in the store'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;init'= {
            cand --source 'Use DIR as the store'
            cand --device 'This device''s name (default: the host name)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;add'= {
            cand --exact 'Mark added directories exact: apply removes files the store does not list'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;forget'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;status'= {
            cand --json 'Print JSON (stable field names) instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;diff'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;apply'= {
            cand -n 'Print the plan; change nothing'
            cand --dry-run 'Print the plan; change nothing'
            cand --force 'Also overwrite files changed in HOME (they are backed up first)'
            cand --json 'Print JSON (stable field names) instead of text'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;commit'= {
            cand -m 'The first line of the commit message'
            cand --message 'The first line of the commit message'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;help'= {
            cand init 'Create the store (or adopt an existing chezmoi source directory) and set up this device'
            cand add 'Track files, directories and symlinks from HOME'
            cand forget 'Stop tracking paths. The live files in HOME are left untouched'
            cand status 'Show what differs between HOME and the store, and what the store has not committed'
            cand diff 'Show how HOME differs from the store, as the patch `dotback apply` would make'
            cand apply 'Make HOME match the store'
            cand commit 'Capture files changed in HOME into the store and commit everything in the store'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;help;init'= {
        }
        &'dotback;help;add'= {
        }
        &'dotback;help;forget'= {
        }
        &'dotback;help;status'= {
        }
        &'dotback;help;diff'= {
        }
        &'dotback;help;apply'= {
        }
        &'dotback;help;commit'= {
        }
        &'dotback;help;completions'= {
        }
        &'dotback;help;help'= {
        }
    ]
    $completions[$command]
}
