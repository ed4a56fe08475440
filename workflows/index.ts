// Every workflow the worker registers. Workflow type names are the exported function names
// (see names.ts).
export { backup } from './backup';
export { restore } from './restore';
export { verify } from './verify';
export { recover } from './recover';
export { clusterLock } from './cluster-lock';
