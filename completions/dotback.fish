# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dotback_global_optspecs
    string join \n h/help V/version
end

function __fish_dotback_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_dotback_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_dotback_using_subcommand
    set -l cmd (__fish_dotback_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c dotback -n "__fish_dotback_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_needs_command" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "init" -d 'Create the store (or adopt an existing chezmoi source directory) and set up this device'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "add" -d 'Track files, directories and symlinks from HOME'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "forget" -d 'Stop tracking paths. The live files in HOME are left untouched'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "status" -d 'Show what differs between HOME and the store, and what the store has not committed'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "diff" -d 'Show how HOME differs from the store, as the patch `dotback apply` would make'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "apply" -d 'Make HOME match the store'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "commit" -d 'Capture files changed in HOME into the store and commit everything in the store'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "resolve" -d 'Settle a conflict sync left: keep this device\'s version, take the other one, or merge them'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "sync" -d 'Capture and commit, fetch every remote, merge, apply, push to every remote'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "keys" -d 'Manage who can decrypt the store\'s secrets: devices, the recovery key, GPG keys'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "remote" -d 'Manage the store\'s remotes (git remotes): a hosted repository, a bare one on a USB disk or NAS…'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "hooks" -d 'Manage the git hooks dotback installs into the store'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "guard" -d 'Refuse plaintext secrets in what is staged for commit (run by the store\'s pre-commit hook)'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand init" -l source -d 'Use DIR as the store' -r -F
complete -c dotback -n "__fish_dotback_using_subcommand init" -l device -d 'This device\'s name (default: the host name)' -r
complete -c dotback -n "__fish_dotback_using_subcommand init" -l identity -d 'Where this device keeps its age identity: a 0600 file, or the OS keyring' -r -f -a "file\t''
keyring\t''"
complete -c dotback -n "__fish_dotback_using_subcommand init" -l passphrase-file -d 'Read the recovery passphrase (for a new store) from FILE instead of the terminal' -r -F
complete -c dotback -n "__fish_dotback_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_using_subcommand init" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand add" -l exact -d 'Mark added directories exact: apply removes files the store does not list'
complete -c dotback -n "__fish_dotback_using_subcommand add" -l encrypt -d 'Encrypt the added files even when they do not look secret'
complete -c dotback -n "__fish_dotback_using_subcommand add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_using_subcommand add" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand forget" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand forget" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand status" -l json -d 'Print JSON (stable field names) instead of text'
complete -c dotback -n "__fish_dotback_using_subcommand status" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand status" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_using_subcommand diff" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand apply" -s n -l dry-run -d 'Print the plan; change nothing'
complete -c dotback -n "__fish_dotback_using_subcommand apply" -l force -d 'Also overwrite files changed in HOME (they are backed up first)'
complete -c dotback -n "__fish_dotback_using_subcommand apply" -l json -d 'Print JSON (stable field names) instead of text'
complete -c dotback -n "__fish_dotback_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_using_subcommand apply" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand commit" -s m -l message -d 'The first line of the commit message' -r
complete -c dotback -n "__fish_dotback_using_subcommand commit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_using_subcommand commit" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand resolve" -l ours -d 'Keep the live file (this device\'s version); delete the conflict copy'
complete -c dotback -n "__fish_dotback_using_subcommand resolve" -l theirs -d 'Take the conflict copy\'s content (the other device\'s version)'
complete -c dotback -n "__fish_dotback_using_subcommand resolve" -l merge -d 'Merge both versions in an editor; conflict markers must all be settled'
complete -c dotback -n "__fish_dotback_using_subcommand resolve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_using_subcommand resolve" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand sync" -l remote -d 'Only this remote' -r
complete -c dotback -n "__fish_dotback_using_subcommand sync" -l no-push -d 'Fetch, merge and apply, but push nowhere'
complete -c dotback -n "__fish_dotback_using_subcommand sync" -l dry-run -d 'Show what sync would commit, merge, apply and push, changing nothing but the remote-tracking refs a fetch updates'
complete -c dotback -n "__fish_dotback_using_subcommand sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_using_subcommand sync" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "list" -d 'List the devices and the recovery key every secret is encrypted to'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "add-device" -d 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "remove-device" -d 'Stop encrypting to a device and re-encrypt every secret without it (one commit)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "rekey" -d 'Re-encrypt every secret to the current recipients'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "recovery" -d 'Replace the recovery key with a new one under a new passphrase, and re-encrypt'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "unlock" -d 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "gpg-export" -d 'Export GPG keys (secret ones encrypted) and ownertrust into the store'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "gpg-import" -d 'Import the GPG keys and ownertrust stored by `gpg-export`'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and not __fish_seen_subcommand_from list add-device remove-device rekey recovery unlock gpg-export gpg-import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from list" -l json -d 'Print JSON (stable field names)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from add-device" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from add-device" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from remove-device" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from remove-device" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from rekey" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from rekey" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from recovery" -l passphrase-file -d 'Read the new passphrase from FILE instead of the terminal' -r -F
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from recovery" -l rotate -d 'Required: make a new recovery key (the old sealed key stays in history, so a new passphrase alone would not retire the old one)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from recovery" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from recovery" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from unlock" -l passphrase-file -d 'Read the passphrase from FILE instead of the terminal' -r -F
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from unlock" -l recovery -d 'Use the recovery key (the only way offered)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from unlock" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from unlock" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from gpg-export" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from gpg-export" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from gpg-import" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from gpg-import" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the devices and the recovery key every secret is encrypted to'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "add-device" -d 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "remove-device" -d 'Stop encrypting to a device and re-encrypt every secret without it (one commit)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "rekey" -d 'Re-encrypt every secret to the current recipients'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "recovery" -d 'Replace the recovery key with a new one under a new passphrase, and re-encrypt'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "unlock" -d 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "gpg-export" -d 'Export GPG keys (secret ones encrypted) and ownertrust into the store'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "gpg-import" -d 'Import the GPG keys and ownertrust stored by `gpg-export`'
complete -c dotback -n "__fish_dotback_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and not __fish_seen_subcommand_from add list remove help" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'List the remotes'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Remove a remote (the repository it points to is not touched)'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from list" -l json -d 'Print JSON (stable field names)'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the remotes'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a remote (the repository it points to is not touched)'
complete -c dotback -n "__fish_dotback_using_subcommand remote; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and not __fish_seen_subcommand_from install help" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and not __fish_seen_subcommand_from install help" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and not __fish_seen_subcommand_from install help" -f -a "install" -d 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and not __fish_seen_subcommand_from install help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and __fish_seen_subcommand_from install" -l force -d 'Replace hooks dotback did not write (they are kept as NAME.before-dotback)'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`'
complete -c dotback -n "__fish_dotback_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand guard" -l store -d 'The store to check (default: this device\'s store)' -r -F
complete -c dotback -n "__fish_dotback_using_subcommand guard" -l staged -d 'Check the files staged in the store\'s index (the only mode; named for clarity in hooks)'
complete -c dotback -n "__fish_dotback_using_subcommand guard" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand guard" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand completions" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand completions" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "init" -d 'Create the store (or adopt an existing chezmoi source directory) and set up this device'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "add" -d 'Track files, directories and symlinks from HOME'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "forget" -d 'Stop tracking paths. The live files in HOME are left untouched'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "status" -d 'Show what differs between HOME and the store, and what the store has not committed'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "diff" -d 'Show how HOME differs from the store, as the patch `dotback apply` would make'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "apply" -d 'Make HOME match the store'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "commit" -d 'Capture files changed in HOME into the store and commit everything in the store'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "resolve" -d 'Settle a conflict sync left: keep this device\'s version, take the other one, or merge them'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "sync" -d 'Capture and commit, fetch every remote, merge, apply, push to every remote'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "keys" -d 'Manage who can decrypt the store\'s secrets: devices, the recovery key, GPG keys'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "remote" -d 'Manage the store\'s remotes (git remotes): a hosted repository, a bare one on a USB disk or NAS…'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "hooks" -d 'Manage the git hooks dotback installs into the store'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "guard" -d 'Refuse plaintext secrets in what is staged for commit (run by the store\'s pre-commit hook)'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit resolve sync keys remote hooks guard completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List the devices and the recovery key every secret is encrypted to'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "add-device" -d 'Let another device decrypt: add its public key and re-encrypt every secret (one commit)'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "remove-device" -d 'Stop encrypting to a device and re-encrypt every secret without it (one commit)'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "rekey" -d 'Re-encrypt every secret to the current recipients'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "recovery" -d 'Replace the recovery key with a new one under a new passphrase, and re-encrypt'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "unlock" -d 'Make this device a recipient using the recovery passphrase (a new or rebuilt machine)'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "gpg-export" -d 'Export GPG keys (secret ones encrypted) and ownertrust into the store'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "gpg-import" -d 'Import the GPG keys and ownertrust stored by `gpg-export`'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from remote" -f -a "add" -d 'Add a remote: a local path, file://, ssh://, user@host:path or https:// URL'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from remote" -f -a "list" -d 'List the remotes'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from remote" -f -a "remove" -d 'Remove a remote (the repository it points to is not touched)'
complete -c dotback -n "__fish_dotback_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "install" -d 'Install the hooks: pre-commit refuses plaintext secrets, also for plain `git commit`'
