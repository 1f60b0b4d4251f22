import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import ConversationView from '@/components/execution/ConversationView.vue'
import type { Block } from '@/lib/conversation'

function messages(count: number): Block[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'message', key: `m${i}`, role: 'assistant', text: `Turn ${i}` }))
}

describe('ConversationView', () => {
  it('draws a short conversation whole', () => {
    const wrapper = mount(ConversationView, { props: { blocks: messages(20), totals: null, loading: false, error: null, active: false } })
    expect(wrapper.findAll('[data-testid="conversation-message"]')).toHaveLength(20)
  })

  it('draws only the start of a long one, with the space of the rest below it', () => {
    const wrapper = mount(ConversationView, { props: { blocks: messages(5000), totals: null, loading: false, error: null, active: false } })
    const drawn = wrapper.findAll('[data-testid="conversation-message"]')
    expect(drawn.length).toBeGreaterThan(5)
    expect(drawn.length).toBeLessThan(100)
    expect(drawn[0]!.text()).toBe('Turn 0')
    const list = wrapper.get('.conversation__blocks').element as HTMLElement
    expect(list.style.paddingTop).toBe('0px')
    expect(parseFloat(list.style.paddingBottom)).toBeGreaterThan(64 * 4000) // the blocks not drawn, estimated
  })
})
