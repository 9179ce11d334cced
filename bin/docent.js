#!/usr/bin/env node
// The CLI runs its TypeScript sources through tsx, so there is no build step between a clone and a start.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
