import { defineConfig } from 'vitest/config'
import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'

/** Where the Agented server listens during development. */
const backend = process.env.AGENTED_BACKEND_URL ?? 'http://127.0.0.1:20000'

/** Paths the dev server hands to the backend; everything else is the SPA. */
const proxiedPaths = ['/admin', '/api', '/health', '/docs', '/openapi.json', '/metrics']

export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    // The proxy pipes responses through unbuffered and drops the upstream
    // request when the browser disconnects, so SSE streams work as-is.
    proxy: Object.fromEntries(
      proxiedPaths.map((path) => [path, { target: backend }]),
    ),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
})
