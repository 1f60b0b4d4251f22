import { mount, RouterLinkStub } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import ExecutionDetails from '@/components/execution/ExecutionDetails.vue'
import { makeExecution } from './support/fixtures'

function details(overrides: Parameters<typeof makeExecution>[0]) {
  return mount(ExecutionDetails, {
    props: { execution: makeExecution(overrides) },
    global: { stubs: { RouterLink: RouterLinkStub } },
  })
}

describe('ExecutionDetails', () => {
  it('says until when and why a waiting run waits', () => {
    const wrapper = details({
      status: 'waiting',
      started_at: null,
      not_before: '2026-11-25T00:00:00.000+00:00',
      waiting_reason: "account 'Work' limited until 2026-11-25T00:00:00.000+00:00",
    })
    expect(wrapper.get('[data-testid="execution-waiting"]').text()).toContain("account 'Work' limited until")
  })

  it('links a fallback to the run it continues, and shows no wait for a run that runs', () => {
    const wrapper = details({ trigger_type: 'fallback', retry_of: 'e0' })
    expect(wrapper.getComponent(RouterLinkStub).props('to')).toBe('/executions/e0')
    expect(wrapper.find('[data-testid="execution-waiting"]').exists()).toBe(false)
  })
})
