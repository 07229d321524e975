
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'dotback' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'dotback'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'dotback' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the store (or adopt an existing chezmoi source directory) and set up this device')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Track files, directories and symlinks from HOME')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Stop tracking paths. The live files in this HOME are left untouched; other devices remove their copies on sync where unchanged (after a backup), as for a file deleted here')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what differs between HOME and the store, and what the store has not committed')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show how HOME differs from the store, as the patch `dotback apply` would make')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make HOME match the store')
            [CompletionResult]::new('commit', 'commit', [CompletionResultType]::ParameterValue, 'Capture files changed in HOME into the store and commit everything in the store')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Settle a conflict sync left: keep this device''s version, take the other device''s, or merge them')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show the history of the store, or of one path, with the audit trail')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Restore a file or directory as it was at a commit or a time')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Capture and commit, fetch every remote, merge, apply, push to every remote')
            [CompletionResult]::new('bootstrap', 'bootstrap', [CompletionResultType]::ParameterValue, 'Restore this machine from a remote: clone, unlock, keys, packages, dotfiles, templates, verify, and the store''s own steps, in dependency order')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push the store''s commits to every remote, without capturing or merging')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Sync in real time: commit and push every save in HOME within a second, and apply what other devices push, until stopped (Ctrl-C or SIGTERM finish the commit in flight first)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the backup: the store''s objects, encryption, secrets, drift, remotes, the time since the last sync, 3-2-1, conflicts, drills and storage')
            [CompletionResult]::new('drill', 'drill', [CompletionResultType]::ParameterValue, 'Prove a remote restores: clone it into a temporary directory, restore into a temporary HOME, and compare every tracked file (contents and mode) with the live HOME and the store')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Manage who can decrypt the store''s secrets: devices, the recovery key, GPG keys')
            [CompletionResult]::new('packages', 'packages', [CompletionResultType]::ParameterValue, 'Record, compare and restore what each device installed on purpose (apt, dnf, pacman, Homebrew, flatpak, snap, rustup, cargo, pip --user, pipx, npm -g, VS Code and VSCodium extensions, Firefox and Chromium extensions)')
            [CompletionResult]::new('remote', 'remote', [CompletionResultType]::ParameterValue, 'Manage the store''s remotes (git remotes): a hosted repository, a bare one on a USB disk or NAS…')
            [CompletionResult]::new('hooks', 'hooks', [CompletionResultType]::ParameterValue, 'Manage the git hooks dotback installs into the store')
            [CompletionResult]::new('service', 'service', [CompletionResultType]::ParameterValue, 'Run `dotback watch` as a user service, and `dotback check --alert` daily and `dotback drill --alert` monthly on a schedule: systemd user units and timers on Linux, launchd agents on macOS. The service files hold no secret: each command loads the device identity from its file or the OS keyring')
            [CompletionResult]::new('guard', 'guard', [CompletionResultType]::ParameterValue, 'Refuse plaintext secrets in what is staged for commit (run by the store''s pre-commit hook)')
            [CompletionResult]::new('recover', 'recover', [CompletionResultType]::ParameterValue, 'Finish, or give up, what a dotback process left half done when it was stopped or failed')
            [CompletionResult]::new('archive', 'archive', [CompletionResultType]::ParameterValue, 'Write an encrypted archive of the whole store to a directory, check it, and prune old ones')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;init' {
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Use DIR as the store')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'This device''s name (default: the host name)')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Where this device keeps its age identity: a 0600 file, or the OS keyring')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the recovery passphrase (for a new store) from FILE instead of the terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;add' {
            [CompletionResult]::new('--exact', '--exact', [CompletionResultType]::ParameterName, 'Mark added directories exact: apply removes files the store does not list')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'Encrypt the added files even when they do not look secret')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;forget' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;status' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names) instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;diff' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;apply' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Print the plan; change nothing')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan; change nothing')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Also overwrite files changed in HOME (they are backed up first)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names) instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;commit' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'The first line of the commit message')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'The first line of the commit message')
            [CompletionResult]::new('--allow-deletions', '--allow-deletions', [CompletionResultType]::ParameterName, 'Record the deletions in HOME even when the deletion guard holds them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;resolve' {
            [CompletionResult]::new('--ours', '--ours', [CompletionResultType]::ParameterName, 'Keep this device''s version (wherever it is); delete the conflict copy')
            [CompletionResult]::new('--theirs', '--theirs', [CompletionResultType]::ParameterName, 'Take the other device''s version (wherever it is); delete the conflict copy')
            [CompletionResult]::new('--merge', '--merge', [CompletionResultType]::ParameterName, 'Merge both versions in an editor; conflict markers must all be settled')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;log' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Show the newest N entries')
            [CompletionResult]::new('--audit', '--audit', [CompletionResultType]::ParameterName, 'Every device''s audit records, not only this device''s (with PATH too)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names) instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;restore' {
            [CompletionResult]::new('--at', '--at', [CompletionResultType]::ParameterName, 'The commit or time to restore from')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Write below DIR instead of HOME (HOME is left alone)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names) instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;sync' {
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Only this remote')
            [CompletionResult]::new('--no-push', '--no-push', [CompletionResultType]::ParameterName, 'Fetch, merge and apply, but push nowhere')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what sync would commit, merge, apply and push, changing nothing but the remote-tracking refs a fetch updates')
            [CompletionResult]::new('--allow-deletions', '--allow-deletions', [CompletionResultType]::ParameterName, 'Record the deletions in HOME even when the deletion guard holds them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;bootstrap' {
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Put the store in DIR (default: chezmoi''s source directory)')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'This device''s name (default: the host name)')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Run only these steps (clone and unlock always run: every other step needs them)')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Leave these steps out')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Restore the package lists of DEVICE (default: this device''s own, else the device that captured last)')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the recovery passphrase from FILE instead of the terminal')
            [CompletionResult]::new('--print-script', '--print-script', [CompletionResultType]::ParameterName, 'Print the POSIX sh script that installs dotback on a brand-new machine and runs `dotback bootstrap` with the script''s arguments (host it beside your dotfiles: `curl -fsSL URL/bootstrap.sh | sh -s -- REMOTE`)')
            [CompletionResult]::new('--resume', '--resume', [CompletionResultType]::ParameterName, 'Continue a bootstrap that failed or was interrupted, skipping the steps it finished')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the ordered plan (each step''s place and why, and the commands the store''s own steps run) and change nothing')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Run the store''s own steps without asking, also new or changed ones (read them first with --dry-run), and use sudo for package installs without asking')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;push' {
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'Only this remote')
            [CompletionResult]::new('--retry', '--retry', [CompletionResultType]::ParameterName, 'Retry unreachable remotes after 5 s, 30 s and 2 min (without holding the store''s lock meanwhile)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;watch' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;check' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Check the repository at DIR alone, with no device: no identity, config or HOME needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the findings as JSON')
            [CompletionResult]::new('--quick', '--quick', [CompletionResultType]::ParameterName, 'Do not read blob contents (their presence is checked; no plaintext-secret scan)')
            [CompletionResult]::new('--alert', '--alert', [CompletionResultType]::ParameterName, 'Run `alert_command` when an error is found')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;drill' {
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'The remote to drill (default: the store''s first)')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the recovery passphrase from FILE instead of the terminal')
            [CompletionResult]::new('--recovery', '--recovery', [CompletionResultType]::ParameterName, 'Restore with the recovery passphrase alone, as a brand-new machine would: proves the disaster path')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON')
            [CompletionResult]::new('--alert', '--alert', [CompletionResultType]::ParameterName, 'Run `alert_command` (device config) when the drill fails or finds a mismatch, the findings as JSON on its stdin')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the devices and the recovery key every secret is encrypted to')
            [CompletionResult]::new('add-device', 'add-device', [CompletionResultType]::ParameterValue, 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)')
            [CompletionResult]::new('remove-device', 'remove-device', [CompletionResultType]::ParameterValue, 'Stop encrypting to a device and re-encrypt every secret without it (one commit)')
            [CompletionResult]::new('rekey', 'rekey', [CompletionResultType]::ParameterValue, 'Re-encrypt every secret to the current recipients')
            [CompletionResult]::new('recovery', 'recovery', [CompletionResultType]::ParameterValue, 'Replace the recovery key with a new one under a new passphrase, and re-encrypt')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)')
            [CompletionResult]::new('accept', 'accept', [CompletionResultType]::ParameterValue, 'Take a held-back change to the recipients, recovery key, manifest or code as your own, and seal it')
            [CompletionResult]::new('revert', 'revert', [CompletionResultType]::ParameterValue, 'Put back the recipients, recovery key, manifest and code this device trusts, and commit that')
            [CompletionResult]::new('gpg-export', 'gpg-export', [CompletionResultType]::ParameterValue, 'Export GPG keys (secret ones encrypted) and ownertrust into the store')
            [CompletionResult]::new('gpg-import', 'gpg-import', [CompletionResultType]::ParameterValue, 'Import the GPG keys and ownertrust stored by `gpg-export`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;keys;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;add-device' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;remove-device' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;rekey' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;recovery' {
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the new passphrase from FILE instead of the terminal')
            [CompletionResult]::new('--rotate', '--rotate', [CompletionResultType]::ParameterName, 'Required: make a new recovery key (the old sealed key stays in history, so a new passphrase alone would not retire the old one)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;unlock' {
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the passphrase from FILE instead of the terminal')
            [CompletionResult]::new('--recovery', '--recovery', [CompletionResultType]::ParameterName, 'Use the recovery key (the only way offered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;accept' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;revert' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;gpg-export' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;gpg-import' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;keys;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the devices and the recovery key every secret is encrypted to')
            [CompletionResult]::new('add-device', 'add-device', [CompletionResultType]::ParameterValue, 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)')
            [CompletionResult]::new('remove-device', 'remove-device', [CompletionResultType]::ParameterValue, 'Stop encrypting to a device and re-encrypt every secret without it (one commit)')
            [CompletionResult]::new('rekey', 'rekey', [CompletionResultType]::ParameterValue, 'Re-encrypt every secret to the current recipients')
            [CompletionResult]::new('recovery', 'recovery', [CompletionResultType]::ParameterValue, 'Replace the recovery key with a new one under a new passphrase, and re-encrypt')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)')
            [CompletionResult]::new('accept', 'accept', [CompletionResultType]::ParameterValue, 'Take a held-back change to the recipients, recovery key, manifest or code as your own, and seal it')
            [CompletionResult]::new('revert', 'revert', [CompletionResultType]::ParameterValue, 'Put back the recipients, recovery key, manifest and code this device trusts, and commit that')
            [CompletionResult]::new('gpg-export', 'gpg-export', [CompletionResultType]::ParameterValue, 'Export GPG keys (secret ones encrypted) and ownertrust into the store')
            [CompletionResult]::new('gpg-import', 'gpg-import', [CompletionResultType]::ParameterValue, 'Import the GPG keys and ownertrust stored by `gpg-export`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;keys;help;list' {
            break
        }
        'dotback;keys;help;add-device' {
            break
        }
        'dotback;keys;help;remove-device' {
            break
        }
        'dotback;keys;help;rekey' {
            break
        }
        'dotback;keys;help;recovery' {
            break
        }
        'dotback;keys;help;unlock' {
            break
        }
        'dotback;keys;help;accept' {
            break
        }
        'dotback;keys;help;revert' {
            break
        }
        'dotback;keys;help;gpg-export' {
            break
        }
        'dotback;keys;help;gpg-import' {
            break
        }
        'dotback;keys;help;help' {
            break
        }
        'dotback;packages' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('capture', 'capture', [CompletionResultType]::ParameterValue, 'Record this device''s lists and commit those that changed (a manager that is absent is skipped; one that fails is reported, exit 1, and the others are still recorded)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what another device''s lists have that this device''s lack')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Install what a device''s lists have and this machine lacks: missing managers first, then their packages, each checked afterwards. Every command is printed before it runs; sudo is used only after asking. Browser extensions are listed with their store links. Exits 1 when a package failed')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;packages;capture' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;packages;diff' {
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'The other device (default: the one whose lists were captured last)')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'What this device has that the other lacks')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;packages;restore' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Whose lists (default: this device''s, else the device captured last)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Install nothing: print the commands a restore would run')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Use sudo without asking')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;packages;help' {
            [CompletionResult]::new('capture', 'capture', [CompletionResultType]::ParameterValue, 'Record this device''s lists and commit those that changed (a manager that is absent is skipped; one that fails is reported, exit 1, and the others are still recorded)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what another device''s lists have that this device''s lack')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Install what a device''s lists have and this machine lacks: missing managers first, then their packages, each checked afterwards. Every command is printed before it runs; sudo is used only after asking. Browser extensions are listed with their store links. Exits 1 when a package failed')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;packages;help;capture' {
            break
        }
        'dotback;packages;help;diff' {
            break
        }
        'dotback;packages;help;restore' {
            break
        }
        'dotback;packages;help;help' {
            break
        }
        'dotback;remote' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the remotes')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a remote (the repository it points to is not touched)')
            [CompletionResult]::new('accept', 'accept', [CompletionResultType]::ParameterValue, 'Accept a remote whose history was rewritten: show the commits it no longer has (this store keeps them, and the next sync merges and pushes them back) and go on from what it holds now')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;remote;add' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;remote;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;remote;remove' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;remote;accept' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;remote;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the remotes')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a remote (the repository it points to is not touched)')
            [CompletionResult]::new('accept', 'accept', [CompletionResultType]::ParameterValue, 'Accept a remote whose history was rewritten: show the commits it no longer has (this store keeps them, and the next sync merges and pushes them back) and go on from what it holds now')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;remote;help;add' {
            break
        }
        'dotback;remote;help;list' {
            break
        }
        'dotback;remote;help;remove' {
            break
        }
        'dotback;remote;help;accept' {
            break
        }
        'dotback;remote;help;help' {
            break
        }
        'dotback;hooks' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`; post-commit pushes a commit made with git in the background; post-merge applies what a `git pull` brought')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;hooks;install' {
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace hooks dotback did not write (they are kept as NAME.before-dotback)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;hooks;help' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`; post-commit pushes a commit made with git in the background; post-merge applies what a `git pull` brought')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;hooks;help;install' {
            break
        }
        'dotback;hooks;help;help' {
            break
        }
        'dotback;service' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Write the service files for this device (the watcher''s, and the check and drill timers''), then enable and start them')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Stop and disable the watcher''s service and the timers, and remove their files')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Whether the service and the timers are installed and run, and the watcher''s last sync and last error')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;service;install' {
            [CompletionResult]::new('--no-start', '--no-start', [CompletionResultType]::ParameterName, 'Only write the files: do not reload, enable or start anything (a machine without a running user service manager)')
            [CompletionResult]::new('--no-timers', '--no-timers', [CompletionResultType]::ParameterName, 'Only the watcher''s service: no check or drill timer')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;service;uninstall' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;service;status' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;service;help' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Write the service files for this device (the watcher''s, and the check and drill timers''), then enable and start them')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Stop and disable the watcher''s service and the timers, and remove their files')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Whether the service and the timers are installed and run, and the watcher''s last sync and last error')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;service;help;install' {
            break
        }
        'dotback;service;help;uninstall' {
            break
        }
        'dotback;service;help;status' {
            break
        }
        'dotback;service;help;help' {
            break
        }
        'dotback;guard' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store to check (default: this device''s store)')
            [CompletionResult]::new('--staged', '--staged', [CompletionResultType]::ParameterName, 'Check the files staged in the store''s index (the only mode; named for clarity in hooks)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;recover' {
            [CompletionResult]::new('--abandon', '--abandon', [CompletionResultType]::ParameterName, 'Give up an interrupted update of the store instead of finishing it: its files go back to the store''s last commit, and any of them changed since is saved as a backup first')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;archive' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The directory to write to; it must exist (a disk is not mounted by creating it)')
            [CompletionResult]::new('--keep-last', '--keep-last', [CompletionResultType]::ParameterName, 'Keep the N newest archives')
            [CompletionResult]::new('--keep-hourly', '--keep-hourly', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N hours that have one (UTC)')
            [CompletionResult]::new('--keep-daily', '--keep-daily', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N days that have one (UTC)')
            [CompletionResult]::new('--keep-weekly', '--keep-weekly', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N weeks that have one (ISO weeks)')
            [CompletionResult]::new('--keep-monthly', '--keep-monthly', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N months that have one')
            [CompletionResult]::new('--keep-yearly', '--keep-yearly', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N years that have one')
            [CompletionResult]::new('--keep-within', '--keep-within', [CompletionResultType]::ParameterName, 'Keep every archive made within DURATION before the newest (e.g. 7d, 1y6m, 36h)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Decrypt an archive and check that it is a complete bundle of the store')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the archives in a directory, when each was made and which rules keep it (nothing is removed)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;archive;verify' {
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the recovery passphrase from FILE instead of the terminal')
            [CompletionResult]::new('--recovery', '--recovery', [CompletionResultType]::ParameterName, 'Decrypt with the recovery key (asks for its passphrase) instead of this device''s key: the `dotback-recovery.age` beside the archive, else the store''s')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;archive;list' {
            [CompletionResult]::new('--keep-last', '--keep-last', [CompletionResultType]::ParameterName, 'Keep the N newest archives')
            [CompletionResult]::new('--keep-hourly', '--keep-hourly', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N hours that have one (UTC)')
            [CompletionResult]::new('--keep-daily', '--keep-daily', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N days that have one (UTC)')
            [CompletionResult]::new('--keep-weekly', '--keep-weekly', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N weeks that have one (ISO weeks)')
            [CompletionResult]::new('--keep-monthly', '--keep-monthly', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N months that have one')
            [CompletionResult]::new('--keep-yearly', '--keep-yearly', [CompletionResultType]::ParameterName, 'Keep the newest archive of each of the last N years that have one')
            [CompletionResult]::new('--keep-within', '--keep-within', [CompletionResultType]::ParameterName, 'Keep every archive made within DURATION before the newest (e.g. 7d, 1y6m, 36h)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (stable field names)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;archive;help' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Decrypt an archive and check that it is a complete bundle of the store')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the archives in a directory, when each was made and which rules keep it (nothing is removed)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;archive;help;verify' {
            break
        }
        'dotback;archive;help;list' {
            break
        }
        'dotback;archive;help;help' {
            break
        }
        'dotback;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the store (or adopt an existing chezmoi source directory) and set up this device')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Track files, directories and symlinks from HOME')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Stop tracking paths. The live files in this HOME are left untouched; other devices remove their copies on sync where unchanged (after a backup), as for a file deleted here')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what differs between HOME and the store, and what the store has not committed')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show how HOME differs from the store, as the patch `dotback apply` would make')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make HOME match the store')
            [CompletionResult]::new('commit', 'commit', [CompletionResultType]::ParameterValue, 'Capture files changed in HOME into the store and commit everything in the store')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Settle a conflict sync left: keep this device''s version, take the other device''s, or merge them')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show the history of the store, or of one path, with the audit trail')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Restore a file or directory as it was at a commit or a time')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Capture and commit, fetch every remote, merge, apply, push to every remote')
            [CompletionResult]::new('bootstrap', 'bootstrap', [CompletionResultType]::ParameterValue, 'Restore this machine from a remote: clone, unlock, keys, packages, dotfiles, templates, verify, and the store''s own steps, in dependency order')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push the store''s commits to every remote, without capturing or merging')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Sync in real time: commit and push every save in HOME within a second, and apply what other devices push, until stopped (Ctrl-C or SIGTERM finish the commit in flight first)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the backup: the store''s objects, encryption, secrets, drift, remotes, the time since the last sync, 3-2-1, conflicts, drills and storage')
            [CompletionResult]::new('drill', 'drill', [CompletionResultType]::ParameterValue, 'Prove a remote restores: clone it into a temporary directory, restore into a temporary HOME, and compare every tracked file (contents and mode) with the live HOME and the store')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Manage who can decrypt the store''s secrets: devices, the recovery key, GPG keys')
            [CompletionResult]::new('packages', 'packages', [CompletionResultType]::ParameterValue, 'Record, compare and restore what each device installed on purpose (apt, dnf, pacman, Homebrew, flatpak, snap, rustup, cargo, pip --user, pipx, npm -g, VS Code and VSCodium extensions, Firefox and Chromium extensions)')
            [CompletionResult]::new('remote', 'remote', [CompletionResultType]::ParameterValue, 'Manage the store''s remotes (git remotes): a hosted repository, a bare one on a USB disk or NAS…')
            [CompletionResult]::new('hooks', 'hooks', [CompletionResultType]::ParameterValue, 'Manage the git hooks dotback installs into the store')
            [CompletionResult]::new('service', 'service', [CompletionResultType]::ParameterValue, 'Run `dotback watch` as a user service, and `dotback check --alert` daily and `dotback drill --alert` monthly on a schedule: systemd user units and timers on Linux, launchd agents on macOS. The service files hold no secret: each command loads the device identity from its file or the OS keyring')
            [CompletionResult]::new('guard', 'guard', [CompletionResultType]::ParameterValue, 'Refuse plaintext secrets in what is staged for commit (run by the store''s pre-commit hook)')
            [CompletionResult]::new('recover', 'recover', [CompletionResultType]::ParameterValue, 'Finish, or give up, what a dotback process left half done when it was stopped or failed')
            [CompletionResult]::new('archive', 'archive', [CompletionResultType]::ParameterValue, 'Write an encrypted archive of the whole store to a directory, check it, and prune old ones')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;help;init' {
            break
        }
        'dotback;help;add' {
            break
        }
        'dotback;help;forget' {
            break
        }
        'dotback;help;status' {
            break
        }
        'dotback;help;diff' {
            break
        }
        'dotback;help;apply' {
            break
        }
        'dotback;help;commit' {
            break
        }
        'dotback;help;resolve' {
            break
        }
        'dotback;help;log' {
            break
        }
        'dotback;help;restore' {
            break
        }
        'dotback;help;sync' {
            break
        }
        'dotback;help;bootstrap' {
            break
        }
        'dotback;help;push' {
            break
        }
        'dotback;help;watch' {
            break
        }
        'dotback;help;check' {
            break
        }
        'dotback;help;drill' {
            break
        }
        'dotback;help;keys' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the devices and the recovery key every secret is encrypted to')
            [CompletionResult]::new('add-device', 'add-device', [CompletionResultType]::ParameterValue, 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)')
            [CompletionResult]::new('remove-device', 'remove-device', [CompletionResultType]::ParameterValue, 'Stop encrypting to a device and re-encrypt every secret without it (one commit)')
            [CompletionResult]::new('rekey', 'rekey', [CompletionResultType]::ParameterValue, 'Re-encrypt every secret to the current recipients')
            [CompletionResult]::new('recovery', 'recovery', [CompletionResultType]::ParameterValue, 'Replace the recovery key with a new one under a new passphrase, and re-encrypt')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)')
            [CompletionResult]::new('accept', 'accept', [CompletionResultType]::ParameterValue, 'Take a held-back change to the recipients, recovery key, manifest or code as your own, and seal it')
            [CompletionResult]::new('revert', 'revert', [CompletionResultType]::ParameterValue, 'Put back the recipients, recovery key, manifest and code this device trusts, and commit that')
            [CompletionResult]::new('gpg-export', 'gpg-export', [CompletionResultType]::ParameterValue, 'Export GPG keys (secret ones encrypted) and ownertrust into the store')
            [CompletionResult]::new('gpg-import', 'gpg-import', [CompletionResultType]::ParameterValue, 'Import the GPG keys and ownertrust stored by `gpg-export`')
            break
        }
        'dotback;help;keys;list' {
            break
        }
        'dotback;help;keys;add-device' {
            break
        }
        'dotback;help;keys;remove-device' {
            break
        }
        'dotback;help;keys;rekey' {
            break
        }
        'dotback;help;keys;recovery' {
            break
        }
        'dotback;help;keys;unlock' {
            break
        }
        'dotback;help;keys;accept' {
            break
        }
        'dotback;help;keys;revert' {
            break
        }
        'dotback;help;keys;gpg-export' {
            break
        }
        'dotback;help;keys;gpg-import' {
            break
        }
        'dotback;help;packages' {
            [CompletionResult]::new('capture', 'capture', [CompletionResultType]::ParameterValue, 'Record this device''s lists and commit those that changed (a manager that is absent is skipped; one that fails is reported, exit 1, and the others are still recorded)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what another device''s lists have that this device''s lack')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Install what a device''s lists have and this machine lacks: missing managers first, then their packages, each checked afterwards. Every command is printed before it runs; sudo is used only after asking. Browser extensions are listed with their store links. Exits 1 when a package failed')
            break
        }
        'dotback;help;packages;capture' {
            break
        }
        'dotback;help;packages;diff' {
            break
        }
        'dotback;help;packages;restore' {
            break
        }
        'dotback;help;remote' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the remotes')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a remote (the repository it points to is not touched)')
            [CompletionResult]::new('accept', 'accept', [CompletionResultType]::ParameterValue, 'Accept a remote whose history was rewritten: show the commits it no longer has (this store keeps them, and the next sync merges and pushes them back) and go on from what it holds now')
            break
        }
        'dotback;help;remote;add' {
            break
        }
        'dotback;help;remote;list' {
            break
        }
        'dotback;help;remote;remove' {
            break
        }
        'dotback;help;remote;accept' {
            break
        }
        'dotback;help;hooks' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`; post-commit pushes a commit made with git in the background; post-merge applies what a `git pull` brought')
            break
        }
        'dotback;help;hooks;install' {
            break
        }
        'dotback;help;service' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Write the service files for this device (the watcher''s, and the check and drill timers''), then enable and start them')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Stop and disable the watcher''s service and the timers, and remove their files')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Whether the service and the timers are installed and run, and the watcher''s last sync and last error')
            break
        }
        'dotback;help;service;install' {
            break
        }
        'dotback;help;service;uninstall' {
            break
        }
        'dotback;help;service;status' {
            break
        }
        'dotback;help;guard' {
            break
        }
        'dotback;help;recover' {
            break
        }
        'dotback;help;archive' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Decrypt an archive and check that it is a complete bundle of the store')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the archives in a directory, when each was made and which rules keep it (nothing is removed)')
            break
        }
        'dotback;help;archive;verify' {
            break
        }
        'dotback;help;archive;list' {
            break
        }
        'dotback;help;completions' {
            break
        }
        'dotback;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
