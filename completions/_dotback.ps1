
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
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Stop tracking paths. The live files in HOME are left untouched')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what differs between HOME and the store, and what the store has not committed')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show how HOME differs from the store, as the patch `dotback apply` would make')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make HOME match the store')
            [CompletionResult]::new('commit', 'commit', [CompletionResultType]::ParameterValue, 'Capture files changed in HOME into the store and commit everything in the store')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dotback;init' {
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Use DIR as the store')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'This device''s name (default: the host name)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dotback;add' {
            [CompletionResult]::new('--exact', '--exact', [CompletionResultType]::ParameterName, 'Mark added directories exact: apply removes files the store does not list')
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
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
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
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Stop tracking paths. The live files in HOME are left untouched')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what differs between HOME and the store, and what the store has not committed')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show how HOME differs from the store, as the patch `dotback apply` would make')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make HOME match the store')
            [CompletionResult]::new('commit', 'commit', [CompletionResultType]::ParameterValue, 'Capture files changed in HOME into the store and commit everything in the store')
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
