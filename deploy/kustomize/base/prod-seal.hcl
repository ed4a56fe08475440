# prod's seal, for the throwaway server a prod drill restores into (drill.ephemeral.seal in
# config.json). It must be the same stanza as in prod's own server config: the restored data is
# sealed by prod's KMS key, and the worker's IRSA role may use that key
# (deploy/aws/vsnap-worker-iam-policy.json), so no credentials belong here.
# OpenBao 2.7 and later no longer build the awskms seal in: for an OpenBao cluster, copy prod's
# `plugin_directory` and `plugin "kms" "awskms"` block here as well, and add that plugin binary
# to the image beside the drill server. Vault builds awskms in.
seal "awskms" {
  region     = "eu-west-3"
  kms_key_id = "alias/vault-unseal"
}
