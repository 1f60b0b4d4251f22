import { flushPromises, mount } from '@vue/test-utils'
import { vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import App from '@/App.vue'
import { createSession } from '@/composables/useSession'
import { afterPaint } from '@/lib/schedule'
import { routes } from '@/router'

/**
 * Waits until requests, lazy components and their requests, and the parts of pages drawn
 * a frame later (a new wait for a frame ends after all the earlier ones) have settled.
 */
export async function settle(): Promise<void> {
  await flushPromises()
  await vi.dynamicImportSettled()
  await flushPromises()
  await afterPaint()
  await flushPromises()
}

/**
 * Mounts the whole app at `path` as main.ts does: router, session, then the
 * session's start with the key of a sign-in link (if any). Unmount it with
 * `enableAutoUnmount(afterEach)`.
 */
export async function mountApp(path: string, linkKey: string | null = null) {
  const router = createRouter({ history: createMemoryHistory(), routes })
  await router.push(path)
  const session = createSession()
  const wrapper = mount(App, { global: { plugins: [router, session] }, attachTo: document.body })
  await session.start(linkKey)
  await settle()
  return { wrapper, router, session }
}
