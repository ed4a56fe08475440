// Which key shares a restore step offers a cluster. Before a restore the target runs on its
// own keyring, unless an earlier drill already gave it the source's; after a restore it runs
// on the source's. Trying both, in the likelier order, is what lets a step resume from any
// state a killed or cancelled run left behind.
import type { ClusterConfig } from '../config/cluster-schema';
import { FailureType } from '../workflows/names';
import type { ActivityDeps } from './deps';
import { failure } from './failures';
import { loadKeyShares } from './keys/key-shares';
import type { ShareSet } from './vault/root-session';

export type KeyringOrder = 'before-restore' | 'after-restore';

export function shareSet(
  deps: ActivityDeps,
  cluster: ClusterConfig,
  label: string,
  whose: ShareSet['whose'],
): ShareSet {
  return {
    label,
    whose,
    load: () => {
      if (!cluster.keyShares) {
        throw failure(FailureType.KeySharesUnavailable, `cluster ${cluster.name} has no keyShares configured`);
      }
      return loadKeyShares(cluster.keyShares, deps);
    },
  };
}

export function keyringsFor(
  deps: ActivityDeps,
  target: ClusterConfig,
  source: ClusterConfig,
  order: KeyringOrder,
): ShareSet[] {
  const own = shareSet(deps, target, `${target.name}'s own key shares`, 'target');
  if (target.name === source.name) return [own];
  const sources = shareSet(deps, source, `${source.name}'s key shares (restored keyring)`, 'source');
  return order === 'before-restore' ? [own, sources] : [sources, own];
}
