// The overview, bots, bot and schedules pages with real data: they render without console errors.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertNoProblems, screenshot, screenshotBoth } from './browser.mjs'
import { createBot, runBot, settled, setupSuite, waitForExecution, waitForFinish, withPage } from './suite.mjs'

const seeded = {}
const env = setupSuite(async ({ server }) => {
  // A success, a failure, a rate-limited run (which arms a retry job) and one still running.
  seeded.report = await createBot(server, { name: 'nightly-report', prompt_template: 'fake: lines 12\nfake: print report done\n' })
  seeded.linter = await createBot(server, {
    name: 'flaky-linter',
    prompt_template: 'fake: print checking\nfake: stderr lint error in src/app.ts\nfake: exit 3\n',
  })
  seeded.limited = await createBot(server, { name: 'rate-limited-reviewer', prompt_template: 'fake: rate-limit codex\n' })
  seeded.long = await createBot(server, { name: 'long-runner', prompt_template: 'fake: lines 3\nfake: sleep 60\n' })
  for (const bot of [seeded.report, seeded.linter, seeded.limited]) {
    await waitForFinish(server, await runBot(server, bot.id, 'seeded by the e2e tests'))
  }
  seeded.running = await runBot(server, seeded.long.id)
  await waitForExecution(server, seeded.running, (e) => e.status === 'running', 'running')
})

test('the overview shows running, failed and recent executions without console errors', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/`)
    await settled(page)
    const running = page.locator(`[data-testid="execution-row"][data-execution-id="${seeded.running}"]`)
    await running.waitFor()
    assert.equal(await running.getByTestId('status-badge').getAttribute('data-status'), 'running')
    const statuses = await page
      .getByTestId('executions-table')
      .last()
      .getByTestId('status-badge')
      .evaluateAll((badges) => badges.map((badge) => badge.getAttribute('data-status')).sort())
    assert.deepEqual(statuses, ['failed', 'failed', 'success'])

    const retries = await env.server.api('GET', '/admin/retries')
    assert.equal(await page.getByTestId('retry-row').count(), retries.retries.length)

    await screenshotBoth(page, 'overview', () => settled(page))
    assertNoProblems(problems)
  })
})

test('the schedules page lists the scheduler jobs without console errors', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    const { jobs } = await env.server.api('GET', '/admin/scheduler/jobs')
    // Loaded directly (the server's SPA fallback), then left and re-entered through the navigation.
    await page.goto(`${env.server.url}/schedules`)
    await settled(page)
    await page.getByTestId('nav-overview').click()
    await page.waitForURL(`${env.server.url}/`)
    await page.getByTestId('nav-schedules').click()
    await page.waitForURL('**/schedules')
    await settled(page)
    assert.equal((await page.locator('h1').textContent()).trim(), 'Schedules')
    if (jobs.length) {
      await page.getByTestId('jobs-table').waitFor()
      assert.equal(await page.getByTestId('job-row').count(), jobs.length)
      for (const job of jobs) {
        await page.locator(`[data-testid="job-row"][data-job-id="${job.id}"]`).waitFor()
      }
    } else {
      await page.getByTestId('empty-state').waitFor()
    }
    await screenshotBoth(page, 'schedules', () => settled(page))
    assertNoProblems(problems)
  })
})

test('the bots list and a bot page render every bot and its history', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/bots`)
    await settled(page)
    assert.equal(await page.getByTestId('bot-row').count(), 4)
    const reportRow = page.locator(`[data-testid="bot-row"][data-bot-id="${seeded.report.id}"]`)
    assert.equal(await reportRow.getByTestId('status-badge').getAttribute('data-status'), 'success')
    await screenshotBoth(page, 'bots', () => settled(page))

    await reportRow.getByRole('link', { name: 'nightly-report', exact: true }).click()
    await page.waitForURL(`**/bots/${seeded.report.id}`)
    await settled(page)
    await page.getByTestId('execution-row').first().waitFor()
    assert.equal(await page.getByTestId('execution-row').count(), 1)
    await screenshotBoth(page, 'bot-detail', () => settled(page))
    assertNoProblems(problems)
  })
})

test('the API docs render from the server itself under the strict Content-Security-Policy', { timeout: 60_000 }, async (t) => {
  await withPage(
    env,
    t,
    async ({ page, problems }) => {
      const origins = new Set()
      page.on('request', (request) => origins.add(new URL(request.url()).origin))
      const response = await page.goto(`${env.server.url}/docs`)
      assert.match(response.headers()['content-security-policy'], /^default-src 'self'/)
      assert.doesNotMatch(response.headers()['content-security-policy'], /unsafe-eval|https?:/)
      await page.locator('.swagger-ui .info .title').filter({ hasText: 'Agented API' }).waitFor()
      await page.locator('.opblock').first().waitFor()
      assert.ok((await page.locator('.opblock').count()) > 10, 'the operations are listed')
      assert.deepEqual([...origins], [env.server.url], 'no request left the server')
      await screenshot(page, 'api-docs') // Swagger UI's own layout: no overflow check
      assertNoProblems(problems)
    },
    { signedIn: false },
  )
})
