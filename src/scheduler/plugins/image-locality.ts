// Prefer nodes that already hold the workload's images (status.images), in
// proportion to how much would not have to be fetched — kube-scheduler's
// ImageLocality, with its 23 MB..1000 MB scale per image (a present image
// scores at least a tenth of that).
import type { ScorePlugin } from '../framework.js';

const MIN = 23 * 1024 * 1024;
const MAX = 1000 * 1024 * 1024;

/** Names an image may be listed under on a node: as given, and with docker.io/library and :latest spelled out. */
function aliases(image: string): string[] {
  const out = [image];
  const tagged = /:[^/]+$/.test(image) || image.includes('@') ? image : `${image}:latest`;
  out.push(tagged);
  if (!image.includes('/')) out.push(`docker.io/library/${tagged}`);
  return out;
}

export const imageLocality: ScorePlugin = {
  name: 'ImageLocality',
  skip: (state) => !state.workload.images.length,
  weight: 1,
  score(state, node) {
    const images = state.workload.images;
    if (!images.length || !node.images.size) return 0;
    let sum = 0;
    for (const img of images) {
      const size = aliases(img).map((a) => node.images.get(a)).find((s) => s !== undefined);
      if (size === undefined) continue;
      // Unlike kube-scheduler, a small image present still counts a little: Lodge's built-in images are small but not free to import.
      sum += Math.min(1, Math.max(0.1, (size - MIN) / (MAX - MIN)));
    }
    return (sum * 100) / images.length;
  },
};
