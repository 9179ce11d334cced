import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The web catalog (issue 16): built into ui/dist and served by docent under /ui/ (src/http/ui.ts). Asset names
// carry their content's hash, so docent serves them with a year-long cache.
export default defineConfig({
  root: import.meta.dirname,
  base: '/ui/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1000 },
  logLevel: 'warn',
})
