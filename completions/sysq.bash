# SPDX-License-Identifier: ISC
# bash completion for sysq(1): the commands, each command's options (as
# `sysq CMD --help` lists them), interface names for net and mtu (the first
# column of `sysq net`) and method names for call and methods (the first
# column of `sysq methods`), asked of the daemon the command line names
# (-s SOCKET, else $SYSQ_SOCKET, else sysq's default).  Plain `complete -F`
# and compgen: the bash-completion package is not needed.
# tests/integration/test_cli.c checks the command list against `sysq --help`.

_sysq_commands='ps kill df xattr net ss mtu host sysctl get watch metrics hello ping
methods stats call'
_sysq_global_options='-s --socket -j --json -h --help -V --version'

# The options `sysq CMD --help` lists: the leading -x, --long words of its
# option lines ("-o, --format FIELD,..." gives -o and --format); sysq
# answers --help without the daemon.
_sysq_options()
{
	local bin=$1 cmd=$2 line w opts=
	local -a words
	while IFS= read -r line; do
		[[ $line =~ ^\ +- ]] || continue
		read -ra words <<<"$line"
		for w in "${words[@]}"; do
			[[ $w == -* ]] || break
			local more=0
			[[ $w == *, ]] && more=1
			w=${w%,}
			w=${w%%[\[=]*}
			# not "--" (ends the options) nor a placeholder like -SIGNAL
			if [[ $w != -- && ! $w =~ ^-[A-Z][A-Z]+$ ]]; then
				opts+="$w "
			fi
			((more)) || break
		done
	done < <("$bin" "$cmd" --help 2>/dev/null)
	printf '%s\n' "$opts"
}

# The first column of `sysq ARGS...` without its header line.
_sysq_column()
{
	"$@" 2>/dev/null | { read -r _; while read -r w _; do printf '%s\n' "$w"; done; }
}

_sysq()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	local bin=${COMP_WORDS[0]}
	[[ $bin == "~/"* ]] && bin=$HOME/${bin#"~/"}
	local -a sock=()
	local i=1 cmd= cmdi=0
	COMPREPLY=()

	# the global options before the command
	while ((i < COMP_CWORD)); do
		case ${COMP_WORDS[i]} in
		-s | --socket)
			sock=(-s "${COMP_WORDS[i + 1]}")
			((i += 2))
			continue
			;;
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			cmdi=$i
			break
			;;
		esac
		((i++))
	done

	if [[ -z $cmd ]]; then
		case $prev in
		-s | --socket)
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			;;
		*)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "$_sysq_global_options" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "$_sysq_commands" -- "$cur"))
			fi
			;;
		esac
		return 0
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_sysq_options "$bin" "$cmd")" -- "$cur"))
		return 0
	fi

	# the command's arguments before this one, options left out
	local -a args=()
	for ((i = cmdi + 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -* ]] || args+=("${COMP_WORDS[i]}")
	done

	case $cmd in
	net | mtu)
		((${#args[@]} == 0)) &&
			COMPREPLY=($(compgen -W "$(_sysq_column "$bin" "${sock[@]}" net)" -- "$cur"))
		;;
	call | methods)
		((${#args[@]} == 0)) &&
			COMPREPLY=($(compgen -W "$(_sysq_column "$bin" "${sock[@]}" methods)" -- "$cur"))
		;;
	watch)
		case $prev in
		--uid | --ppid | --comm | pid) ;;
		*) COMPREPLY=($(compgen -W 'mounts net proc pid' -- "$cur")) ;;
		esac
		;;
	ss)
		if [[ $prev == state || ${args[*]} == *state* ]]; then
			COMPREPLY=($(compgen -W 'established syn-sent syn-recv fin-wait-1 fin-wait-2
				time-wait closed close-wait last-ack listening closing all connected
				synchronized bucket big' -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'state' -- "$cur"))
		fi
		;;
	kill)
		[[ $prev == -s ]] && COMPREPLY=($(compgen -A signal -- "$cur"))
		;;
	df)
		case $prev in
		-t | --type | -x | --exclude-type | --timeout) ;;
		*)
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			;;
		esac
		;;
	get | xattr)
		case $prev in
		--offset | --length) ;;
		*)
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			;;
		esac
		;;
	metrics)
		[[ $prev == --textfile ]] && COMPREPLY=($(compgen -d -- "$cur"))
		;;
	esac
	return 0
}

complete -F _sysq sysq
