# Memory the machine already holds, for benchmarks that write gigabytes
# through the page cache (benches/store.sh); sourced after WORK is set.
#
# On a virtual machine whose host takes back the memory its guest frees
# (a balloon's free page reporting, as on this project's Firecracker
# machine), the first write to such memory costs a fault in the host. A
# store's WAL and table grow the page cache with every record; once that
# growth reached memory the host had taken back, PostgreSQL's CPU a record
# went from 15 to 57 µs, 30 % of the machine's samples in the kernel's
# copy into new page-cache pages (docs/performance.md, "Memory the host
# takes back"). A server that has run for a while holds its memory; a
# benchmark on a fresh one should too.

WARM_FILE=""

# Fills the free memory, less $1 MB (default 1024), with the pages of a
# file kept until drop_warm_memory: the kernel then recycles pages the
# machine holds instead of taking new ones. The file leaves 12 GB of the
# disk free for the benchmark's own writes. WARM_MEMORY=0 skips it.
warm_memory() {
    [ "${WARM_MEMORY:-1}" = 0 ] && return 0
    local keep=${1:-1024} free_mb disk_mb size
    free_mb=$(awk '/^MemFree:/ { print int($2 / 1024) }' /proc/meminfo)
    disk_mb=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
    size=$((free_mb - keep))
    [ "$size" -gt $((disk_mb - 12288)) ] && size=$((disk_mb - 12288))
    [ "$size" -le 0 ] && return 0
    say "holding $size MB of page cache (free memory $free_mb MB)"
    WARM_FILE="$WORK/warm-memory"
    dd if=/dev/zero of="$WARM_FILE" bs=1M count="$size" conv=fsync status=none
    # The first store run of two passes had a p99 of 35 and 142 ms after
    # a 20 GB write; whether the write played a part is not known, so the
    # disk settles before anything is measured.
    sync
    sleep 5
}

drop_warm_memory() {
    [ -n "$WARM_FILE" ] && rm -f "$WARM_FILE"
    WARM_FILE=""
}

# The machine's memory now: its size, what is free and what is cached.
memory_state() {
    awk '/^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 } /^Cached:/ { c = $2 }
        END { printf "%d MB, %d MB free, %d MB cached", t / 1024, f / 1024, c / 1024 }' /proc/meminfo
}
