// The Agents page against a real server: agents made in the UI, a message sent from one to the
// other arriving live in the open inbox, marked read, and the inbox again after a reload.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WAIT_MS, assertNoProblems, screenshotBoth } from './browser.mjs'
import { createBot, settled, setupSuite, withPage } from './suite.mjs'

const env = setupSuite()

/** Creates an agent through the page's form; returns its id (from the URL it opens). */
async function createAgentInPage(page, name, role) {
  await page.getByTestId('agent-new').click()
  await page.getByTestId('agent-name').fill(name)
  await page.getByTestId('agent-role').fill(role)
  await page.getByTestId('agent-save').click()
  await page.waitForURL((url) => /\/agents\/[^/]+$/.test(url.pathname))
  await page.locator(`[data-testid="agent-row"][data-agent-name="${name}"]`).waitFor()
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop())
}

function inboxMessages(page) {
  return page.getByTestId('agent-inbox').getByTestId('message')
}

async function waitForLive(page) {
  await page.locator('[data-testid="agent-inbox"][data-connection="open"]').waitFor({ timeout: WAIT_MS })
}

test('two agents made in the page talk: the message arrives live, is marked read, and is there after a reload', { timeout: 90_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems, context }) => {
    await page.goto(`${env.server.url}/agents`)
    await settled(page)
    await page.getByTestId('empty-state').waitFor()

    const reviewer = await createAgentInPage(page, 'reviewer', 'reviews pull requests')
    const fixer = await createAgentInPage(page, 'fixer', 'fixes what the reviewer finds')
    const bot = await createBot(env.server, { name: 'review-bot', prompt_template: 'fake: print reviewed\n', agent_id: reviewer })

    // The fixer's inbox, open and live, before anything is sent to it.
    await page.goto(`${env.server.url}/agents/${encodeURIComponent(fixer)}`)
    await settled(page)
    await waitForLive(page)
    await page.getByTestId('agent-inbox').getByTestId('empty-state').waitFor()

    // The reviewer (shown with the bot acting as it) sends from another tab.
    const sender = await context.newPage()
    await sender.goto(`${env.server.url}/agents/${encodeURIComponent(reviewer)}`)
    await settled(sender)
    assert.match(await sender.getByTestId('agent-bots').textContent(), /review-bot/)
    assert.equal(await sender.getByTestId('agent-bots').getByRole('link').getAttribute('href'), `/bots/${bot.id}`)
    await sender.getByTestId('compose-to').selectOption({ label: 'fixer' })
    await sender.getByTestId('compose-priority').selectOption('high')
    await sender.getByTestId('compose-subject').fill('Null check in parser.ts')
    await sender.getByTestId('compose-content').fill('Line 42 dereferences a possibly null token.')
    await sender.getByTestId('compose-send').click()
    await sender.getByTestId('compose-sent').waitFor()
    await sender.close()

    // It arrives in the open inbox without a reload, unread, and the list counts it.
    await inboxMessages(page).first().waitFor({ timeout: WAIT_MS })
    const message = inboxMessages(page).first()
    assert.equal(await message.getByTestId('message-subject').textContent(), 'Null check in parser.ts')
    assert.notEqual(await message.getAttribute('data-status'), 'read')
    await page.locator('[data-testid="agent-row"][data-agent-name="fixer"] [data-testid="agent-unread"]').waitFor()
    await screenshotBoth(page, 'agents-inbox', () => settled(page))

    await message.getByTestId('message-mark-read').click()
    await page.locator('[data-testid="message"][data-status="read"]').waitFor()
    await page.locator('[data-testid="agent-row"][data-agent-name="fixer"] [data-testid="agent-unread"]').waitFor({ state: 'detached' })

    // After a reload the inbox shows the message again, and the stream resumes live after it.
    await page.reload()
    await settled(page)
    await waitForLive(page)
    assert.equal(await inboxMessages(page).count(), 1)
    assert.equal(await inboxMessages(page).first().getAttribute('data-status'), 'read')
    await env.server.api('POST', `/admin/agents/${encodeURIComponent(reviewer)}/messages`, {
      to_agent_id: fixer,
      content: 'One more thing: the tests.',
    })
    await page.locator('[data-testid="message"]:not([data-status="read"])').waitFor({ timeout: WAIT_MS })
    assert.equal(await inboxMessages(page).count(), 2)

    // A reply goes into the thread of the message it answers.
    await inboxMessages(page).first().getByTestId('message-thread').click()
    await page.getByTestId('message-thread-view').getByTestId('message').first().waitFor()
    await screenshotBoth(page, 'agents-thread', () => settled(page))
    assertNoProblems(problems)
  })
})
