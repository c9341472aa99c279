#!/usr/bin/env bash
# The README's several-machines command, run on two hosts made on this machine: two network
# namespaces (h1 10.77.0.11, h2 10.77.0.12) on a bridge, a hostfile naming them, and `ip netns
# exec` standing in for ssh (Open MPI's plm_rsh_agent). The processes talk over TCP only, as on
# two machines. Trains a small MNIST config with one process per host and checks that the
# per-epoch losses equal those of the same job's two processes on one host (shared memory), and
# that rank 0's run folder is the only one written. Needs root (namespaces) and an ae-train built
# with `--features mpi`; removes the namespaces and the bridge when done.
#
#   scripts/mpi_two_hosts.sh PATH/TO/ae-train      # AE_DATA_DIR: where mnist/ is
set -euo pipefail
bin=$(realpath "$1")
export AE_DATA_DIR="${AE_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/datasets}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 RAYON_NUM_THREADS=1
# PMIx's shared-memory store assumes one host; the hash store works across the namespaces.
export PMIX_MCA_gds=hash
# The daemons would share hwloc's topology through memory mapped at a hole they find in their
# address space; in a namespace host the mapping can fail and the daemon dies of SIGSEGV inside
# hwloc_shmem_topology_write (seen once in 3 CI runs). Each daemon reads its own topology instead.
export OMPI_MCA_rtc_hwloc_vmhole=none
work=$(mktemp -d)
cleanup() {
  ip netns del ae-h1 2>/dev/null || true
  ip netns del ae-h2 2>/dev/null || true
  ip link del ae-br0 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cleanup
work=$(mktemp -d)

ip link add ae-br0 type bridge
ip addr add 10.77.0.1/24 dev ae-br0
ip link set ae-br0 up
for i in 1 2; do
  ip netns add ae-h$i
  ip link add ae-v$i type veth peer name ae-v${i}p
  ip link set ae-v${i}p netns ae-h$i
  ip link set ae-v$i master ae-br0
  ip link set ae-v$i up
  ip netns exec ae-h$i ip addr add 10.77.0.1$i/24 dev ae-v${i}p
  ip netns exec ae-h$i ip link set ae-v${i}p up
  ip netns exec ae-h$i ip link set lo up
done
cat > "$work/rsh" <<'EOF'
#!/bin/sh
# ssh's stand-in: run the command on "host" $1, the network namespace of that name.
host=$1; shift
exec ip netns exec "$host" sh -c "$*"
EOF
chmod +x "$work/rsh"
printf 'ae-h1 slots=1\nae-h2 slots=1\n' > "$work/hosts"
cat > "$work/small.toml" <<'EOF'
name = "two_hosts"
[data]
dataset = "mnist"
limit = 2000
[model.network]
kind = "dense"
hidden = [64]
code = 8
output_activation = "sigmoid"
[train]
epochs = 3
batch_size = 50
learning_rate = 2e-3
seed = 3
EOF
cd "$work"
# One host, two processes (shared memory).
mpirun --oversubscribe -np 2 "$bin" --config small.toml --backend flex --out one_host --quiet
# Two hosts, one process each, TCP on the bridge only.
mpirun --hostfile hosts -np 2 --mca plm_rsh_agent "$work/rsh" \
  --mca oob_tcp_if_include 10.77.0.0/24 --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 \
  --mca rtc_hwloc_vmhole none \
  -x AE_DATA_DIR -x RAYON_NUM_THREADS -x PMIX_MCA_gds \
  "$bin" --config small.toml --backend flex --out two_hosts --quiet
python3 - <<'EOF'
import json
load = lambda d: [(m["epoch"], m["train_loss"], m["val_loss"]) for m in map(json.loads, open(f"{d}/metrics.jsonl"))]
a, b = load("one_host"), load("two_hosts")
for x, y in zip(a, b):
    print(f"epoch {x[0]}: one host train {x[1]:.9f} val {x[2]:.9f} | two hosts train {y[1]:.9f} val {y[2]:.9f}")
assert len(a) == len(b) == 3, (a, b)
assert all(abs(x[i] - y[i]) <= 1e-6 * abs(x[i]) for x, y in zip(a, b) for i in (1, 2)), "losses differ"
import os
left = sorted(os.listdir("."))
assert left == ["hosts", "one_host", "rsh", "small.toml", "two_hosts"], f"ranks above 0 wrote here: {left}"
print("mpi_two_hosts: ok, the two-host job trained as the one-host job; only rank 0 wrote")
EOF
