# fish completion for goproxy-cert(1)

set -l commands check status issue renew revoke account store sync notify persist-record help

function __goproxy_cert_lineages
    set -l dir certs
    set -q GOPROXY_CERTS_DIR; and set dir $GOPROXY_CERTS_DIR
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case -d --certs-dir
                set -l j (math $i + 1)
                test $j -le (count $tokens); and set dir $tokens[$j]
            case '--certs-dir=*'
                set dir (string replace -- '--certs-dir=' '' $tokens[$i])
        end
    end
    if test -e $dir/cert.crt -o -e $dir/priv.key
        echo default
    end
    for d in $dir/*/
        if test -e $d/cert.crt -o -e $d/priv.key
            string replace -r '.*/([^/]+)/*$' '$1' -- $d
        end
    end
end

complete -c goproxy-cert -f
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -l help -d 'show help'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -l version -d 'show the version'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a check -d 'check the certificates on disk (offline)'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a status -d 'show everything known about each certificate'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a issue -d 'get a certificate, only if needed'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a renew -d 'renew every certificate that is due'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a revoke -d "revoke a lineage's certificate"
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a account -d 'manage the ACME account'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a store -d 'make the seal key of a shared store'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a sync -d "write a shared store's pairs into a certs directory"
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a notify -d 'the alert targets: test, list'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a persist-record -d 'print the dns-persist-01 record to create'
complete -c goproxy-cert -n "not __fish_seen_subcommand_from $commands" -a help -d 'show help for a command'
complete -c goproxy-cert -n "__fish_seen_subcommand_from help" -a "$commands"

# options every command takes
for c in check status issue renew revoke account notify persist-record
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -s d -l certs-dir -r -a '(__fish_complete_directories)' -d 'certs directory'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -s h -l help -d 'show help'
end
for c in issue renew revoke account persist-record
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l json -d 'print JSON'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -s q -l quiet -d 'print only failures'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -s v -l verbose -d 'more detail'
end
for c in check status renew revoke
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -a '(__goproxy_cert_lineages)' -d lineage
end

# check
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -l days -x -d 'due when fewer than N days are left'
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -s D -l domain -x -d 'a name the certificate must hold'
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -l json -d 'print JSON'
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -s q -l quiet -d 'print nothing; exit code only'
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -l connect -x -a '(__fish_print_hostnames)' -d 'check what the server at HOST[:PORT] serves'
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -l servername -x -a '(__fish_print_hostnames)' -d 'the name to ask for (SNI) and check'
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -l starttls -x -a 'smtp imap pop3 ftp postgres ldap' -d 'upgrade a plain connection first'
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -l ca-bundle -r -F -d 'verify against these CA certificates only'
complete -c goproxy-cert -n "__fish_seen_subcommand_from check" -l connect-timeout -x -d 'seconds per address (default 10)'

# status
complete -c goproxy-cert -n "__fish_seen_subcommand_from status" -l json -d 'same as --format json'
complete -c goproxy-cert -n "__fish_seen_subcommand_from status" -l format -x -a 'text json prometheus' -d 'output format'

# issue and account: the CA
for c in issue account persist-record
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l server -x -d 'ACME directory URL'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l staging -d "Let's Encrypt staging"
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l ca-bundle -r -F -d 'CA certificates for the ACME server'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -s m -l email -x -d 'contact address'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l eab-kid -x -d 'external account binding key ID'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l eab-hmac -x -d 'external account binding HMAC key'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -s n -l name -x -a '(__goproxy_cert_lineages)' -d lineage
end

# issue
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -s D -l domain -x -d 'a name for the certificate'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l challenge -x -a 'http-01 dns-01 tls-alpn-01 dns-account-01 dns-persist-01' -d 'challenge type'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l key-type -x -a 'ec256 ec384 rsa2048 rsa3072 rsa4096' -d 'key type'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l reuse-key -d 'keep the current key'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l no-reuse-key -d 'make a new key'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l preferred-chain -x -d 'issuer CN of the preferred chain'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l deploy-hook -x -d 'command run after the pair changed'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l no-profile -d 'drop the stored profile'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l no-preferred-chain -d 'drop the stored preferred chain'
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l no-deploy-hook -d 'drop the stored deploy hook'

complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l godoxy-config -r -F -d "GoDoxy's config.yml"
complete -c goproxy-cert -n "__fish_seen_subcommand_from issue" -l duplicate -d 'a new lineage may hold the names of another one'

# issue and renew: solver, profile and dns-01 settings (renew: for the lineages named), the decision
for c in issue renew
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l http-dir -d 'answer http-01 through goproxyd'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l webroot -r -a '(__fish_complete_directories)' -d 'web root for http-01 files'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l standalone -x -d 'answer challenges on ADDR:PORT'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l hook -r -F -d 'uacme-compatible hook program'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l profile -x -d 'ACME profile'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l dns -x -a 'rfc2136 dnsupdate nsupdate pdns powerdns acmedns acme-dns cloudflare duckdns hetzner digitalocean porkbun desec godaddy linode vultr ionos netlify vercel infomaniak hostinger scaleway spaceship cloudns ovh namecheap netcup inwx azuredns gcloud edgedns clouddns timewebcloud oraclecloud httpreq' -d 'dns-01 through a built-in provider'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l dns-opt -x -d 'provider option KEY=VALUE'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l dns-resolver -x -d 'recursive resolver ADDR[:PORT]'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l dns-propagation-timeout -x -d 'wait at most SECONDS for every server'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l dns-propagation-wait -x -d 'wait SECONDS instead of checking'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l no-dns-propagation-check -d 'tell the CA at once'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l ephemeral-ok -d 'the certs directory is meant to be temporary'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l days -x -d 'due when fewer than N days are left'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l force -d 'even if current'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l rate-limit -x -d 'N/HOURS or off'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l lock-wait -x -d 'wait at most SECONDS for another run'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l hook-timeout -x -d 'kill a hook after SECONDS'
end

# renew (the CA: for the lineages named)
complete -c goproxy-cert -n "__fish_seen_subcommand_from renew" -l server -x -d 'ACME directory URL (stored when renewed)'
complete -c goproxy-cert -n "__fish_seen_subcommand_from renew" -l ca-bundle -r -F -d 'CA certificates for the ACME server'
complete -c goproxy-cert -n "__fish_seen_subcommand_from renew" -l jitter -x -d 'sleep up to SECONDS first'
complete -c goproxy-cert -n "__fish_seen_subcommand_from renew" -l concurrency -x -d 'lineages renewed at once'

# revoke
complete -c goproxy-cert -n "__fish_seen_subcommand_from revoke" -l reason -x -a '0 1 3 4 5' -d 'RFC 5280 reason code'
complete -c goproxy-cert -n "__fish_seen_subcommand_from revoke" -l ca-bundle -r -F -d 'CA certificates for the ACME server'

# account
complete -c goproxy-cert -n "__fish_seen_subcommand_from account" -l yes -d 'confirm deactivate'
complete -c goproxy-cert -n "__fish_seen_subcommand_from account; and not __fish_seen_subcommand_from show update rollover deactivate" -a 'show update rollover deactivate'

# persist-record
complete -c goproxy-cert -n "__fish_seen_subcommand_from persist-record" -s D -l domain -x -d 'a name (*.NAME: policy=wildcard)'
complete -c goproxy-cert -n "__fish_seen_subcommand_from persist-record" -l wildcard -d 'policy=wildcard on every record'
complete -c goproxy-cert -n "__fish_seen_subcommand_from persist-record" -l persist-until -x -d 'the record lapses then (Unix seconds or RFC 3339)'
complete -c goproxy-cert -n "__fish_seen_subcommand_from persist-record" -l dns -x -a 'rfc2136 dnsupdate nsupdate pdns powerdns cloudflare hetzner digitalocean porkbun desec godaddy linode vultr ionos netlify vercel infomaniak hostinger scaleway spaceship cloudns ovh namecheap netcup inwx azuredns gcloud edgedns clouddns timewebcloud oraclecloud httpreq' -d 'also create the record through this provider'
complete -c goproxy-cert -n "__fish_seen_subcommand_from persist-record" -l dns-opt -x -d 'provider option KEY=VALUE'
complete -c goproxy-cert -n "__fish_seen_subcommand_from persist-record" -l dns-resolver -x -d 'recursive resolver ADDR[:PORT]'

# a shared store (etcd)
for c in check status issue renew revoke account store sync notify persist-record
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l store -x -a 'etcd:// etcd+https://' -d 'shared store URL'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l store-cacert -r -F -d 'CA of the etcd members'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l store-cert -r -F -d 'client certificate for etcd'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l store-key -r -F -d 'client key for etcd'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l store-seal -r -F -d 'seal key of the private keys in the store'
end
complete -c goproxy-cert -n "__fish_seen_subcommand_from store; and not __fish_seen_subcommand_from seal-key import export" -a seal-key -d 'make a new seal key FILE'
complete -c goproxy-cert -n "__fish_seen_subcommand_from store; and not __fish_seen_subcommand_from seal-key import export" -a import -d 'copy a certs directory into the store'
complete -c goproxy-cert -n "__fish_seen_subcommand_from store; and not __fish_seen_subcommand_from seal-key import export" -a export -d 'copy the store into a certs directory'
complete -c goproxy-cert -n "__fish_seen_subcommand_from store" -s h -l help -d 'show help'

# sync: the store's pairs into a local certs directory
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -s d -l certs-dir -r -a '(__fish_complete_directories)' -d 'local certs directory'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -l watch -d 'keep running, follow the store'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -l deploy-hook -x -d 'command run after a pass wrote pairs'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -l hook-timeout -x -d 'kill the hook after SECONDS'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -s q -l quiet -d 'print only errors'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -s v -l verbose -d 'more detail'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -s h -l help -d 'show help'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -l store -x -a 'etcd:// etcd+https://' -d 'shared store URL'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -l store-cacert -r -F -d 'CA of the etcd members'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -l store-cert -r -F -d 'client certificate for etcd'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -l store-key -r -F -d 'client key for etcd'
complete -c goproxy-cert -n "__fish_seen_subcommand_from sync" -l store-seal -r -F -d 'seal key of the private keys in the store'

# alerts: stored targets (issue, renew, sync) and the notify command
for c in issue renew sync
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l notify -x -a 'ntfy: gotify: discord: slack: pushover: webhook: program:' -d 'alert target KIND:WHERE (stored)'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l no-notify -d 'remove the stored alert targets'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l notify-days -x -d 'alert when failing N days before expiry (stored)'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l notify-digest -x -d 'more than N changes in a run: one digest (stored)'
    complete -c goproxy-cert -n "__fish_seen_subcommand_from $c" -l notify-unreachable -x -d 'alert when the store is out of reach this many seconds (stored)'
end
complete -c goproxy-cert -n "__fish_seen_subcommand_from notify; and not __fish_seen_subcommand_from test list" -a test -d 'send a test message to every target'
complete -c goproxy-cert -n "__fish_seen_subcommand_from notify; and not __fish_seen_subcommand_from test list" -a list -d 'show the targets without secrets'
complete -c goproxy-cert -n "__fish_seen_subcommand_from notify" -s q -l quiet -d 'print only failures'
complete -c goproxy-cert -n "__fish_seen_subcommand_from notify" -s v -l verbose -d 'more detail'
