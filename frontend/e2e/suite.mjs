/**
 * Per-file fixtures: one backend (requiring an API key) and one browser for
 * all tests of a file, a fresh browser context per test (signed in unless
 * asked otherwise), and failure reports that carry the page's console
 * errors, a screenshot and the end of the server's output.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { DESKTOP, SCREENSHOT_DIR, launchBrowser, openPage, screenshot } from './browser.mjs'
import { startServer } from './server.mjs'

/** Where the dashboard keeps the API key (API_KEY_STORAGE in src/api/client.ts). */
export const API_KEY_STORAGE = 'agented.apiKey'

/**
 * Starts the backend and the browser before the file's tests, then runs
 * `prepare(env)` (e.g. to create data through the API), and stops both after
 * the tests. One hook does it all: Node 20 does not wait for one root-level
 * `before` hook to finish before starting the next.
 */
export function setupSuite(prepare = async () => {}) {
  const env = { server: null, browser: null }
  before(
    async () => {
      env.server = await startServer()
      env.browser = await launchBrowser()
      await prepare(env)
    },
    { timeout: 120_000 },
  )
  after(async () => {
    await env.browser?.close().catch(() => undefined)
    await env.server?.stop()
  })
  return env
}

function tail(text, lines) {
  return text.split('\n').slice(-lines).join('\n')
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60)
}

/** A browser that signed in to `server` before: the API key is in the dashboard's localStorage. */
function signedInState(server) {
  return { cookies: [], origins: [{ origin: server.url, localStorage: [{ name: API_KEY_STORAGE, value: server.apiKey }] }] }
}

/**
 * Runs `fn({ page, problems, context })` in a fresh browser context that is
 * always closed afterwards; it starts signed in unless `signedIn: false`. On
 * failure the error message gets the page's problems and the server's last
 * output lines, and screenshots/FAILED-<test>.png shows the page as it was.
 */
export async function withPage(env, t, fn, { viewport = DESKTOP, signedIn = true } = {}) {
  const failureShot = `FAILED-${slug(t.name)}`
  rmSync(join(SCREENSHOT_DIR, `${failureShot}-${viewport.name}.png`), { force: true })
  const storageState = signedIn && env.server.apiKey ? signedInState(env.server) : undefined
  const { context, page, problems } = await openPage(env.browser, viewport, storageState)
  try {
    await fn({ page, problems, context })
  } catch (error) {
    await screenshot(page, failureShot).catch(() => undefined)
    const detail = [
      `page url: ${page.url()}`,
      `page problems: ${JSON.stringify(problems, null, 2)}`,
      `last server output:\n${tail(env.server?.output ?? '', 60)}`,
    ].join('\n')
    if (error instanceof Error) error.message = `${error.message}\n--- ${detail}`
    throw error
  } finally {
    await context.close().catch(() => undefined)
  }
}

let botCounter = 0

/** Creates a bot through the API (codex backend: the fake prints just what the directives say). */
export function createBot(server, fields) {
  botCounter += 1
  return server.api('POST', '/admin/triggers', {
    name: `e2e-bot-${process.pid}-${botCounter}`,
    backend_type: 'codex',
    trigger_source: 'manual',
    timeout_seconds: 120,
    sigterm_grace_seconds: 2,
    ...fields,
  })
}

/** Starts a run through the API; returns the execution id. */
export async function runBot(server, botId, message = '') {
  const result = await server.api('POST', `/admin/triggers/${encodeURIComponent(botId)}/run`, { message })
  return result.execution_id
}

/** Polls the API (bounded) until `accept(execution)` holds; returns that execution. */
export async function waitForExecution(server, executionId, accept, what = 'the expected state', timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const execution = await server.api('GET', `/admin/executions/${encodeURIComponent(executionId)}?limit=1`)
    if (accept(execution)) return execution
    if (Date.now() > deadline) {
      throw new Error(`execution ${executionId} did not reach ${what} within ${timeoutMs} ms (it is ${execution.status})`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Waits until an execution is no longer queued or running. */
export function waitForFinish(server, executionId) {
  return waitForExecution(server, executionId, (e) => !['queued', 'running'].includes(e.status), 'a final status')
}

/**
 * Waits until the page of the current route is drawn and none of its sections is still
 * loading. The app starts in stages (its code, then the route, then the first render), so
 * "nothing is loading" alone is also true before the page exists at all.
 */
export async function settled(page) {
  await page.waitForFunction(
    () =>
      document.querySelector('#main > *') !== null &&
      document.querySelectorAll('[data-testid="loading"]').length === 0,
    null,
    { polling: 50 },
  )
}
