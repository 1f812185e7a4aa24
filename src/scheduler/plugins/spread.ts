// Replicas of one owner (a ReplicaSet's Pods, a Job's) go to the nodes that
// hold the fewest of them, so losing a node loses few — what kube-scheduler's
// default topology spreading does across hostnames.
import type { ScorePlugin } from '../framework.js';

export const ownerSpread: ScorePlugin = {
  name: 'DefaultPodTopologySpread',
  skip: (state) => !state.workload.ownerUid,
  weight: 2,
  normalize: 'reverse',
  score: (state, node) => (state.workload.ownerUid ? (node.perOwner.get(state.workload.ownerUid) ?? 0) : 0),
};
