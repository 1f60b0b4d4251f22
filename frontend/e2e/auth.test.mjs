// Signing in against a server that requires its API key: the printed sign-in link, the sign-in
// screen, the session across reloads, and live logs through stream tokens.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertConsecutiveFromOne,
  assertNoProblems,
  logLines,
  readLogRecord,
  recordLogLines,
  screenshotBoth,
  statusOf,
  waitForLineCount,
  waitForStatus,
} from './browser.mjs'
import { startServer } from './server.mjs'
import { API_KEY_STORAGE, createBot, runBot, setupSuite, waitForFinish, withPage } from './suite.mjs'

const seeded = {}
const env = setupSuite(async ({ server }) => {
  seeded.bot = await createBot(server, { name: 'signed-in-bot', prompt_template: 'fake: print hello\n' })
  seeded.execution = await runBot(server, seeded.bot.id)
  await waitForFinish(server, seeded.execution)
})

const SIGNED_OUT = { signedIn: false }
// The wrong key's check is answered 401, which Chromium reports on the console.
const EXPECTED_401 = /Failed to load resource: the server responded with a status of 401/

/** Every request the page makes: `{ url, method, key }` (key: its X-API-Key header, if any). */
function recordRequests(page) {
  const requests = []
  page.on('request', (request) =>
    requests.push({ url: request.url(), method: request.method(), key: request.headers()['x-api-key'] ?? null }),
  )
  return requests
}

/**
 * Makes every page of `context` note the history length as the document starts
 * and the address at the moment the app first puts anything on screen.
 */
async function recordFirstRender(context) {
  await context.addInitScript(() => {
    window.__historyLengthAtStart = window.history.length
    new MutationObserver((_mutations, observer) => {
      if (!document.getElementById('app')?.firstElementChild) return
      window.__firstRenderAddress = window.location.href
      observer.disconnect()
    }).observe(document, { childList: true, subtree: true })
  })
}

function storedKey(page) {
  return page.evaluate((name) => window.localStorage.getItem(name), API_KEY_STORAGE)
}

/** Checks that the key travelled only in the X-API-Key header: in no URL after the sign-in link itself. */
function assertKeyOnlyInHeaders(requests, key) {
  const [, ...later] = requests
  assert.deepEqual(later.filter((request) => request.url.includes(key)).map((request) => request.url), [], 'the key appeared in a URL')
  const admin = later.filter((request) => new URL(request.url).pathname.startsWith('/admin/'))
  assert.ok(admin.length > 0, 'the page made no API requests')
  assert.deepEqual(admin.filter((request) => request.key !== key).map((request) => request.url), [], 'API requests without the key')
}

test('the sign-in link the server printed signs in, leaves the address bar at once, and pages load data', { timeout: 60_000 }, async (t) => {
  const { server } = env
  assert.equal(server.signInUrl, `${server.url}/?token=${server.apiKey}`)
  await withPage(env, t, async ({ page, problems, context }) => {
    await recordFirstRender(context)
    const requests = recordRequests(page)
    await page.goto(server.signInUrl)
    await page.locator(`[data-testid="execution-row"][data-execution-id="${seeded.execution}"]`).waitFor()

    assert.equal(page.url(), `${server.url}/`)
    assert.equal(await page.evaluate(() => window.__firstRenderAddress), `${server.url}/`, 'the token was still there when the app rendered')
    assert.equal(
      await page.evaluate(() => window.history.length - window.__historyLengthAtStart),
      0,
      'the app added a history entry',
    )
    assert.equal(await storedKey(page), server.apiKey)
    assert.equal(await page.getByTestId('sign-in').count(), 0)
    assertKeyOnlyInHeaders(requests, server.apiKey)
    assertNoProblems(problems)

    // Back leads to where the browser was before the link, not to the link.
    await page.goBack()
    assert.equal(page.url(), 'about:blank')
  }, SIGNED_OUT)
})

test('a sign-in link to a deep page keeps its path, other parameters and hash', { timeout: 60_000 }, async (t) => {
  const { server } = env
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${server.url}/bots/${seeded.bot.id}?token=${server.apiKey}&tab=runs#history`)
    await page.getByTestId('execution-row').first().waitFor()
    assert.equal(page.url(), `${server.url}/bots/${seeded.bot.id}?tab=runs#history`)
    // The router never saw the token either: its own record of the current location has none.
    assert.equal(await page.evaluate(() => window.history.state?.current), `/bots/${seeded.bot.id}?tab=runs#history`)
    assert.equal((await page.locator('h1').textContent()).trim(), seeded.bot.name)
    assertNoProblems(problems)
  }, SIGNED_OUT)
})

test('without a key the sign-in screen shows; a wrong key is refused, the right one opens the page', { timeout: 60_000 }, async (t) => {
  const { server } = env
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${server.url}/schedules`)
    const field = page.getByTestId('sign-in-key')
    await field.waitFor()
    assert.equal(await page.locator('nav').count(), 0, 'no navigation before signing in')
    assert.equal(await page.title(), 'Sign in · Agented')
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'sign-in-key')
    assert.equal(await field.getAttribute('type'), 'password')
    await screenshotBoth(page, 'sign-in')

    // A wrong key, submitted with Enter.
    await field.fill('not-the-key')
    const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/triggers')
    await field.press('Enter')
    assert.equal((await refused).status(), 401)
    const error = page.getByTestId('field-error-api_key')
    await error.filter({ hasText: 'That key was not accepted.' }).waitFor()
    assert.equal(await field.getAttribute('aria-invalid'), 'true')
    assert.equal(await storedKey(page), null)
    await screenshotBoth(page, 'sign-in-refused')

    // The right key, shown before submitting with the button.
    await field.fill(server.apiKey)
    await page.getByTestId('sign-in-key-toggle').click()
    assert.equal(await field.getAttribute('type'), 'text')
    await page.getByTestId('sign-in-submit').click()
    await page.getByTestId('jobs-table').waitFor()
    assert.equal(page.url(), `${server.url}/schedules`)
    assert.equal((await page.locator('h1').textContent()).trim(), 'Schedules')
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main')
    assert.equal(await storedKey(page), server.apiKey)
    // Housekeeping jobs belong to no bot: "System", not a link to a deleted bot.
    const retention = page.locator('[data-testid="job-row"][data-job-id="housekeeping:retention"]')
    assert.equal((await retention.getByTestId('job-system').textContent()).trim(), 'System')
    assert.equal(await retention.locator('a').count(), 0)
    assertNoProblems(problems, [EXPECTED_401])
  }, SIGNED_OUT)
})

test('a reload keeps the session; signing out ends it, and a reload does not bring it back', { timeout: 60_000 }, async (t) => {
  const { server } = env
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(server.signInUrl)
    await page.getByTestId('nav-bots').click()
    await page.locator(`[data-testid="bot-row"][data-bot-id="${seeded.bot.id}"]`).waitFor()

    await page.reload()
    await page.locator(`[data-testid="bot-row"][data-bot-id="${seeded.bot.id}"]`).waitFor()
    assert.equal(page.url(), `${server.url}/bots`)
    assert.equal(await page.getByTestId('sign-in').count(), 0)

    await page.getByTestId('sign-out').click()
    await page.getByTestId('sign-in-notice').filter({ hasText: 'You signed out.' }).waitFor()
    assert.equal(await storedKey(page), null)
    await page.reload()
    await page.getByTestId('sign-in-key').waitFor()
    assert.equal(await page.locator('nav').count(), 0)
    assertNoProblems(problems)
  }, SIGNED_OUT)
})

/** The stream tokens the page obtained, in order, from the answers to POST /admin/stream-tokens. */
function recordStreamTokens(page) {
  const tokens = []
  page.on('response', async (response) => {
    if (new URL(response.url()).pathname === '/admin/stream-tokens') tokens.push((await response.json()).token)
  })
  return tokens
}

function streamRequests(requests) {
  return requests.filter((request) => /^\/admin\/executions\/[^/]+\/stream$/.test(new URL(request.url).pathname))
}

test('a live log streams through a stream token, never the key, and lines arrive live', { timeout: 60_000 }, async (t) => {
  const LINES = 40
  const { server } = env
  const bot = await createBot(server, { prompt_template: `fake: lines ${LINES} rate=20\n` })
  const executionId = await runBot(server, bot.id)
  const streamPath = `/admin/executions/${executionId}/stream`
  const unauthenticated = await fetch(`${server.url}${streamPath}`, { signal: AbortSignal.timeout(10_000) })
  assert.equal(unauthenticated.status, 401, 'the stream needs a key or a token')

  await withPage(env, t, async ({ page, problems, context }) => {
    await recordLogLines(context)
    const requests = recordRequests(page)
    const tokens = recordStreamTokens(page)
    await page.goto(`${server.url}/executions/${executionId}`)
    await page.getByTestId('connection-state').filter({ hasText: 'Live' }).waitFor()
    await waitForStatus(page, 'success', 20_000)

    const tokenRequests = requests.filter((request) => request.url === `${server.url}/admin/stream-tokens`)
    assert.equal(tokenRequests.length, 1)
    assert.equal(tokenRequests[0].method, 'POST')
    assert.equal(tokenRequests[0].key, server.apiKey)
    const [stream] = streamRequests(requests)
    const query = new URL(stream.url).searchParams
    assert.equal(query.get('token'), tokens[0])
    assert.equal(stream.key, null, 'EventSource sends no key header')
    assert.ok(!stream.url.includes(server.apiKey), 'the key is in the stream URL')

    const lines = await logLines(page)
    assertConsecutiveFromOne(lines.map((line) => line.seq))
    assert.equal(lines.length, LINES)
    const live = (await readLogRecord(page)).added.filter((entry) => entry.status === 'running').length
    assert.ok(live >= LINES / 2, `only ${live} of ${LINES} lines arrived while the badge said running`)
    assertNoProblems(problems)
  })
})

test('after a dropped stream the log reconnects with a fresh token and misses nothing', { timeout: 60_000 }, async (t) => {
  const LINES = 20
  const { server } = env
  // The run outlasts the test, so the reconnect always happens while it runs; the test cancels it.
  const bot = await createBot(server, { prompt_template: `fake: lines ${LINES} rate=10\nfake: sleep 60\n` })
  const executionId = await runBot(server, bot.id)
  await withPage(env, t, async ({ page, problems, context }) => {
    await recordLogLines(context)
    const requests = recordRequests(page)
    const tokens = recordStreamTokens(page)
    let attempts = 0
    // The first connection fails as a dropped network connection would; later ones go through.
    await page.route(/\/admin\/executions\/[^/]+\/stream\?/, (route) => {
      attempts += 1
      return attempts === 1 ? route.abort('connectionreset') : route.continue()
    })
    await page.goto(`${server.url}/executions/${executionId}`)
    // The first connection never opened, so "Live" is the second one.
    await page.getByTestId('connection-state').filter({ hasText: 'Live' }).waitFor()
    await waitForLineCount(page, LINES)
    assert.equal(await statusOf(page), 'running')

    const streams = streamRequests(requests).map((request) => new URL(request.url).searchParams.get('token'))
    assert.equal(streams.length, 2, `expected one reconnect, saw ${streams.length} stream requests`)
    assert.deepEqual(streams, tokens, 'each connection used the token fetched for it')
    assert.notEqual(tokens[0], tokens[1])

    const lines = await logLines(page)
    assertConsecutiveFromOne(lines.map((line) => line.seq))
    assert.equal(lines.length, LINES)
    const record = await readLogRecord(page)
    assertConsecutiveFromOne(record.added.map((entry) => entry.seq), 'lines in order of arrival')
    assert.equal(record.removed, 0)

    await server.api('POST', `/admin/executions/${executionId}/cancel`)
    await waitForStatus(page, 'cancelled')
    // The aborted request shows on the console as a failed resource; nothing else may.
    assertNoProblems(problems, [/Failed to load resource: net::ERR_CONNECTION_RESET/])
  })
})

test('a server without keys (AGENTED_AUTH=disabled) opens without signing in', { timeout: 60_000 }, async (t) => {
  const open = await startServer({ auth: false })
  try {
    await withPage({ ...env, server: open }, t, async ({ page, problems }) => {
      await page.goto(`${open.url}/bots`)
      await page.getByTestId('empty-state').waitFor()
      assert.equal(await page.getByTestId('sign-in').count(), 0)
      assert.equal(await page.getByTestId('sign-out').count(), 0, 'nothing to sign out of')
      assertNoProblems(problems)
    })
  } finally {
    await open.stop()
  }
})
