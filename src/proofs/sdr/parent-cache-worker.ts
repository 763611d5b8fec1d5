/** Worker thread for parentChunks(): computes the parents of the node ranges it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { DEGREE } from './constants.js';
import { type SdrBackend, SdrGraph } from './graph.js';

const { nodes, porepId, apiVersion, backend } = workerData as {
  nodes: number;
  porepId: Uint8Array;
  apiVersion: '1.0.0' | '1.1.0' | '1.2.0';
  backend: SdrBackend;
};
const graph = new SdrGraph(nodes, porepId, apiVersion);

parentPort!.on('message', (m: { index: number; start: number; count: number }) => {
  const parents = new Uint32Array(m.count * DEGREE);
  graph.fillParents(m.start, m.count, parents, backend);
  parentPort!.postMessage({ index: m.index, parents }, [parents.buffer]);
});
