// Creating a bot through the dashboard form, against a real backend.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertNoProblems, screenshotBoth } from './browser.mjs'
import { setupSuite, withPage } from './suite.mjs'

const env = setupSuite()

const TEMPLATE = 'fake: lines 3\nfake: print {message}\n'
// The form's failed save is answered 400, which Chromium reports on the console.
const EXPECTED_400 = /Failed to load resource: the server responded with a status of 400/

test('a bot created with the form appears in the list; problems show inline, found by the browser or by the API', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    const { server } = env
    const name = `form-bot-${Date.now()}`

    await page.goto(`${server.url}/bots`)
    await page.getByTestId('empty-state').waitFor()
    await page.getByTestId('new-bot').click()
    await page.waitForURL('**/bots/new')
    await page.getByTestId('bot-form').waitFor()
    await screenshotBoth(page, 'bot-form')

    await page.getByTestId('bot-field-name').fill(name)
    await page.getByTestId('bot-field-prompt_template').fill(TEMPLATE)
    await page.getByTestId('bot-field-backend_type').selectOption('codex')
    await page.getByTestId('bot-field-timeout_seconds').fill('0')

    // The browser checks the form first: nothing is sent, the problem shows beside its field.
    let sent = 0
    const countPosts = (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/admin/triggers')) sent += 1
    }
    page.on('request', countPosts)
    await page.getByTestId('bot-save').click()
    const timeoutInput = page.getByTestId('bot-field-timeout_seconds')
    const browserError = page.getByTestId('field-error-timeout_seconds')
    await browserError.waitFor()
    assert.match(await browserError.textContent(), /whole number of seconds from 1 to 86,400/)
    assert.equal(await timeoutInput.getAttribute('aria-invalid'), 'true')
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'bot-timeout_seconds')
    assert.equal(sent, 0, 'the form was sent although the browser found a problem')
    page.off('request', countPosts)

    // What only the server can know (a directory that does not exist) comes back inline too:
    // the API's message beside the field it names (without the name in front).
    await timeoutInput.fill('120')
    await page.getByTestId('bot-field-paths-add').click()
    await page.getByTestId('bot-field-paths-item').fill('/no/such/directory-e2e')
    const rejected = page.waitForResponse((r) => r.url().endsWith('/admin/triggers') && r.request().method() === 'POST')
    await page.getByTestId('bot-save').click()
    const response = await rejected
    assert.equal(response.status(), 400)
    const body = await response.json()
    assert.equal(body.field, 'paths')
    const error = page.getByTestId('field-error-paths')
    await error.waitFor()
    assert.match(body.error, /^paths: .*not an existing directory/)
    assert.equal((await error.textContent()).trim(), body.error.slice('paths: '.length))
    assert.match(page.url(), /\/bots\/new$/, 'the form stays open')
    assert.deepEqual((await server.api('GET', '/admin/triggers')).triggers, [], 'nothing was created')
    await screenshotBoth(page, 'bot-form-error')

    await page.getByRole('button', { name: 'Remove path 1' }).click()
    // Fixing the values saves the bot and opens its page.
    await page.getByTestId('bot-save').click()
    await page.waitForURL(/\/bots\/[^/?]+\?saved=1$/)
    await page.getByTestId('bot-saved').waitFor()
    assert.equal((await page.locator('h1').textContent()).trim(), name)
    const botId = new URL(page.url()).pathname.split('/').pop()

    const stored = await server.api('GET', `/admin/triggers/${botId}`)
    assert.equal(stored.name, name)
    assert.equal(stored.backend_type, 'codex')
    assert.equal(stored.prompt_template, TEMPLATE)
    assert.equal(stored.timeout_seconds, 120)

    await page.getByTestId('nav-bots').click()
    await page.waitForURL('**/bots')
    const row = page.locator(`[data-testid="bot-row"][data-bot-id="${botId}"]`)
    await row.waitFor()
    assert.equal(await page.getByTestId('bot-row').count(), 1)
    assert.match(await row.textContent(), new RegExp(name))
    assert.match(await row.textContent(), /codex/)

    assertNoProblems(problems, [EXPECTED_400])
  })
})

test('the form stores an output format and concurrent runs other than the defaults, and shows them when editing', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    const { server } = env
    const name = `form-settings-${Date.now()}`

    await page.goto(`${server.url}/bots/new`)
    await page.getByTestId('bot-form').waitFor()
    await page.getByTestId('bot-field-name').fill(name)
    await page.getByTestId('bot-field-prompt_template').fill(TEMPLATE)
    // The output format is Claude Code's, the default backend.
    assert.equal(await page.getByTestId('bot-field-backend_type').inputValue(), 'claude')
    await page.getByTestId('bot-field-output_format').selectOption('json')
    await page.getByTestId('bot-field-allow_concurrent_runs').check()
    await page.getByTestId('bot-save').click()
    await page.waitForURL(/\/bots\/[^/?]+\?saved=1$/)
    const botId = new URL(page.url()).pathname.split('/').pop()
    const summary = await page.getByTestId('bot-summary').textContent()
    assert.match(summary, /Output format\s*json/)
    assert.match(summary, /concurrent runs allowed/)

    const stored = await server.api('GET', `/admin/triggers/${botId}`)
    assert.equal(stored.name, name)
    assert.equal(stored.output_format, 'json')
    assert.equal(stored.allow_concurrent_runs, true)

    await page.goto(`${server.url}/bots/${botId}/edit`)
    await page.getByTestId('bot-form').waitFor()
    assert.equal(await page.getByTestId('bot-field-output_format').inputValue(), 'json')
    assert.equal(await page.getByTestId('bot-field-allow_concurrent_runs').isChecked(), true)
    await screenshotBoth(page, 'bot-form-edit')

    assertNoProblems(problems)
  })
})
