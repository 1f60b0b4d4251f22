// The Monitoring and Accounts pages against a real server: a run rate limited on the default
// account shows in the history and limits the account; an account made in the page, edited
// with its secret kept, the limit cleared, and the account deleted.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WAIT_MS, assertNoProblems, screenshotBoth } from './browser.mjs'
import { createBot, runBot, settled, setupSuite, waitForFinish, withPage } from './suite.mjs'

const seeded = {}
const env = setupSuite(async ({ server }) => {
  seeded.account = await server.api('POST', '/admin/accounts', { name: 'codex-work', backend: 'codex', is_default: true })
  const fine = await createBot(server, { name: 'steady-bot', prompt_template: 'fake: print fine\n' })
  const limited = await createBot(server, { name: 'limited-bot', prompt_template: 'fake: rate-limit codex\n' })
  await waitForFinish(server, await runBot(server, fine.id))
  await waitForFinish(server, await runBot(server, limited.id))
})

function accountRow(page, name) {
  return page.locator(`[data-testid="account-row"][data-account-name="${name}"]`)
}

test('the monitoring page shows the runs in the history, the limited account and the bots', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/`)
    await page.getByTestId('nav-monitoring').click()
    await page.waitForURL((url) => url.pathname === '/monitoring')
    await settled(page)

    assert.match(await page.getByTestId('chart-runs').locator('figcaption').textContent(), /Runs \(2\)[\s\S]*Failed \(1\)/)
    assert.match(await page.getByTestId('chart-rate-limits').locator('figcaption').textContent(), /Rate limits \(1\)/)
    const account = page.locator('[data-testid="monitoring-account"][data-account-name="codex-work"]')
    assert.equal(await account.getByTestId('account-state').getAttribute('data-state'), 'limited')
    assert.match(await account.getByTestId('account-today').textContent(), /2 runs/)
    const bot = page.locator('[data-testid="monitoring-bot"][data-bot-name="steady-bot"]')
    assert.equal(await bot.getByTestId('bot-success-24h').textContent(), '100%')

    const answered = page.waitForResponse((response) => response.url().includes('hours=168&bucket=6h'))
    await page.getByTestId('history-range').selectOption('7d')
    await answered
    await settled(page)
    assert.match(await page.getByTestId('chart-runs').locator('figcaption').textContent(), /Runs \(2\)/)
    await screenshotBoth(page, 'monitoring', () => settled(page))
    assertNoProblems(problems)
  })
})

test('an account is created, edited with its secret kept, cleared of its limit and deleted in the page', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/`)
    await page.getByTestId('nav-accounts').click()
    await page.waitForURL((url) => url.pathname === '/accounts')
    await settled(page)

    await page.getByTestId('account-new').click()
    await page.getByTestId('account-name').fill('claude-keys')
    await page.getByTestId('account-backend').selectOption('claude')
    await page.getByTestId('account-env-add').click()
    await page.getByTestId('account-env-name').fill('CLAUDE_CONFIG_DIR')
    await page.getByTestId('account-env-value').fill('/srv/claude-a')
    await page.getByTestId('account-secret-add').click()
    await page.getByTestId('account-secret-name').fill('ANTHROPIC_API_KEY')
    await page.getByTestId('account-secret-value').fill('sk-e2e-secret-value')
    await page.getByTestId('account-save').click()
    const created = accountRow(page, 'claude-keys')
    await created.waitFor({ timeout: WAIT_MS })
    assert.match(await created.getByTestId('account-secret').textContent(), /ANTHROPIC_API_KEY/)
    assert.doesNotMatch(await page.content(), /sk-e2e-secret-value/, 'the secret is never shown')

    await created.getByTestId('account-edit').click()
    await page.getByTestId('account-env-value').fill('/srv/claude-b')
    await page.getByTestId('account-field-daily_usd_limit').fill('7.5')
    await page.getByTestId('account-save').click()
    await page.getByTestId('account-form').waitFor({ state: 'detached' })
    const { accounts } = await env.server.api('GET', '/admin/accounts')
    const edited = accounts.find((account) => account.name === 'claude-keys')
    assert.deepEqual(edited.env, { CLAUDE_CONFIG_DIR: '/srv/claude-b' })
    assert.deepEqual(edited.secret_env_names, ['ANTHROPIC_API_KEY'], 'kept')
    assert.deepEqual(
      [edited.daily_usd_limit, edited.monthly_usd_limit, edited.daily_token_limit],
      [7.5, null, null],
      'the limit typed, the others none',
    )

    const limited = accountRow(page, 'codex-work')
    assert.equal(await limited.getByTestId('account-state').getAttribute('data-state'), 'limited')
    await limited.getByTestId('account-clear').click()
    await limited.locator('[data-testid="account-state"][data-state="available"]').waitFor({ timeout: WAIT_MS })
    await screenshotBoth(page, 'accounts', () => settled(page))

    await created.getByTestId('account-delete').click()
    await created.getByTestId('account-delete-confirm').click()
    await created.waitFor({ state: 'detached', timeout: WAIT_MS })
    assertNoProblems(problems)
  })
})
