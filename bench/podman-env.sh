# Sourced by the benchmarks that run podman: a podman of the benchmark's own under $work/podman
# (storage, run state, events), with runc, cgroupfs and the host's network, and the default
# ulimits this host allows (root here lacks CAP_SYS_RESOURCE: podman's defaults would be refused).
# Needs $work; exports CONTAINERS_CONF and CONTAINERS_STORAGE_CONF.
export CONTAINERS_CONF=$work/podman/containers.conf CONTAINERS_STORAGE_CONF=$work/podman/storage.conf
mkdir -p "$work/podman"
cat > "$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "host"
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
events_logfile_path = "$work/podman/events.log"
tmp_dir = "$work/podman/tmp"
CONF
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/podman/root"\nrunroot = "%s/podman/run"\n' "$work" "$work" \
    > "$CONTAINERS_STORAGE_CONF"
