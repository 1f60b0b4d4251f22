import { createApp } from 'vue'
import { loadLocaleDataAside } from './lib/localeData'
import { nextTask } from './lib/schedule'
import { takeKeyFromUrl } from './lib/signInLink'
import './styles/base.css'

// First of all, before the router reads the address: a sign-in link's key leaves the address bar.
const linkKey = takeKeyFromUrl(window.location, window.history)
loadLocaleDataAside()

/**
 * Start-up goes in tasks none of which blocks the page for long: this module with Vue, then
 * the app's own code once loaded, then the app and its routes, then the router's first
 * navigation and the session's check (both start loading what the page needs), then the
 * first render. Evaluated and rendered in
 * one task, they blocked the page for 60–270 ms on opening any page.
 */
async function start(): Promise<void> {
  const { App, createAppRouter, createSession } = await import('./app')
  await nextTask()
  const app = createApp(App)
  const router = createAppRouter()
  await nextTask()
  const session = createSession()
  app.use(session).use(router)
  void session.start(linkKey)
  await nextTask()
  app.mount('#app')
}

void start()
