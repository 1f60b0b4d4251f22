// Finding runs and running them again, what fired them, deliveries, and the small things
// (tab titles, favicons, 404s, a lost server), against a real backend and the fake CLIs.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PHONE, WAIT_MS, assertNoProblems, screenshotBoth, waitForStatus } from './browser.mjs'
import { createBot, runBot, setupSuite, waitForFinish, withPage } from './suite.mjs'

const env = setupSuite()

function executionIdOf(url) {
  return new URL(url).pathname.split('/').pop()
}

/** A bot that prints its message: the fake codex echoes lines that are not directives. */
function echoBot(fields = {}) {
  return createBot(env.server, { prompt_template: 'say {message}', backend_type: 'command', command: ['echo', '{prompt}'], ...fields })
}

async function finishedRun(bot, message) {
  const id = await runBot(env.server, bot.id, message)
  await waitForFinish(env.server, id)
  return id
}

test('the Executions page keeps its filters in the URL and shows each run’s number and input', { timeout: 60_000 }, async (t) => {
  const bot = await echoBot()
  const other = await echoBot()
  await finishedRun(bot, 'first plain run')
  const wanted = await finishedRun(bot, 'find the needle here')
  await finishedRun(other, 'another run')
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/executions`)
    await page.getByTestId('filter-text').fill('needle')
    await page.getByTestId('filter-apply').click()
    await page.waitForURL(/[?&]q=needle/)
    const rows = page.getByTestId('execution-row')
    await page.locator(`[data-execution-id="${wanted}"]`).waitFor()
    assert.equal(await rows.count(), 1)
    assert.equal((await rows.first().getByTestId('execution-number').textContent()).trim(), '#2')
    assert.equal((await rows.first().getByTestId('execution-input').textContent()).trim(), 'find the needle here')

    await page.getByTestId('filter-bot').selectOption(other.id)
    await page.waitForURL(new RegExp(`bot_id=${other.id}`))
    await page.getByTestId('empty-state').waitFor()

    // The URL alone brings the same list back, after a reload too.
    await page.goto(`${env.server.url}/executions?bot_id=${bot.id}&status=success`)
    await page.reload()
    await page.locator(`[data-execution-id="${wanted}"]`).waitFor()
    assert.equal(await rows.count(), 2)
    assert.equal(await page.getByTestId('filter-status').inputValue(), 'success')
    await screenshotBoth(page, 'executions-filtered')
    assertNoProblems(problems)
  })
})

test('Re-run starts the same input again; the tab title and favicon follow the run', { timeout: 60_000 }, async (t) => {
  const bot = await echoBot()
  const original = await finishedRun(bot, 'once more')
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/executions/${original}`)
    await waitForStatus(page, 'success')
    await page.waitForFunction((name) => document.title === `#1 ${name} · Succeeded · Agented`, bot.name, { timeout: WAIT_MS })
    const icon = () => page.evaluate(() => document.querySelector('link[rel~="icon"]').href)
    const finishedIcon = await icon()
    assert.match(finishedIcon, /^data:image\/svg\+xml,/)

    await page.getByTestId('rerun-button').click()
    await page.waitForURL((url) => !url.pathname.endsWith(original) && url.pathname.startsWith('/executions/'))
    const rerun = executionIdOf(page.url())
    await waitForStatus(page, 'success')
    await page.waitForFunction((name) => document.title.startsWith(`#2 ${name} · `), bot.name, { timeout: WAIT_MS })
    const stored = await env.server.api('GET', `/admin/executions/${rerun}?limit=1`)
    assert.equal(stored.rerun_of, original)
    assert.equal(stored.prompt, 'say once more')
    await page.getByTestId('trigger-lineage').getByText('#1').waitFor()

    // Leaving the run gives the app its own title and icon back.
    await page.getByTestId('nav-bots').click()
    await page.waitForFunction(() => document.title === 'Bots · Agented', undefined, { timeout: WAIT_MS })
    assert.notEqual(await icon(), finishedIcon)
    assertNoProblems(problems)
  })
})

test('Run with… edits the input before running it again', { timeout: 60_000 }, async (t) => {
  const bot = await echoBot()
  const original = await finishedRun(bot, 'draft words')
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/executions/${original}`)
    await page.getByTestId('run-with-button').click()
    const message = page.getByTestId('run-with-message')
    await message.waitFor()
    assert.equal(await message.inputValue(), 'draft words')
    await message.fill('final words')
    await page.getByTestId('run-with-start').click()
    await page.waitForURL((url) => !url.pathname.endsWith(original) && url.pathname.startsWith('/executions/'))
    const stored = await waitForFinish(env.server, executionIdOf(page.url()))
    assert.equal(stored.prompt, 'say final words')
    assert.equal(stored.rerun_of, original)
    assertNoProblems(problems)
  })
})

test('a bot’s page lists its webhook deliveries, refused ones with the reason; the others are a click from Executions', { timeout: 60_000 }, async (t) => {
  const bot = await echoBot({ trigger_source: 'webhook' })
  const deliver = (path, id, body) =>
    fetch(`${env.server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Delivery-Id': id }, body })
  const post = (body) => deliver(`/api/webhooks/bots/${bot.id}`, 'dlv-e2e', body)
  assert.equal((await post(JSON.stringify({ text: 'ship it', token: 'never-shown' }))).status, 202)
  assert.equal((await post(JSON.stringify({ text: 'again' }))).status, 200) // same delivery id: a duplicate
  assert.equal((await post('[1]')).status, 400)
  assert.equal((await deliver('/', 'dlv-nobody', '[1]')).status, 400) // refused before any bot was known
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/bots/${bot.id}`)
    const rows = page.getByTestId('delivery-row')
    await rows.nth(2).waitFor()
    const outcomes = await page.getByTestId('delivery-outcome').allTextContents()
    assert.deepEqual(outcomes.map((text) => text.trim()), ['refused', 'duplicate', 'accepted'])
    await rows.first().getByText('the body must be a JSON object').waitFor()

    // The accepted one leads to its run, which shows the payload with the secret redacted.
    await rows.nth(2).getByRole('link').click()
    const payload = page.getByTestId('trigger-payload')
    await payload.waitFor()
    assert.match(await payload.textContent(), /"token": "\[redacted\]"/)
    assert.equal((await page.getByTestId('trigger-delivery').textContent()).trim(), 'dlv-e2e')
    await screenshotBoth(page, 'execution-webhook-trigger')

    await page.goto(`${env.server.url}/executions`)
    await page.getByTestId('deliveries-link').click()
    const unmatched = page.getByTestId('delivery-row').filter({ hasText: 'dlv-nobody' })
    await unmatched.getByText('the body must be a JSON object').waitFor()
    assert.equal((await unmatched.getByTestId('delivery-source').textContent()).trim(), 'webhook')
    assert.equal(await page.getByTestId('delivery-row').filter({ hasText: 'dlv-e2e' }).count(), 0)
    assertNoProblems(problems)
  })
})

test('on a phone a run’s output comes before its details', { timeout: 30_000 }, async (t) => {
  const bot = await echoBot()
  const id = await finishedRun(bot, 'small screen')
  await withPage(
    env,
    t,
    async ({ page, problems }) => {
      await page.goto(`${env.server.url}/executions/${id}`)
      await waitForStatus(page, 'success')
      const output = await page.locator('.execution__log').boundingBox()
      const details = await page.locator('.execution__details').boundingBox()
      assert.ok(output.y < details.y, `the output starts at ${output.y} px, below the details at ${details.y} px`)
      assertNoProblems(problems)
    },
    { viewport: PHONE },
  )
})

test('a missing execution or bot gets a friendly 404 page', { timeout: 30_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/executions/exe_does_not_exist`)
    await page.getByRole('heading', { name: 'Execution not found' }).waitFor()
    await page.getByRole('link', { name: 'All executions' }).waitFor()
    await page.goto(`${env.server.url}/bots/bot_does_not_exist`)
    await page.getByRole('heading', { name: 'Bot not found' }).waitFor()
    // The failed requests themselves are the 404s this test asks for.
    assertNoProblems(problems, [/404/])
  })
})

// Last: it stops the suite's server.
test('a lost server shows within 5 s, and a live run says reconnecting instead of ticking', { timeout: 60_000 }, async (t) => {
  const bot = await createBot(env.server, { prompt_template: 'fake: lines 2 rate=50\nfake: sleep 60\n' })
  const running = await runBot(env.server, bot.id)
  await withPage(env, t, async ({ page }) => {
    await page.goto(`${env.server.url}/executions/${running}`)
    await page.getByTestId('connection-state').filter({ hasText: 'Live' }).waitFor()
    await page.getByTestId('server-status').filter({ hasText: 'Server ready' }).waitFor()
    await page.getByTestId('execution-elapsed').waitFor()
    await env.server.stop()
    const lost = Date.now()
    await page.getByTestId('server-status').filter({ hasText: 'Server unreachable' }).waitFor({ timeout: 10_000 })
    const noticedMs = Date.now() - lost
    console.log(`server loss noticed after ${noticedMs} ms`)
    assert.ok(noticedMs <= 5_000, `the lost server showed only after ${noticedMs} ms`)
    await page.getByTestId('connection-state').filter({ hasText: 'Reconnecting' }).waitFor()
    assert.equal(await page.getByTestId('execution-elapsed').count(), 0, 'the clock should stop while reconnecting')
  })
})
