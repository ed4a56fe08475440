# Policy for `vsnap recover`: vsnap reads a live secret to compare it with the snapshot's, and
# writes the recovered data as a new version (check-and-set against the version it read).
# Attach it to vsnap's role beside snapshot-agent, scoped to the paths vsnap may recover: the
# backup itself never needs it. These paths cover a KV v2 mount at secret/; repeat them for
# each mount (KV v1 mounts have no data/ and metadata/ segments: "legacy/*").

path "secret/data/*" {
  capabilities = ["create", "update", "read"]
}

# Versions and deletion state, which the check-and-set needs; "list" for folder recovers.
path "secret/metadata/*" {
  capabilities = ["read", "list"]
}
