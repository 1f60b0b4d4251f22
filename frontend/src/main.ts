import { createApp } from 'vue'
import { nextTask, whenIdle } from './lib/schedule'
import { takeKeyFromUrl } from './lib/signInLink'
import './styles/base.css'

// First of all, before the router reads the address: a sign-in link's key leaves the address bar.
const linkKey = takeKeyFromUrl(window.location, window.history)

/**
 * Start-up goes in tasks none of which blocks the page for long: this module with Vue, then
 * the app's own code once loaded, then the router's first navigation and the session's check
 * (both start loading what the page needs), then the first render. Evaluated and rendered in
 * one task, they blocked the page for 60–270 ms on opening any page.
 */
async function start(): Promise<void> {
  const { App, createAppRouter, createSession, warmUpFormatters } = await import('./app')
  await nextTask()
  const session = createSession()
  const app = createApp(App).use(session).use(createAppRouter())
  void session.start(linkKey)
  await nextTask()
  app.mount('#app')
  whenIdle(warmUpFormatters)
}

void start()
