// A claude run read as a conversation, live, against a real backend and the fake claude.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { assertNoProblems, screenshotBoth, statusOf, waitForLineCount, waitForStatus } from './browser.mjs'
import { createBot, runBot, setupSuite, withPage } from './suite.mjs'

const env = setupSuite()

test('A claude run shows as a conversation live: Markdown, tool calls with command, diff and result, usage', { timeout: 90_000 }, async (t) => {
  // The fake prints its messages and tool calls, then waits for this file before its result.
  const dir = mkdtempSync(join(tmpdir(), 'agented-conversation-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const goOn = join(dir, 'go-on')
  const bot = await createBot(env.server, {
    backend_type: 'claude',
    prompt_template: `fake: tools\nfake: wait-for ${goOn}\nfake: result\n`,
  })
  await withPage(env, t, async ({ page, problems }) => {
    const executionId = await runBot(env.server, bot.id)
    await page.goto(`${env.server.url}/executions/${executionId}`)
    await page.getByTestId('tab-conversation').click()
    const conversation = page.getByTestId('conversation')

    // Live: the whole conversation so far is there while the run still goes on.
    const messages = conversation.getByTestId('conversation-message')
    await messages.filter({ hasText: 'stays text' }).waitFor()
    assert.equal(await statusOf(page), 'running')
    await page.getByTestId('connection-state').filter({ hasText: 'Live' }).waitFor()
    assert.equal(await messages.first().locator('strong').textContent(), 'README')
    assert.equal(await messages.first().locator('li').count(), 2, 'the Markdown list is a list')
    assert.match(await messages.last().textContent(), /Done\. <script>alert\(1\)<\/script> stays text\./)

    const [shell, edit] = await conversation.getByTestId('conversation-tool').all()
    assert.equal((await shell.getByTestId('tool-state').textContent()).trim(), 'done')
    await shell.locator('summary').click()
    assert.equal((await shell.getByTestId('tool-command').textContent()).trim(), '$ ls -1')
    assert.equal(await shell.getByTestId('tool-output').textContent(), 'README.md\nsrc')
    // A failed edit starts open, as a diff, with its error.
    assert.equal(await edit.getAttribute('open'), '')
    assert.equal(await edit.locator('.diff__line--del').textContent(), '-Hello')
    assert.equal(await edit.locator('.diff__line--add').textContent(), '+Hello, world')
    assert.equal(await edit.getByTestId('tool-output').textContent(), 'File has not been read yet')
    assert.ok((await conversation.getByTestId('conversation-turn-usage').count()) >= 2, 'usage per turn')
    await screenshotBoth(page, 'conversation-live')

    // The run's result arrives on the same stream: the totals, with the cost.
    writeFileSync(goOn, '')
    await waitForStatus(page, 'success', 20_000)
    const totals = conversation.getByTestId('conversation-totals')
    await totals.filter({ hasText: '$0.0456' }).waitFor()
    assert.match(await totals.textContent(), /90 in · 36 out · 300 cache read · \$0\.0456/)

    // The raw log is one click away; the page opens with the conversation now, read from storage.
    await page.getByTestId('tab-log').click()
    await waitForLineCount(page, 8)
    await page.getByTestId('tab-conversation').click()
    await page.reload()
    await conversation.getByTestId('conversation-totals').filter({ hasText: '$0.0456' }).waitFor()
    assert.equal(await conversation.getByTestId('conversation-tool').count(), 2)
    assert.equal(await conversation.getByTestId('conversation-message').count(), 2)
    assertNoProblems(problems)
  })
})
