#!/usr/bin/env bash
# npm run test:faults: the fault suite against the real stack (README "Reliability").
#  1. kill (mid-backup, mid-restore, mid-drill), starve and corrupt (test/faults/*), the soak shortened (VSNAP_SOAK_BACKUPS, default 30);
#  2. the backup and restore integration tests again, with SeaweedFS as the S3 store;
#  3. the Temporal restart last and alone: it stops the stack's Temporal server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/stack.sh up
run_tests() { node --import tsx --test --test-timeout=600000 --test-concurrency=1 --test-reporter=spec "$@"; }
run_tests test/faults/bad-input.test.ts test/faults/corruption.test.ts test/faults/flaky-s3.test.ts \
  test/faults/vault-ha.test.ts test/faults/key-service.test.ts test/faults/worker-killed.test.ts \
  test/faults/restore-worker-killed.test.ts test/faults/ephemeral-drill-killed.test.ts test/faults/soak.test.ts
bash scripts/with-seaweedfs.sh node --import tsx --test --test-timeout=600000 --test-concurrency=1 --test-reporter=spec \
  test/integration/backup.test.ts test/integration/restore.test.ts
run_tests test/faults/temporal-restart.test.ts
