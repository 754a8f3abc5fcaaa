// Module resolution hooks (registered by register.mjs): an import of "fs"
// or "node:fs" from outside this folder resolves to fs.mjs, which adds
// globSync. fs.mjs's own import of node:fs resolves as usual.
const shim = new URL('./fs.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL !== shim) {
    return { url: shim, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
