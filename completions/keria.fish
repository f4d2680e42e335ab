# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_keria_global_optspecs
    string join \n h/help V/version
end

function __fish_keria_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_keria_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_keria_using_subcommand
    set -l cmd (__fish_keria_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c keria -n "__fish_keria_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keria -n "__fish_keria_needs_command" -s V -l version -d 'Print version'
complete -c keria -n "__fish_keria_needs_command" -f -a "start" -d 'Run the agency: admin, http and boot servers until a signal stops it'
complete -c keria -n "__fish_keria_needs_command" -f -a "boot" -d 'Provision an agent for a Signify controller derived from a passcode'
complete -c keria -n "__fish_keria_needs_command" -f -a "status" -d 'Ask a running agency for its health; exit codes as LSB init scripts'
complete -c keria -n "__fish_keria_needs_command" -f -a "backup" -d 'Write a consistent copy of the agency store to FILE, while it runs or not'
complete -c keria -n "__fish_keria_needs_command" -f -a "restore" -d 'Put a backup in place as the agency store of a data dir where no agency runs'
complete -c keria -n "__fish_keria_using_subcommand start" -s a -l admin-http-port -d 'Admin port (the signed Signify API)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -s H -l http -d 'KERI message ingress port' -r
complete -c keria -n "__fish_keria_using_subcommand start" -s B -l boot -d 'Boot port (POST /boot, GET /health); keep it private' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l host -d 'Address the three ports listen on (IPv4 or IPv6; :: or 0.0.0.0 for all interfaces)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -s n -l name -d 'Name of the agency\'s keystore' -r
complete -c keria -n "__fish_keria_using_subcommand start" -s b -l base -d 'Extra path segment between the data dir and the keystores' -r
complete -c keria -n "__fish_keria_using_subcommand start" -s p -l passcode -d 'Passcode that encrypts agent secrets at rest (21+ characters; never logged or stored)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l config-dir -d 'Directory holding keri/cf/<config-file>.json' -r -F
complete -c keria -n "__fish_keria_using_subcommand start" -l config-file -d 'Name of the JSON configuration file (without .json)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l keypath -d 'TLS private key (PEM); with --certpath, serves every port over TLS' -r -F
complete -c keria -n "__fish_keria_using_subcommand start" -l certpath -d 'TLS certificate chain (PEM)' -r -F
complete -c keria -n "__fish_keria_using_subcommand start" -l cafilepath -d 'CA certificates (PEM); when given, clients must present a certificate it signed' -r -F
complete -c keria -n "__fish_keria_using_subcommand start" -l loglevel -d 'Log level: DEBUG, INFO, WARNING, ERROR, CRITICAL (or trace, debug, info, warn, error, off)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l logfile -d 'Append the log to this file instead of stderr; SIGHUP reopens it' -r -F
complete -c keria -n "__fish_keria_using_subcommand start" -l log-format -d 'Log lines as text, or as one JSON object per line (time, level, target, message)' -r -f -a "text\t'Lines of the form: [time LEVEL target] message'
json\t'One JSON object per line, with time, level, target and message'"
complete -c keria -n "__fish_keria_using_subcommand start" -l experimental-boot-username -d 'Username required on POST /boot (HTTP Basic auth)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l experimental-boot-password -d 'Password required on POST /boot (HTTP Basic auth)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l data-dir -d 'Root of every store (default: $XDG_DATA_HOME/keria or ~/.local/share/keria)' -r -F
complete -c keria -n "__fish_keria_using_subcommand start" -l backup-dir -d 'Folder POST /backup writes into (created 0700 if missing); without it, backups are refused' -r -F
complete -c keria -n "__fish_keria_using_subcommand start" -l tock -d 'Seconds between two ticks of the run loop' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l shutdown-timeout -d 'Seconds the graceful stop may take before keria gives up and exits 1' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l release-timeout -d 'Seconds an idle agent stays loaded before it is released' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l curls -d 'Controller URLs (\';\'-separated) kept in each agent\'s configuration' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l iurls -d 'Introduction OOBI URLs (\';\'-separated) kept in each agent\'s configuration' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l durls -d 'Data OOBI URLs (\';\'-separated): credential schemas resolved at start for every agent' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l signature-window -d 'Seconds a signed request\'s "created" may differ from the server clock' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l max-body -d 'Largest request body accepted, in bytes (413 above)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l max-connections -d 'Most connections open at once. The boot port keeps a quarter of them (at most 64) for itself, so /health answers while admin and http, which share the rest, are full; a full port closes its longest-idle kept-alive connection, else answers a fast 503' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l header-timeout -d 'Seconds a client may take to send a request\'s headers and body before it is closed' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l fetch-timeout -d 'Seconds an OOBI fetch (connect, request and whole answer) may take before it fails' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l receipt-timeout -d 'Seconds an event\'s witnesses have to receipt it to its threshold before its operation fails (408, naming the missing witnesses)' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l store-cache -d 'Most memory the agency store\'s page cache may hold, in MiB' -r
complete -c keria -n "__fish_keria_using_subcommand start" -l logrequests -d 'Log every HTTP request (method, path, status, duration)'
complete -c keria -n "__fish_keria_using_subcommand start" -l cors -d 'Answer CORS requests and expose the signature headers'
complete -c keria -n "__fish_keria_using_subcommand start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keria -n "__fish_keria_using_subcommand start" -s V -l version -d 'Print version'
complete -c keria -n "__fish_keria_using_subcommand boot" -s a -l admin-http-port -d 'Admin port (the signed Signify API)' -r
complete -c keria -n "__fish_keria_using_subcommand boot" -s H -l http -d 'KERI message ingress port' -r
complete -c keria -n "__fish_keria_using_subcommand boot" -s B -l boot -d 'Boot port (POST /boot, GET /health); keep it private' -r
complete -c keria -n "__fish_keria_using_subcommand boot" -l certpath -d 'The agency\'s certificate (PEM), as given to start: use https and accept exactly it' -r -F
complete -c keria -n "__fish_keria_using_subcommand boot" -l cacert -d 'CA certificates (PEM) that signed the agency\'s certificate: use https and verify it' -r -F
complete -c keria -n "__fish_keria_using_subcommand boot" -l client-cert -d 'Client certificate chain (PEM), for an agency started with --cafilepath' -r -F
complete -c keria -n "__fish_keria_using_subcommand boot" -l client-key -d 'The client certificate\'s private key (PEM)' -r -F
complete -c keria -n "__fish_keria_using_subcommand boot" -l url -d 'Base URL of the boot port to POST /boot to, instead of http(s)://127.0.0.1:<boot>' -r
complete -c keria -n "__fish_keria_using_subcommand boot" -l experimental-boot-username -d 'Username required on POST /boot (HTTP Basic auth)' -r
complete -c keria -n "__fish_keria_using_subcommand boot" -l experimental-boot-password -d 'Password required on POST /boot (HTTP Basic auth)' -r
complete -c keria -n "__fish_keria_using_subcommand boot" -l passcode-file -d 'Read the passcode from this file (first line)' -r -F
complete -c keria -n "__fish_keria_using_subcommand boot" -l passcode -d 'The passcode itself (visible to other users in the process list; prefer --passcode-file). From SIGNIFY_PASSCODE, it gives way to --passcode-file and --generate' -r
complete -c keria -n "__fish_keria_using_subcommand boot" -l tier -d 'Key-stretching tier Signify uses for the controller keys' -r -f -a "low\t''
med\t''
high\t''"
complete -c keria -n "__fish_keria_using_subcommand boot" -l generate -d 'Generate a random 21-character passcode and print it once'
complete -c keria -n "__fish_keria_using_subcommand boot" -l if-missing -d 'Exit 0 when an agent already exists for this controller, printing it'
complete -c keria -n "__fish_keria_using_subcommand boot" -l json -d 'Print one JSON object instead of a line'
complete -c keria -n "__fish_keria_using_subcommand boot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keria -n "__fish_keria_using_subcommand boot" -s V -l version -d 'Print version'
complete -c keria -n "__fish_keria_using_subcommand status" -s a -l admin-http-port -d 'Admin port (the signed Signify API)' -r
complete -c keria -n "__fish_keria_using_subcommand status" -s H -l http -d 'KERI message ingress port' -r
complete -c keria -n "__fish_keria_using_subcommand status" -s B -l boot -d 'Boot port (POST /boot, GET /health); keep it private' -r
complete -c keria -n "__fish_keria_using_subcommand status" -l certpath -d 'The agency\'s certificate (PEM), as given to start: use https and accept exactly it' -r -F
complete -c keria -n "__fish_keria_using_subcommand status" -l cacert -d 'CA certificates (PEM) that signed the agency\'s certificate: use https and verify it' -r -F
complete -c keria -n "__fish_keria_using_subcommand status" -l client-cert -d 'Client certificate chain (PEM), for an agency started with --cafilepath' -r -F
complete -c keria -n "__fish_keria_using_subcommand status" -l client-key -d 'The client certificate\'s private key (PEM)' -r -F
complete -c keria -n "__fish_keria_using_subcommand status" -l url -d 'Base URL of the boot port to ask for /health, instead of http(s)://127.0.0.1:<boot>' -r
complete -c keria -n "__fish_keria_using_subcommand status" -l data-dir -d 'Data dir whose pid file tells "killed" from "not running"' -r -F
complete -c keria -n "__fish_keria_using_subcommand status" -l wait -d 'Poll until healthy for up to this many seconds' -r
complete -c keria -n "__fish_keria_using_subcommand status" -l json -d 'Print one JSON object instead of a line'
complete -c keria -n "__fish_keria_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keria -n "__fish_keria_using_subcommand status" -s V -l version -d 'Print version'
complete -c keria -n "__fish_keria_using_subcommand backup" -l backup-dir -d 'The backup folder, when no agency answers and keria copies the store itself (a running agency writes into its own --backup-dir)' -r -F
complete -c keria -n "__fish_keria_using_subcommand backup" -s a -l admin-http-port -d 'Admin port (the signed Signify API)' -r
complete -c keria -n "__fish_keria_using_subcommand backup" -s H -l http -d 'KERI message ingress port' -r
complete -c keria -n "__fish_keria_using_subcommand backup" -s B -l boot -d 'Boot port (POST /boot, GET /health); keep it private' -r
complete -c keria -n "__fish_keria_using_subcommand backup" -l certpath -d 'The agency\'s certificate (PEM), as given to start: use https and accept exactly it' -r -F
complete -c keria -n "__fish_keria_using_subcommand backup" -l cacert -d 'CA certificates (PEM) that signed the agency\'s certificate: use https and verify it' -r -F
complete -c keria -n "__fish_keria_using_subcommand backup" -l client-cert -d 'Client certificate chain (PEM), for an agency started with --cafilepath' -r -F
complete -c keria -n "__fish_keria_using_subcommand backup" -l client-key -d 'The client certificate\'s private key (PEM)' -r -F
complete -c keria -n "__fish_keria_using_subcommand backup" -l url -d 'Base URL of the boot port to POST /backup to, instead of http(s)://127.0.0.1:<boot>' -r
complete -c keria -n "__fish_keria_using_subcommand backup" -l experimental-boot-username -d 'Username required on POST /boot (HTTP Basic auth)' -r
complete -c keria -n "__fish_keria_using_subcommand backup" -l experimental-boot-password -d 'Password required on POST /boot (HTTP Basic auth)' -r
complete -c keria -n "__fish_keria_using_subcommand backup" -l data-dir -d 'Data dir whose store is copied when no agency answers' -r -F
complete -c keria -n "__fish_keria_using_subcommand backup" -s n -l name -d 'Name of the agency\'s keystore (when no agency answers)' -r
complete -c keria -n "__fish_keria_using_subcommand backup" -s b -l base -d 'Extra path segment between the data dir and the keystores (when no agency answers)' -r
complete -c keria -n "__fish_keria_using_subcommand backup" -l force -d 'Replace FILE if it exists'
complete -c keria -n "__fish_keria_using_subcommand backup" -l json -d 'Print one JSON object instead of a line'
complete -c keria -n "__fish_keria_using_subcommand backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keria -n "__fish_keria_using_subcommand backup" -s V -l version -d 'Print version'
complete -c keria -n "__fish_keria_using_subcommand restore" -l data-dir -d 'Data dir to restore into (default: $XDG_DATA_HOME/keria or ~/.local/share/keria)' -r -F
complete -c keria -n "__fish_keria_using_subcommand restore" -s n -l name -d 'Name of the agency\'s keystore' -r
complete -c keria -n "__fish_keria_using_subcommand restore" -s b -l base -d 'Extra path segment between the data dir and the keystores' -r
complete -c keria -n "__fish_keria_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keria -n "__fish_keria_using_subcommand restore" -s V -l version -d 'Print version'
