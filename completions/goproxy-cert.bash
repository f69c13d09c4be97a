# bash completion for goproxy-cert(1)                       -*- shell-script -*-

# Lineages in the certs directory given with -d/--certs-dir (or the default).
# Reads the caller's words/cword: "--certs-dir=DIR" is one word there with
# bash-completion, three ("--certs-dir" "=" "DIR") without it.
_goproxy_cert_lineages()
{
    local dir=${GOPROXY_CERTS_DIR:-certs} i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -d | --certs-dir)
                if [[ ${words[i + 1]} == = ]]; then
                    dir=${words[i + 2]}
                else
                    dir=${words[i + 1]}
                fi
                ;;
            --certs-dir=*) dir=${words[i]#*=} ;;
        esac
    done
    local names="" d
    [[ -e $dir/cert.crt || -e $dir/priv.key ]] && names="default"
    for d in "$dir"/*/; do
        d=${d%/}
        [[ -e $d/cert.crt || -e $d/priv.key ]] && names+=" ${d##*/}"
    done
    printf '%s\n' "$names"
}

_goproxy_cert()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -s || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        # readline splits "--opt=VALUE" into "--opt" "=" "VALUE"
        if [[ $cur == = ]]; then
            cur=""
        elif [[ $prev == = ]] && ((cword >= 2)); then
            prev=${words[cword - 2]}
        fi
    fi

    local commands="check status issue renew revoke account store sync notify persist-record help"
    local cmd="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -*) ;;
            *) cmd=${words[i]}; break ;;
        esac
    done

    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi

    case $prev in
        -d | --certs-dir | --webroot)
            COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --ca-bundle | --hook | --store-cacert | --store-cert | --store-key | --store-seal)
            COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --store)
            COMPREPLY=($(compgen -W "etcd:// etcd+https://" -- "$cur")); return ;;
        --format)
            COMPREPLY=($(compgen -W "text json prometheus" -- "$cur")); return ;;
        --starttls)
            COMPREPLY=($(compgen -W "smtp imap pop3 ftp postgres ldap" -- "$cur")); return ;;
        --connect | --servername)
            COMPREPLY=($(compgen -A hostname -- "$cur")); return ;;
        -n | --name)
            COMPREPLY=($(compgen -W "$(_goproxy_cert_lineages)" -- "$cur")); return ;;
        --challenge)
            COMPREPLY=($(compgen -W "http-01 dns-01 tls-alpn-01 dns-account-01 dns-persist-01" -- "$cur")); return ;;
        --dns)
            COMPREPLY=($(compgen -W "rfc2136 dnsupdate nsupdate pdns powerdns acmedns acme-dns cloudflare duckdns hetzner digitalocean porkbun desec godaddy linode vultr ionos netlify vercel infomaniak hostinger scaleway spaceship cloudns ovh namecheap netcup inwx azuredns gcloud edgedns clouddns timewebcloud oraclecloud httpreq" -- "$cur")); return ;;
        --godoxy-config)
            COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --dns-opt | --dns-resolver | --dns-propagation-timeout | --dns-propagation-wait)
            return ;;
        --key-type)
            COMPREPLY=($(compgen -W "ec256 ec384 rsa2048 rsa3072 rsa4096" -- "$cur")); return ;;
        --reason)
            COMPREPLY=($(compgen -W "0 1 3 4 5" -- "$cur")); return ;;
        --days | -D | --domain | --server | -m | --email | --eab-kid | --eab-hmac | \
        --standalone | --profile | --preferred-chain | --deploy-hook | --rate-limit | --jitter | \
        --concurrency | --lock-wait | --hook-timeout | --connect-timeout | --notify | --notify-days | \
        --notify-digest | --notify-unreachable | --persist-until)
            return ;;
    esac

    local opts
    case $cmd in
        check)
            opts="-d --certs-dir --days -D --domain --json -q --quiet -h --help
                  --connect --servername --starttls --ca-bundle --connect-timeout
                  --store --store-cacert --store-cert --store-key --store-seal" ;;
        status)
            opts="-d --certs-dir --json --format -h --help
                  --store --store-cacert --store-cert --store-key --store-seal" ;;
        issue)
            opts="-d --certs-dir -n --name -D --domain --server --staging --ca-bundle -m --email
                  --eab-kid --eab-hmac --challenge --http-dir --webroot --standalone --hook
                  --key-type --reuse-key --no-reuse-key --profile --no-profile --preferred-chain
                  --no-preferred-chain --days --force --deploy-hook --no-deploy-hook --rate-limit --lock-wait
                  --hook-timeout --dns --dns-opt --dns-resolver --dns-propagation-timeout
                  --dns-propagation-wait --no-dns-propagation-check --godoxy-config --ephemeral-ok
                  --duplicate --notify --no-notify --notify-days --notify-digest --notify-unreachable --json -q --quiet -v --verbose -h --help
                  --store --store-cacert --store-cert --store-key --store-seal" ;;
        renew)
            opts="-d --certs-dir --days --force --jitter --concurrency --rate-limit --lock-wait --hook-timeout --json
                  --server --ca-bundle --profile --http-dir --webroot --standalone --hook
                  --dns --dns-opt --dns-resolver --dns-propagation-timeout --dns-propagation-wait
                  --no-dns-propagation-check --ephemeral-ok --notify --no-notify --notify-days --notify-digest --notify-unreachable
                  -q --quiet -v --verbose -h --help --store --store-cacert --store-cert --store-key --store-seal" ;;
        revoke)
            opts="-d --certs-dir --reason --ca-bundle --json -q --quiet -v --verbose -h --help
                  --store --store-cacert --store-cert --store-key --store-seal" ;;
        account)
            opts="-d --certs-dir -n --name --server --staging --ca-bundle -m --email --eab-kid
                  --eab-hmac --yes --json -q --quiet -v --verbose -h --help
                  --store --store-cacert --store-cert --store-key --store-seal" ;;
        persist-record)
            opts="-D --domain -d --certs-dir -n --name --server --staging --ca-bundle -m --email
                  --eab-kid --eab-hmac --wildcard --persist-until --dns --dns-opt --dns-resolver
                  --json -q --quiet -v --verbose -h --help
                  --store --store-cacert --store-cert --store-key --store-seal" ;;
        sync)
            opts="-d --certs-dir --watch --deploy-hook --hook-timeout --notify --no-notify --notify-days --notify-digest --notify-unreachable
                  -q --quiet -v --verbose -h --help
                  --store --store-cacert --store-cert --store-key --store-seal" ;;
        notify)
            opts="test list -d --certs-dir -q --quiet -v --verbose -h --help
                  --store --store-cacert --store-cert --store-key --store-seal" ;;
        store)
            if ((cword == i + 1)); then
                COMPREPLY=($(compgen -W "seal-key import export -h --help" -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return ;;
        help)
            COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
        *) return ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    case $cmd in
        check | status | renew | revoke)
            COMPREPLY=($(compgen -W "$(_goproxy_cert_lineages)" -- "$cur")) ;;
        account)
            COMPREPLY=($(compgen -W "show update rollover deactivate" -- "$cur")) ;;
    esac
} &&
    complete -F _goproxy_cert goproxy-cert

# ex: filetype=sh
