
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'keria' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'keria'
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
        'keria' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Run the agency: admin, http and boot servers until a signal stops it')
            [CompletionResult]::new('boot', 'boot', [CompletionResultType]::ParameterValue, 'Provision an agent for a Signify controller derived from a passcode')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Ask a running agency for its health; exit codes as LSB init scripts')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Write a consistent copy of the agency store to FILE, while it runs or not')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put a backup in place as the agency store of a data dir where no agency runs')
            break
        }
        'keria;start' {
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Admin port (the signed Signify API)')
            [CompletionResult]::new('--admin-http-port', '--admin-http-port', [CompletionResultType]::ParameterName, 'Admin port (the signed Signify API)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'KERI message ingress port')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'KERI message ingress port')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Boot port (POST /boot, GET /health); keep it private')
            [CompletionResult]::new('--boot', '--boot', [CompletionResultType]::ParameterName, 'Boot port (POST /boot, GET /health); keep it private')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address the three ports listen on (IPv4 or IPv6; :: or 0.0.0.0 for all interfaces)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Name of the agency''s keystore')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Name of the agency''s keystore')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Extra path segment between the data dir and the keystores')
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'Extra path segment between the data dir and the keystores')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Passcode that encrypts agent secrets at rest (21+ characters; never logged or stored)')
            [CompletionResult]::new('--passcode', '--passcode', [CompletionResultType]::ParameterName, 'Passcode that encrypts agent secrets at rest (21+ characters; never logged or stored)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding keri/cf/<config-file>.json')
            [CompletionResult]::new('--config-file', '--config-file', [CompletionResultType]::ParameterName, 'Name of the JSON configuration file (without .json)')
            [CompletionResult]::new('--keypath', '--keypath', [CompletionResultType]::ParameterName, 'TLS private key (PEM); with --certpath, serves every port over TLS')
            [CompletionResult]::new('--certpath', '--certpath', [CompletionResultType]::ParameterName, 'TLS certificate chain (PEM)')
            [CompletionResult]::new('--cafilepath', '--cafilepath', [CompletionResultType]::ParameterName, 'CA certificates (PEM); when given, clients must present a certificate it signed')
            [CompletionResult]::new('--loglevel', '--loglevel', [CompletionResultType]::ParameterName, 'Log level: DEBUG, INFO, WARNING, ERROR, CRITICAL (or trace, debug, info, warn, error, off)')
            [CompletionResult]::new('--logfile', '--logfile', [CompletionResultType]::ParameterName, 'Append the log to this file instead of stderr; SIGHUP reopens it')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text, or as one JSON object per line (time, level, target, message)')
            [CompletionResult]::new('--experimental-boot-username', '--experimental-boot-username', [CompletionResultType]::ParameterName, 'Username required on POST /boot (HTTP Basic auth)')
            [CompletionResult]::new('--experimental-boot-password', '--experimental-boot-password', [CompletionResultType]::ParameterName, 'Password required on POST /boot (HTTP Basic auth)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Root of every store (default: $XDG_DATA_HOME/keria or ~/.local/share/keria)')
            [CompletionResult]::new('--backup-dir', '--backup-dir', [CompletionResultType]::ParameterName, 'Folder POST /backup writes into (created 0700 if missing); without it, backups are refused')
            [CompletionResult]::new('--tock', '--tock', [CompletionResultType]::ParameterName, 'Seconds between two ticks of the run loop')
            [CompletionResult]::new('--shutdown-timeout', '--shutdown-timeout', [CompletionResultType]::ParameterName, 'Seconds the graceful stop may take before keria gives up and exits 1')
            [CompletionResult]::new('--release-timeout', '--release-timeout', [CompletionResultType]::ParameterName, 'Seconds an idle agent stays loaded before it is released')
            [CompletionResult]::new('--curls', '--curls', [CompletionResultType]::ParameterName, 'Controller URLs ('';''-separated) kept in each agent''s configuration')
            [CompletionResult]::new('--iurls', '--iurls', [CompletionResultType]::ParameterName, 'Introduction OOBI URLs ('';''-separated) kept in each agent''s configuration')
            [CompletionResult]::new('--durls', '--durls', [CompletionResultType]::ParameterName, 'Data OOBI URLs ('';''-separated): credential schemas resolved at start for every agent')
            [CompletionResult]::new('--signature-window', '--signature-window', [CompletionResultType]::ParameterName, 'Seconds a signed request''s "created" may differ from the server clock')
            [CompletionResult]::new('--max-body', '--max-body', [CompletionResultType]::ParameterName, 'Largest request body accepted, in bytes (413 above)')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most connections open at once. The boot port keeps a quarter of them (at most 64) for itself, so /health answers while admin and http, which share the rest, are full; a full port closes its longest-idle kept-alive connection, else answers a fast 503')
            [CompletionResult]::new('--header-timeout', '--header-timeout', [CompletionResultType]::ParameterName, 'Seconds a client may take to send a request''s headers and body before it is closed')
            [CompletionResult]::new('--fetch-timeout', '--fetch-timeout', [CompletionResultType]::ParameterName, 'Seconds an OOBI fetch (connect, request and whole answer) may take before it fails')
            [CompletionResult]::new('--receipt-timeout', '--receipt-timeout', [CompletionResultType]::ParameterName, 'Seconds an event''s witnesses have to receipt it to its threshold before its operation fails (408, naming the missing witnesses)')
            [CompletionResult]::new('--store-cache', '--store-cache', [CompletionResultType]::ParameterName, 'Most memory the agency store''s page cache may hold, in MiB')
            [CompletionResult]::new('--logrequests', '--logrequests', [CompletionResultType]::ParameterName, 'Log every HTTP request (method, path, status, duration)')
            [CompletionResult]::new('--cors', '--cors', [CompletionResultType]::ParameterName, 'Answer CORS requests and expose the signature headers')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keria;boot' {
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Admin port (the signed Signify API)')
            [CompletionResult]::new('--admin-http-port', '--admin-http-port', [CompletionResultType]::ParameterName, 'Admin port (the signed Signify API)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'KERI message ingress port')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'KERI message ingress port')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Boot port (POST /boot, GET /health); keep it private')
            [CompletionResult]::new('--boot', '--boot', [CompletionResultType]::ParameterName, 'Boot port (POST /boot, GET /health); keep it private')
            [CompletionResult]::new('--certpath', '--certpath', [CompletionResultType]::ParameterName, 'The agency''s certificate (PEM), as given to start: use https and accept exactly it')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA certificates (PEM) that signed the agency''s certificate: use https and verify it')
            [CompletionResult]::new('--client-cert', '--client-cert', [CompletionResultType]::ParameterName, 'Client certificate chain (PEM), for an agency started with --cafilepath')
            [CompletionResult]::new('--client-key', '--client-key', [CompletionResultType]::ParameterName, 'The client certificate''s private key (PEM)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Base URL of the boot port to POST /boot to, instead of http(s)://127.0.0.1:<boot>')
            [CompletionResult]::new('--experimental-boot-username', '--experimental-boot-username', [CompletionResultType]::ParameterName, 'Username required on POST /boot (HTTP Basic auth)')
            [CompletionResult]::new('--experimental-boot-password', '--experimental-boot-password', [CompletionResultType]::ParameterName, 'Password required on POST /boot (HTTP Basic auth)')
            [CompletionResult]::new('--passcode-file', '--passcode-file', [CompletionResultType]::ParameterName, 'Read the passcode from this file (first line)')
            [CompletionResult]::new('--passcode', '--passcode', [CompletionResultType]::ParameterName, 'The passcode itself (visible to other users in the process list; prefer --passcode-file). From SIGNIFY_PASSCODE, it gives way to --passcode-file and --generate')
            [CompletionResult]::new('--tier', '--tier', [CompletionResultType]::ParameterName, 'Key-stretching tier Signify uses for the controller keys')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Generate a random 21-character passcode and print it once')
            [CompletionResult]::new('--if-missing', '--if-missing', [CompletionResultType]::ParameterName, 'Exit 0 when an agent already exists for this controller, printing it')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of a line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keria;status' {
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Admin port (the signed Signify API)')
            [CompletionResult]::new('--admin-http-port', '--admin-http-port', [CompletionResultType]::ParameterName, 'Admin port (the signed Signify API)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'KERI message ingress port')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'KERI message ingress port')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Boot port (POST /boot, GET /health); keep it private')
            [CompletionResult]::new('--boot', '--boot', [CompletionResultType]::ParameterName, 'Boot port (POST /boot, GET /health); keep it private')
            [CompletionResult]::new('--certpath', '--certpath', [CompletionResultType]::ParameterName, 'The agency''s certificate (PEM), as given to start: use https and accept exactly it')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA certificates (PEM) that signed the agency''s certificate: use https and verify it')
            [CompletionResult]::new('--client-cert', '--client-cert', [CompletionResultType]::ParameterName, 'Client certificate chain (PEM), for an agency started with --cafilepath')
            [CompletionResult]::new('--client-key', '--client-key', [CompletionResultType]::ParameterName, 'The client certificate''s private key (PEM)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Base URL of the boot port to ask for /health, instead of http(s)://127.0.0.1:<boot>')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data dir whose pid file tells "killed" from "not running"')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Poll until healthy for up to this many seconds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of a line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keria;backup' {
            [CompletionResult]::new('--backup-dir', '--backup-dir', [CompletionResultType]::ParameterName, 'The backup folder, when no agency answers and keria copies the store itself (a running agency writes into its own --backup-dir)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Admin port (the signed Signify API)')
            [CompletionResult]::new('--admin-http-port', '--admin-http-port', [CompletionResultType]::ParameterName, 'Admin port (the signed Signify API)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'KERI message ingress port')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'KERI message ingress port')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Boot port (POST /boot, GET /health); keep it private')
            [CompletionResult]::new('--boot', '--boot', [CompletionResultType]::ParameterName, 'Boot port (POST /boot, GET /health); keep it private')
            [CompletionResult]::new('--certpath', '--certpath', [CompletionResultType]::ParameterName, 'The agency''s certificate (PEM), as given to start: use https and accept exactly it')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA certificates (PEM) that signed the agency''s certificate: use https and verify it')
            [CompletionResult]::new('--client-cert', '--client-cert', [CompletionResultType]::ParameterName, 'Client certificate chain (PEM), for an agency started with --cafilepath')
            [CompletionResult]::new('--client-key', '--client-key', [CompletionResultType]::ParameterName, 'The client certificate''s private key (PEM)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Base URL of the boot port to POST /backup to, instead of http(s)://127.0.0.1:<boot>')
            [CompletionResult]::new('--experimental-boot-username', '--experimental-boot-username', [CompletionResultType]::ParameterName, 'Username required on POST /boot (HTTP Basic auth)')
            [CompletionResult]::new('--experimental-boot-password', '--experimental-boot-password', [CompletionResultType]::ParameterName, 'Password required on POST /boot (HTTP Basic auth)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data dir whose store is copied when no agency answers')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Name of the agency''s keystore (when no agency answers)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Name of the agency''s keystore (when no agency answers)')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Extra path segment between the data dir and the keystores (when no agency answers)')
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'Extra path segment between the data dir and the keystores (when no agency answers)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace FILE if it exists')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of a line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'keria;restore' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data dir to restore into (default: $XDG_DATA_HOME/keria or ~/.local/share/keria)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Name of the agency''s keystore')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Name of the agency''s keystore')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Extra path segment between the data dir and the keystores')
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'Extra path segment between the data dir and the keystores')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
