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
complete -c dotback -n "__fish_dotback_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c dotback -n "__fish_dotback_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dotback -n "__fish_dotback_using_subcommand init" -l source -d 'Use DIR as the store' -r -F
complete -c dotback -n "__fish_dotback_using_subcommand init" -l device -d 'This device\'s name (default: the host name)' -r
complete -c dotback -n "__fish_dotback_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dotback -n "__fish_dotback_using_subcommand init" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand add" -l exact -d 'Mark added directories exact: apply removes files the store does not list'
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
complete -c dotback -n "__fish_dotback_using_subcommand completions" -s h -l help -d 'Print help'
complete -c dotback -n "__fish_dotback_using_subcommand completions" -s V -l version -d 'Print version'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "init" -d 'Create the store (or adopt an existing chezmoi source directory) and set up this device'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "add" -d 'Track files, directories and symlinks from HOME'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "forget" -d 'Stop tracking paths. The live files in HOME are left untouched'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "status" -d 'Show what differs between HOME and the store, and what the store has not committed'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "diff" -d 'Show how HOME differs from the store, as the patch `dotback apply` would make'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "apply" -d 'Make HOME match the store'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "commit" -d 'Capture files changed in HOME into the store and commit everything in the store'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c dotback -n "__fish_dotback_using_subcommand help; and not __fish_seen_subcommand_from init add forget status diff apply commit completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
