
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
            cand forget 'Stop tracking paths. The live files in this HOME are left untouched; other devices remove their copies on sync where unchanged (after a backup), as for a file deleted here'
            cand status 'Show what differs between HOME and the store, and what the store has not committed'
            cand diff 'Show how HOME differs from the store, as the patch `dotback apply` would make'
            cand apply 'Make HOME match the store'
            cand commit 'Capture files changed in HOME into the store and commit everything in the store'
            cand resolve 'Settle a conflict sync left: keep this device''s version, take the other device''s, or merge them'
            cand log 'Show the history of the store, or of one path, with the audit trail'
            cand restore 'Restore a file or directory as it was at a commit or a time'
            cand sync 'Capture and commit, fetch every remote, merge, apply, push to every remote'
            cand bootstrap 'Restore this machine from a remote: clone, unlock, keys, packages, dotfiles, templates, verify, and the store''s own steps, in dependency order'
            cand push 'Push the store''s commits to every remote, without capturing or merging'
            cand watch 'Sync in real time: commit and push every save in HOME within a second, and apply what other devices push, until stopped (Ctrl-C or SIGTERM finish the commit in flight first)'
            cand check 'Check the backup: the store''s objects, encryption, secrets, drift, remotes, the time since the last sync, 3-2-1, conflicts, drills and storage'
            cand drill 'Prove a remote restores: clone it into a temporary directory, restore into a temporary HOME, and compare every tracked file (contents and mode) with the live HOME and the store'
            cand keys 'Manage who can decrypt the store''s secrets: devices, the recovery key, GPG keys'
            cand packages 'Record, compare and restore what each device installed on purpose (apt, dnf, pacman, Homebrew, flatpak, snap, rustup, cargo, pip --user, pipx, npm -g, VS Code and VSCodium extensions, Firefox and Chromium extensions)'
            cand remote 'Manage the store''s remotes (git remotes): a hosted repository, a bare one on a USB disk or NAS…'
            cand hooks 'Manage the git hooks dotback installs into the store'
            cand service 'Run `dotback watch` as a user service, and `dotback check --alert` daily and `dotback drill --alert` monthly on a schedule: systemd user units and timers on Linux, launchd agents on macOS. The service files hold no secret: each command loads the device identity from its file or the OS keyring'
            cand guard 'Refuse plaintext secrets in what is staged for commit (run by the store''s pre-commit hook)'
            cand recover 'Finish, or give up, what a dotback process left half done when it was stopped or failed'
            cand archive 'Write an encrypted archive of the whole store to a directory, check it, and prune old ones'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;init'= {
            cand --source 'Use DIR as the store'
            cand --device 'This device''s name (default: the host name)'
            cand --identity 'Where this device keeps its age identity: a 0600 file, or the OS keyring'
            cand --passphrase-file 'Read the recovery passphrase (for a new store) from FILE instead of the terminal'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;add'= {
            cand --exact 'Mark added directories exact: apply removes files the store does not list'
            cand --encrypt 'Encrypt the added files even when they do not look secret'
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
            cand --allow-deletions 'Record the deletions in HOME even when the deletion guard holds them'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;resolve'= {
            cand --ours 'Keep this device''s version (wherever it is); delete the conflict copy'
            cand --theirs 'Take the other device''s version (wherever it is); delete the conflict copy'
            cand --merge 'Merge both versions in an editor; conflict markers must all be settled'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;log'= {
            cand -n 'Show the newest N entries'
            cand --audit 'Every device''s audit records, not only this device''s (with PATH too)'
            cand --json 'Print JSON (stable field names) instead of text'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;restore'= {
            cand --at 'The commit or time to restore from'
            cand --to 'Write below DIR instead of HOME (HOME is left alone)'
            cand --json 'Print JSON (stable field names) instead of text'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;sync'= {
            cand --remote 'Only this remote'
            cand --no-push 'Fetch, merge and apply, but push nowhere'
            cand --dry-run 'Show what sync would commit, merge, apply and push, changing nothing but the remote-tracking refs a fetch updates'
            cand --allow-deletions 'Record the deletions in HOME even when the deletion guard holds them'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;bootstrap'= {
            cand --source 'Put the store in DIR (default: chezmoi''s source directory)'
            cand --device 'This device''s name (default: the host name)'
            cand --only 'Run only these steps (clone and unlock always run: every other step needs them)'
            cand --skip 'Leave these steps out'
            cand --from 'Restore the package lists of DEVICE (default: this device''s own, else the device that captured last)'
            cand --passphrase-file 'Read the recovery passphrase from FILE instead of the terminal'
            cand --print-script 'Print the POSIX sh script that installs dotback on a brand-new machine and runs `dotback bootstrap` with the script''s arguments (host it beside your dotfiles: `curl -fsSL URL/bootstrap.sh | sh -s -- REMOTE`)'
            cand --resume 'Continue a bootstrap that failed or was interrupted, skipping the steps it finished'
            cand --dry-run 'Print the ordered plan (each step''s place and why, and the commands the store''s own steps run) and change nothing'
            cand --yes 'Run the store''s own steps without asking, also new or changed ones (read them first with --dry-run), and use sudo for package installs without asking'
            cand --json 'Print the report as JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;push'= {
            cand --remote 'Only this remote'
            cand --retry 'Retry unreachable remotes after 5 s, 30 s and 2 min (without holding the store''s lock meanwhile)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;watch'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;check'= {
            cand --store 'Check the repository at DIR alone, with no device: no identity, config or HOME needed'
            cand --json 'Print the findings as JSON'
            cand --quick 'Do not read blob contents (their presence is checked; no plaintext-secret scan)'
            cand --alert 'Run `alert_command` when an error is found'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;drill'= {
            cand --remote 'The remote to drill (default: the store''s first)'
            cand --passphrase-file 'Read the recovery passphrase from FILE instead of the terminal'
            cand --recovery 'Restore with the recovery passphrase alone, as a brand-new machine would: proves the disaster path'
            cand --json 'Print the report as JSON'
            cand --alert 'Run `alert_command` (device config) when the drill fails or finds a mismatch, the findings as JSON on its stdin'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List the devices and the recovery key every secret is encrypted to'
            cand add-device 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)'
            cand remove-device 'Stop encrypting to a device and re-encrypt every secret without it (one commit)'
            cand rekey 'Re-encrypt every secret to the current recipients'
            cand recovery 'Replace the recovery key with a new one under a new passphrase, and re-encrypt'
            cand unlock 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)'
            cand accept 'Take a held-back change to the recipients, recovery key, manifest or code as your own, and seal it'
            cand revert 'Put back the recipients, recovery key, manifest and code this device trusts, and commit that'
            cand gpg-export 'Export GPG keys (secret ones encrypted) and ownertrust into the store'
            cand gpg-import 'Import the GPG keys and ownertrust stored by `gpg-export`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;keys;list'= {
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;add-device'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;remove-device'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;rekey'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;recovery'= {
            cand --passphrase-file 'Read the new passphrase from FILE instead of the terminal'
            cand --rotate 'Required: make a new recovery key (the old sealed key stays in history, so a new passphrase alone would not retire the old one)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;unlock'= {
            cand --passphrase-file 'Read the passphrase from FILE instead of the terminal'
            cand --recovery 'Use the recovery key (the only way offered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;accept'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;revert'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;gpg-export'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;gpg-import'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;keys;help'= {
            cand list 'List the devices and the recovery key every secret is encrypted to'
            cand add-device 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)'
            cand remove-device 'Stop encrypting to a device and re-encrypt every secret without it (one commit)'
            cand rekey 'Re-encrypt every secret to the current recipients'
            cand recovery 'Replace the recovery key with a new one under a new passphrase, and re-encrypt'
            cand unlock 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)'
            cand accept 'Take a held-back change to the recipients, recovery key, manifest or code as your own, and seal it'
            cand revert 'Put back the recipients, recovery key, manifest and code this device trusts, and commit that'
            cand gpg-export 'Export GPG keys (secret ones encrypted) and ownertrust into the store'
            cand gpg-import 'Import the GPG keys and ownertrust stored by `gpg-export`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;keys;help;list'= {
        }
        &'dotback;keys;help;add-device'= {
        }
        &'dotback;keys;help;remove-device'= {
        }
        &'dotback;keys;help;rekey'= {
        }
        &'dotback;keys;help;recovery'= {
        }
        &'dotback;keys;help;unlock'= {
        }
        &'dotback;keys;help;accept'= {
        }
        &'dotback;keys;help;revert'= {
        }
        &'dotback;keys;help;gpg-export'= {
        }
        &'dotback;keys;help;gpg-import'= {
        }
        &'dotback;keys;help;help'= {
        }
        &'dotback;packages'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand capture 'Record this device''s lists and commit those that changed (a manager that is absent is skipped; one that fails is reported, exit 1, and the others are still recorded)'
            cand diff 'Show what another device''s lists have that this device''s lack'
            cand restore 'Install what a device''s lists have and this machine lacks: missing managers first, then their packages, each checked afterwards. Every command is printed before it runs; sudo is used only after asking. Browser extensions are listed with their store links. Exits 1 when a package failed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;packages;capture'= {
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;packages;diff'= {
            cand --device 'The other device (default: the one whose lists were captured last)'
            cand --reverse 'What this device has that the other lacks'
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;packages;restore'= {
            cand --from 'Whose lists (default: this device''s, else the device captured last)'
            cand --dry-run 'Install nothing: print the commands a restore would run'
            cand --yes 'Use sudo without asking'
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;packages;help'= {
            cand capture 'Record this device''s lists and commit those that changed (a manager that is absent is skipped; one that fails is reported, exit 1, and the others are still recorded)'
            cand diff 'Show what another device''s lists have that this device''s lack'
            cand restore 'Install what a device''s lists have and this machine lacks: missing managers first, then their packages, each checked afterwards. Every command is printed before it runs; sudo is used only after asking. Browser extensions are listed with their store links. Exits 1 when a package failed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;packages;help;capture'= {
        }
        &'dotback;packages;help;diff'= {
        }
        &'dotback;packages;help;restore'= {
        }
        &'dotback;packages;help;help'= {
        }
        &'dotback;remote'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL'
            cand list 'List the remotes'
            cand remove 'Remove a remote (the repository it points to is not touched)'
            cand accept 'Accept a remote whose history was rewritten: show the commits it no longer has (this store keeps them, and the next sync merges and pushes them back) and go on from what it holds now'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;remote;add'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;remote;list'= {
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;remote;remove'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;remote;accept'= {
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;remote;help'= {
            cand add 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL'
            cand list 'List the remotes'
            cand remove 'Remove a remote (the repository it points to is not touched)'
            cand accept 'Accept a remote whose history was rewritten: show the commits it no longer has (this store keeps them, and the next sync merges and pushes them back) and go on from what it holds now'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;remote;help;add'= {
        }
        &'dotback;remote;help;list'= {
        }
        &'dotback;remote;help;remove'= {
        }
        &'dotback;remote;help;accept'= {
        }
        &'dotback;remote;help;help'= {
        }
        &'dotback;hooks'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand install 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`; post-commit pushes a commit made with git in the background; post-merge applies what a `git pull` brought'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;hooks;install'= {
            cand --force 'Replace hooks dotback did not write (they are kept as NAME.before-dotback)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;hooks;help'= {
            cand install 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`; post-commit pushes a commit made with git in the background; post-merge applies what a `git pull` brought'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;hooks;help;install'= {
        }
        &'dotback;hooks;help;help'= {
        }
        &'dotback;service'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand install 'Write the service files for this device (the watcher''s, and the check and drill timers''), then enable and start them'
            cand uninstall 'Stop and disable the watcher''s service and the timers, and remove their files'
            cand status 'Whether the service and the timers are installed and run, and the watcher''s last sync and last error'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;service;install'= {
            cand --no-start 'Only write the files: do not reload, enable or start anything (a machine without a running user service manager)'
            cand --no-timers 'Only the watcher''s service: no check or drill timer'
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;service;uninstall'= {
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;service;status'= {
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;service;help'= {
            cand install 'Write the service files for this device (the watcher''s, and the check and drill timers''), then enable and start them'
            cand uninstall 'Stop and disable the watcher''s service and the timers, and remove their files'
            cand status 'Whether the service and the timers are installed and run, and the watcher''s last sync and last error'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;service;help;install'= {
        }
        &'dotback;service;help;uninstall'= {
        }
        &'dotback;service;help;status'= {
        }
        &'dotback;service;help;help'= {
        }
        &'dotback;guard'= {
            cand --store 'The store to check (default: this device''s store)'
            cand --staged 'Check the files staged in the store''s index (the only mode; named for clarity in hooks)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;recover'= {
            cand --abandon 'Give up an interrupted update of the store instead of finishing it: its files go back to the store''s last commit, and any of them changed since is saved as a backup first'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;archive'= {
            cand --to 'The directory to write to; it must exist (a disk is not mounted by creating it)'
            cand --keep-last 'Keep the N newest archives'
            cand --keep-hourly 'Keep the newest archive of each of the last N hours that have one (UTC)'
            cand --keep-daily 'Keep the newest archive of each of the last N days that have one (UTC)'
            cand --keep-weekly 'Keep the newest archive of each of the last N weeks that have one (ISO weeks)'
            cand --keep-monthly 'Keep the newest archive of each of the last N months that have one'
            cand --keep-yearly 'Keep the newest archive of each of the last N years that have one'
            cand --keep-within 'Keep every archive made within DURATION before the newest (e.g. 7d, 1y6m, 36h)'
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand verify 'Decrypt an archive and check that it is a complete bundle of the store'
            cand list 'List the archives in a directory, when each was made and which rules keep it (nothing is removed)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;archive;verify'= {
            cand --passphrase-file 'Read the recovery passphrase from FILE instead of the terminal'
            cand --recovery 'Decrypt with the recovery key (asks for its passphrase) instead of this device''s key: the `dotback-recovery.age` beside the archive, else the store''s'
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;archive;list'= {
            cand --keep-last 'Keep the N newest archives'
            cand --keep-hourly 'Keep the newest archive of each of the last N hours that have one (UTC)'
            cand --keep-daily 'Keep the newest archive of each of the last N days that have one (UTC)'
            cand --keep-weekly 'Keep the newest archive of each of the last N weeks that have one (ISO weeks)'
            cand --keep-monthly 'Keep the newest archive of each of the last N months that have one'
            cand --keep-yearly 'Keep the newest archive of each of the last N years that have one'
            cand --keep-within 'Keep every archive made within DURATION before the newest (e.g. 7d, 1y6m, 36h)'
            cand --json 'Print JSON (stable field names)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dotback;archive;help'= {
            cand verify 'Decrypt an archive and check that it is a complete bundle of the store'
            cand list 'List the archives in a directory, when each was made and which rules keep it (nothing is removed)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dotback;archive;help;verify'= {
        }
        &'dotback;archive;help;list'= {
        }
        &'dotback;archive;help;help'= {
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
            cand forget 'Stop tracking paths. The live files in this HOME are left untouched; other devices remove their copies on sync where unchanged (after a backup), as for a file deleted here'
            cand status 'Show what differs between HOME and the store, and what the store has not committed'
            cand diff 'Show how HOME differs from the store, as the patch `dotback apply` would make'
            cand apply 'Make HOME match the store'
            cand commit 'Capture files changed in HOME into the store and commit everything in the store'
            cand resolve 'Settle a conflict sync left: keep this device''s version, take the other device''s, or merge them'
            cand log 'Show the history of the store, or of one path, with the audit trail'
            cand restore 'Restore a file or directory as it was at a commit or a time'
            cand sync 'Capture and commit, fetch every remote, merge, apply, push to every remote'
            cand bootstrap 'Restore this machine from a remote: clone, unlock, keys, packages, dotfiles, templates, verify, and the store''s own steps, in dependency order'
            cand push 'Push the store''s commits to every remote, without capturing or merging'
            cand watch 'Sync in real time: commit and push every save in HOME within a second, and apply what other devices push, until stopped (Ctrl-C or SIGTERM finish the commit in flight first)'
            cand check 'Check the backup: the store''s objects, encryption, secrets, drift, remotes, the time since the last sync, 3-2-1, conflicts, drills and storage'
            cand drill 'Prove a remote restores: clone it into a temporary directory, restore into a temporary HOME, and compare every tracked file (contents and mode) with the live HOME and the store'
            cand keys 'Manage who can decrypt the store''s secrets: devices, the recovery key, GPG keys'
            cand packages 'Record, compare and restore what each device installed on purpose (apt, dnf, pacman, Homebrew, flatpak, snap, rustup, cargo, pip --user, pipx, npm -g, VS Code and VSCodium extensions, Firefox and Chromium extensions)'
            cand remote 'Manage the store''s remotes (git remotes): a hosted repository, a bare one on a USB disk or NAS…'
            cand hooks 'Manage the git hooks dotback installs into the store'
            cand service 'Run `dotback watch` as a user service, and `dotback check --alert` daily and `dotback drill --alert` monthly on a schedule: systemd user units and timers on Linux, launchd agents on macOS. The service files hold no secret: each command loads the device identity from its file or the OS keyring'
            cand guard 'Refuse plaintext secrets in what is staged for commit (run by the store''s pre-commit hook)'
            cand recover 'Finish, or give up, what a dotback process left half done when it was stopped or failed'
            cand archive 'Write an encrypted archive of the whole store to a directory, check it, and prune old ones'
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
        &'dotback;help;resolve'= {
        }
        &'dotback;help;log'= {
        }
        &'dotback;help;restore'= {
        }
        &'dotback;help;sync'= {
        }
        &'dotback;help;bootstrap'= {
        }
        &'dotback;help;push'= {
        }
        &'dotback;help;watch'= {
        }
        &'dotback;help;check'= {
        }
        &'dotback;help;drill'= {
        }
        &'dotback;help;keys'= {
            cand list 'List the devices and the recovery key every secret is encrypted to'
            cand add-device 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)'
            cand remove-device 'Stop encrypting to a device and re-encrypt every secret without it (one commit)'
            cand rekey 'Re-encrypt every secret to the current recipients'
            cand recovery 'Replace the recovery key with a new one under a new passphrase, and re-encrypt'
            cand unlock 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)'
            cand accept 'Take a held-back change to the recipients, recovery key, manifest or code as your own, and seal it'
            cand revert 'Put back the recipients, recovery key, manifest and code this device trusts, and commit that'
            cand gpg-export 'Export GPG keys (secret ones encrypted) and ownertrust into the store'
            cand gpg-import 'Import the GPG keys and ownertrust stored by `gpg-export`'
        }
        &'dotback;help;keys;list'= {
        }
        &'dotback;help;keys;add-device'= {
        }
        &'dotback;help;keys;remove-device'= {
        }
        &'dotback;help;keys;rekey'= {
        }
        &'dotback;help;keys;recovery'= {
        }
        &'dotback;help;keys;unlock'= {
        }
        &'dotback;help;keys;accept'= {
        }
        &'dotback;help;keys;revert'= {
        }
        &'dotback;help;keys;gpg-export'= {
        }
        &'dotback;help;keys;gpg-import'= {
        }
        &'dotback;help;packages'= {
            cand capture 'Record this device''s lists and commit those that changed (a manager that is absent is skipped; one that fails is reported, exit 1, and the others are still recorded)'
            cand diff 'Show what another device''s lists have that this device''s lack'
            cand restore 'Install what a device''s lists have and this machine lacks: missing managers first, then their packages, each checked afterwards. Every command is printed before it runs; sudo is used only after asking. Browser extensions are listed with their store links. Exits 1 when a package failed'
        }
        &'dotback;help;packages;capture'= {
        }
        &'dotback;help;packages;diff'= {
        }
        &'dotback;help;packages;restore'= {
        }
        &'dotback;help;remote'= {
            cand add 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL'
            cand list 'List the remotes'
            cand remove 'Remove a remote (the repository it points to is not touched)'
            cand accept 'Accept a remote whose history was rewritten: show the commits it no longer has (this store keeps them, and the next sync merges and pushes them back) and go on from what it holds now'
        }
        &'dotback;help;remote;add'= {
        }
        &'dotback;help;remote;list'= {
        }
        &'dotback;help;remote;remove'= {
        }
        &'dotback;help;remote;accept'= {
        }
        &'dotback;help;hooks'= {
            cand install 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`; post-commit pushes a commit made with git in the background; post-merge applies what a `git pull` brought'
        }
        &'dotback;help;hooks;install'= {
        }
        &'dotback;help;service'= {
            cand install 'Write the service files for this device (the watcher''s, and the check and drill timers''), then enable and start them'
            cand uninstall 'Stop and disable the watcher''s service and the timers, and remove their files'
            cand status 'Whether the service and the timers are installed and run, and the watcher''s last sync and last error'
        }
        &'dotback;help;service;install'= {
        }
        &'dotback;help;service;uninstall'= {
        }
        &'dotback;help;service;status'= {
        }
        &'dotback;help;guard'= {
        }
        &'dotback;help;recover'= {
        }
        &'dotback;help;archive'= {
            cand verify 'Decrypt an archive and check that it is a complete bundle of the store'
            cand list 'List the archives in a directory, when each was made and which rules keep it (nothing is removed)'
        }
        &'dotback;help;archive;verify'= {
        }
        &'dotback;help;archive;list'= {
        }
        &'dotback;help;completions'= {
        }
        &'dotback;help;help'= {
        }
    ]
    $completions[$command]
}
