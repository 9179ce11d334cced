#!/usr/bin/env node
// `npm run build`: the web catalog (ui/, by Vite, into ui/dist; served under /ui/ by src/http/ui.ts), then bundles
// src/main.ts and every source module it imports into one ES module, dist/main.js, which
// bin/docent.js runs. typebox and kysely are bundled in too: each is hundreds of small ES modules, and resolving
// and linking them one by one took about a third of the time from `docent serve` to its first answer. Every other
// package stays an import from node_modules: CommonJS packages, native drivers, and packages that read files of
// their own (the Swagger UI assets). Types are checked by `npm run typecheck`; esbuild only strips them, as tsx
// does for the tests.
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { build as buildUi } from 'vite'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const BUNDLED_PACKAGES = ['typebox', 'kysely']

/** True for a bare import of a package that is not bundled (including `node:` builtins). */
function isExternal(specifier) {
  return !BUNDLED_PACKAGES.some((name) => specifier === name || specifier.startsWith(`${name}/`))
}

rmSync(join(root, 'dist'), { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  keepNames: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'packages-from-node-modules',
      setup(bundler) {
        bundler.onResolve({ filter: /^[^./]/ }, ({ path }) => (isExternal(path) ? { path, external: true } : undefined))
      },
    },
  ],
})

await buildUi({ configFile: join(root, 'ui', 'vite.config.ts'), logLevel: 'warn' })
