# bash completion for goproxyd(8)                            -*- shell-script -*-

_goproxyd()
{
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    # readline splits "--opt=VALUE" into "--opt" "=" "VALUE"
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    case $prev in
        -d | --certs-dir | --store-cache)
            COMPREPLY=($(compgen -d -- "$cur"))
            return
            ;;
        --pidfile | --store-cacert | --store-cert | --store-key | --store-seal)
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --proxy-protocol)
            COMPREPLY=($(compgen -W "v1 v2" -- "$cur"))
            return
            ;;
        --alpn)
            COMPREPLY=($(compgen -W "http/1.1 h2,http/1.1" -- "$cur"))
            return
            ;;
        --user)
            COMPREPLY=($(compgen -u -- "$cur"))
            return
            ;;
        -l | --listen | -b | --backend | --route | --http | --workers | --max-conns | \
            --handshake-timeout | --idle-timeout | --drain-timeout)
            return
            ;;
    esac
    COMPREPLY=($(compgen -W "-d --certs-dir -l --listen -b --backend --route --http
        --proxy-protocol --alpn --workers --max-conns --handshake-timeout --idle-timeout
        --drain-timeout --user --pidfile --sni-strict --store --store-cacert --store-cert --store-key
        --store-seal --store-cache -v --verbose -h --help -V --version" -- "$cur"))
} &&
    complete -F _goproxyd goproxyd
