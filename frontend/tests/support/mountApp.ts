import { flushPromises, mount } from '@vue/test-utils'
import { vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import App from '@/App.vue'
import { createSession } from '@/composables/useSession'
import { routes } from '@/router'

/** Waits until requests, lazy route components and their requests have settled. */
export async function settle(): Promise<void> {
  await flushPromises()
  await vi.dynamicImportSettled()
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
