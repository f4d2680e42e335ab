
use builtin;
use str;

set edit:completion:arg-completer[keria] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'keria'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'keria'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand start 'Run the agency: admin, http and boot servers until a signal stops it'
            cand boot 'Provision an agent for a Signify controller derived from a passcode'
            cand status 'Ask a running agency for its health; exit codes as LSB init scripts'
            cand backup 'Write a consistent copy of the agency store to FILE, while it runs or not'
            cand restore 'Put a backup in place as the agency store of a data dir where no agency runs'
        }
        &'keria;start'= {
            cand -a 'Admin port (the signed Signify API)'
            cand --admin-http-port 'Admin port (the signed Signify API)'
            cand -H 'KERI message ingress port'
            cand --http 'KERI message ingress port'
            cand -B 'Boot port (POST /boot, GET /health); keep it private'
            cand --boot 'Boot port (POST /boot, GET /health); keep it private'
            cand --host 'Address the three ports listen on (IPv4 or IPv6; :: or 0.0.0.0 for all interfaces)'
            cand -n 'Name of the agency''s keystore'
            cand --name 'Name of the agency''s keystore'
            cand -b 'Extra path segment between the data dir and the keystores'
            cand --base 'Extra path segment between the data dir and the keystores'
            cand -p 'Passcode that encrypts agent secrets at rest (21+ characters; never logged or stored)'
            cand --passcode 'Passcode that encrypts agent secrets at rest (21+ characters; never logged or stored)'
            cand --config-dir 'Directory holding keri/cf/<config-file>.json'
            cand --config-file 'Name of the JSON configuration file (without .json)'
            cand --keypath 'TLS private key (PEM); with --certpath, serves every port over TLS'
            cand --certpath 'TLS certificate chain (PEM)'
            cand --cafilepath 'CA certificates (PEM); when given, clients must present a certificate it signed'
            cand --loglevel 'Log level: DEBUG, INFO, WARNING, ERROR, CRITICAL (or trace, debug, info, warn, error, off)'
            cand --logfile 'Append the log to this file instead of stderr; SIGHUP reopens it'
            cand --log-format 'Log lines as text, or as one JSON object per line (time, level, target, message)'
            cand --experimental-boot-username 'Username required on POST /boot (HTTP Basic auth)'
            cand --experimental-boot-password 'Password required on POST /boot (HTTP Basic auth)'
            cand --data-dir 'Root of every store (default: $XDG_DATA_HOME/keria or ~/.local/share/keria)'
            cand --backup-dir 'Folder POST /backup writes into (created 0700 if missing); without it, backups are refused'
            cand --tock 'Seconds between two ticks of the run loop'
            cand --shutdown-timeout 'Seconds the graceful stop may take before keria gives up and exits 1'
            cand --release-timeout 'Seconds an idle agent stays loaded before it is released'
            cand --curls 'Controller URLs ('';''-separated) kept in each agent''s configuration'
            cand --iurls 'Introduction OOBI URLs ('';''-separated) kept in each agent''s configuration'
            cand --durls 'Data OOBI URLs ('';''-separated): credential schemas resolved at start for every agent'
            cand --signature-window 'Seconds a signed request''s "created" may differ from the server clock'
            cand --max-body 'Largest request body accepted, in bytes (413 above)'
            cand --max-connections 'Most connections open at once. The boot port keeps a quarter of them (at most 64) for itself, so /health answers while admin and http, which share the rest, are full; a full port closes its longest-idle kept-alive connection, else answers a fast 503'
            cand --header-timeout 'Seconds a client may take to send a request''s headers and body before it is closed'
            cand --fetch-timeout 'Seconds an OOBI fetch (connect, request and whole answer) may take before it fails'
            cand --receipt-timeout 'Seconds an event''s witnesses have to receipt it to its threshold before its operation fails (408, naming the missing witnesses)'
            cand --store-cache 'Most memory the agency store''s page cache may hold, in MiB'
            cand --logrequests 'Log every HTTP request (method, path, status, duration)'
            cand --cors 'Answer CORS requests and expose the signature headers'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keria;boot'= {
            cand -a 'Admin port (the signed Signify API)'
            cand --admin-http-port 'Admin port (the signed Signify API)'
            cand -H 'KERI message ingress port'
            cand --http 'KERI message ingress port'
            cand -B 'Boot port (POST /boot, GET /health); keep it private'
            cand --boot 'Boot port (POST /boot, GET /health); keep it private'
            cand --certpath 'The agency''s certificate (PEM), as given to start: use https and accept exactly it'
            cand --cacert 'CA certificates (PEM) that signed the agency''s certificate: use https and verify it'
            cand --client-cert 'Client certificate chain (PEM), for an agency started with --cafilepath'
            cand --client-key 'The client certificate''s private key (PEM)'
            cand --url 'Base URL of the boot port to POST /boot to, instead of http(s)://127.0.0.1:<boot>'
            cand --experimental-boot-username 'Username required on POST /boot (HTTP Basic auth)'
            cand --experimental-boot-password 'Password required on POST /boot (HTTP Basic auth)'
            cand --passcode-file 'Read the passcode from this file (first line)'
            cand --passcode 'The passcode itself (visible to other users in the process list; prefer --passcode-file). From SIGNIFY_PASSCODE, it gives way to --passcode-file and --generate'
            cand --tier 'Key-stretching tier Signify uses for the controller keys'
            cand --generate 'Generate a random 21-character passcode and print it once'
            cand --if-missing 'Exit 0 when an agent already exists for this controller, printing it'
            cand --json 'Print one JSON object instead of a line'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keria;status'= {
            cand -a 'Admin port (the signed Signify API)'
            cand --admin-http-port 'Admin port (the signed Signify API)'
            cand -H 'KERI message ingress port'
            cand --http 'KERI message ingress port'
            cand -B 'Boot port (POST /boot, GET /health); keep it private'
            cand --boot 'Boot port (POST /boot, GET /health); keep it private'
            cand --certpath 'The agency''s certificate (PEM), as given to start: use https and accept exactly it'
            cand --cacert 'CA certificates (PEM) that signed the agency''s certificate: use https and verify it'
            cand --client-cert 'Client certificate chain (PEM), for an agency started with --cafilepath'
            cand --client-key 'The client certificate''s private key (PEM)'
            cand --url 'Base URL of the boot port to ask for /health, instead of http(s)://127.0.0.1:<boot>'
            cand --data-dir 'Data dir whose pid file tells "killed" from "not running"'
            cand --wait 'Poll until healthy for up to this many seconds'
            cand --json 'Print one JSON object instead of a line'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keria;backup'= {
            cand --backup-dir 'The backup folder, when no agency answers and keria copies the store itself (a running agency writes into its own --backup-dir)'
            cand -a 'Admin port (the signed Signify API)'
            cand --admin-http-port 'Admin port (the signed Signify API)'
            cand -H 'KERI message ingress port'
            cand --http 'KERI message ingress port'
            cand -B 'Boot port (POST /boot, GET /health); keep it private'
            cand --boot 'Boot port (POST /boot, GET /health); keep it private'
            cand --certpath 'The agency''s certificate (PEM), as given to start: use https and accept exactly it'
            cand --cacert 'CA certificates (PEM) that signed the agency''s certificate: use https and verify it'
            cand --client-cert 'Client certificate chain (PEM), for an agency started with --cafilepath'
            cand --client-key 'The client certificate''s private key (PEM)'
            cand --url 'Base URL of the boot port to POST /backup to, instead of http(s)://127.0.0.1:<boot>'
            cand --experimental-boot-username 'Username required on POST /boot (HTTP Basic auth)'
            cand --experimental-boot-password 'Password required on POST /boot (HTTP Basic auth)'
            cand --data-dir 'Data dir whose store is copied when no agency answers'
            cand -n 'Name of the agency''s keystore (when no agency answers)'
            cand --name 'Name of the agency''s keystore (when no agency answers)'
            cand -b 'Extra path segment between the data dir and the keystores (when no agency answers)'
            cand --base 'Extra path segment between the data dir and the keystores (when no agency answers)'
            cand --force 'Replace FILE if it exists'
            cand --json 'Print one JSON object instead of a line'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keria;restore'= {
            cand --data-dir 'Data dir to restore into (default: $XDG_DATA_HOME/keria or ~/.local/share/keria)'
            cand -n 'Name of the agency''s keystore'
            cand --name 'Name of the agency''s keystore'
            cand -b 'Extra path segment between the data dir and the keystores'
            cand --base 'Extra path segment between the data dir and the keystores'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
