#!/usr/bin/env node
// The CLI. It runs the compiled JavaScript in dist/ when that is newer than every source file (`npm start` and
// `npm run build` compile it), and the TypeScript sources through tsx otherwise, so it never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const compiled = join(root, 'dist', 'main.js')

function newestSource() {
  const src = join(root, 'src')
  let newest = 0
  for (const entry of readdirSync(src, { recursive: true })) {
    newest = Math.max(newest, statSync(join(src, String(entry))).mtimeMs)
  }
  return newest
}

if (existsSync(compiled) && statSync(compiled).mtimeMs >= newestSource()) {
  await import(pathToFileURL(compiled).href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(join(root, 'src', 'main.ts')).href)
}
