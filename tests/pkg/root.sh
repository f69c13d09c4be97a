# root.sh: a fresh Debian 12 root, for tests/pkg/run.sh and
# tests/pkg/readme-root.sh (bash; source it).
#
#   make_root R MIRROR LOG   debootstrap --variant=minbase bookworm into R
#                            (two tries of at most 15 minutes), then this
#                            machine's resolv.conf; returns 1 with LOG's
#                            tail printed when both fail
#   inroot CMD...            CMD chrooted in $R, with /proc, /dev/pts and
#                            /dev/shm mounted in a mount namespace of its own
#                            (gone when CMD ends: nothing stays mounted)

make_root() {
	local r=$1 mirror=$2 log=$3
	for _ in 1 2; do
		if timeout 900 debootstrap --variant=minbase bookworm "$r" "$mirror" >"$log" 2>&1; then
			cp /etc/resolv.conf "$r/etc/resolv.conf"
			return 0
		fi
		rm -rf --one-file-system "$r"
	done
	tail -n 30 "$log"
	return 1
}

inroot() {
	unshare -m --propagation private sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" &&
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts" &&
		mkdir -p "$r/dev/shm" && mount -t tmpfs tmpfs "$r/dev/shm" &&
		exec chroot "$r" "$@"' sh "$R" "$@"
}
