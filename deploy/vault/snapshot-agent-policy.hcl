# Policy of the `snapshot-agent` AppRole: exactly what a vsnap backup needs, nothing more.

# Stream the Raft snapshot (GET /v1/sys/storage/raft/snapshot).
path "sys/storage/raft/snapshot" {
  capabilities = ["read"]
}

# Write the canary just before the snapshot, so a restore can prove which backup it came from.
# KV v2 at `secret/`: writes go to the data/ path. No read: the backup never needs one.
path "secret/data/check_timestamp" {
  capabilities = ["create", "update"]
}

# Revoke its own token when the run ends (the role sets token_no_default_policy, which would
# otherwise be where this capability comes from).
path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# The inventory recorded in each snapshot's manifest (names and counts, never values), which a
# restore drill compares with the restored cluster.
path "sys/mounts" {
  capabilities = ["read"]
}
path "sys/auth" {
  capabilities = ["read"]
}
path "sys/policies/acl" {
  capabilities = ["list"]
}
path "secret/metadata/*" {
  capabilities = ["list"]
}
