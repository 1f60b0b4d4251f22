// The first five minutes: on an empty server the overview guides to a first bot that runs anywhere.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertNoProblems, logLines, screenshotBoth, waitForStatus } from './browser.mjs'
import { setupSuite, withPage } from './suite.mjs'

const env = setupSuite()

test('on an empty server the overview creates the example bot, which runs and shows its output', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    const { server } = env
    assert.deepEqual((await server.api('GET', '/admin/triggers')).triggers, [], 'the server starts empty')

    await page.goto(`${server.url}/`)
    const guide = page.getByTestId('first-bot-guide')
    await guide.waitFor()
    // The test server has the fake CLIs first on PATH: they are offered with their versions.
    const claude = guide.locator('[data-testid="installed-clis"] li[data-backend="claude"]')
    await claude.waitFor()
    assert.match(await claude.textContent(), /0\.0\.0-fake \(claude, fake\)/)
    await screenshotBoth(page, 'overview-first-bot')

    await page.getByTestId('create-example-bot').click()
    await page.waitForURL(/\/bots\/[^/?]+$/)
    const botId = new URL(page.url()).pathname.split('/').pop()
    const stored = await server.api('GET', `/admin/triggers/${botId}`)
    assert.equal(stored.backend_type, 'command')
    assert.deepEqual(stored.command, ['echo', '{prompt}'])

    await page.getByTestId('run-message').fill('it works')
    await page.getByTestId('run-button').click()
    await page.waitForURL('**/executions/*')
    await waitForStatus(page, 'success')
    const lines = await logLines(page)
    assert.equal(lines.length, 1)
    assert.match(lines[0].text, /^Hello from your first bot!.*Your message: it works$/)
    assertNoProblems(problems)
  })
})
