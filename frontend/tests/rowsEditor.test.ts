import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import EnvRowsEditor from '@/components/account/EnvRowsEditor.vue'
import ListEditor from '@/components/ListEditor.vue'
import type { EnvRow } from '@/lib/accounts'

/** The shared row editor as both of its users use it: edit, add (focused), Enter, remove. */
describe('ListEditor', () => {
  it('edits, adds a focused row on Enter in the last one, and removes rows', async () => {
    let items = ['/srv/a']
    const wrapper = mount(ListEditor, {
      attachTo: document.body,
      props: {
        id: 'paths',
        itemLabel: 'path',
        testid: 'paths',
        modelValue: items,
        'onUpdate:modelValue': (value: string[]) => {
          items = value
          void wrapper.setProps({ modelValue: value })
        },
      },
    })
    await wrapper.get('input').setValue('/srv/one')
    expect(items).toEqual(['/srv/one'])
    await wrapper.get('input').trigger('keydown', { key: 'Enter' })
    await wrapper.vm.$nextTick()
    expect(items).toEqual(['/srv/one', ''])
    const inputs = wrapper.findAll('[data-testid="paths-item"]')
    expect(document.activeElement).toBe(inputs[1]!.element)
    expect(inputs[0]!.attributes('id')).toBe('paths')
    await wrapper.get('[aria-label="Remove path 1"]').trigger('click')
    expect(items).toEqual([''])
    wrapper.unmount()
  })
})

describe('EnvRowsEditor', () => {
  it('keeps name and value of a row apart and focuses a new row by its name', async () => {
    let rows: EnvRow[] = []
    const wrapper = mount(EnvRowsEditor, {
      attachTo: document.body,
      props: {
        id: 'env',
        itemLabel: 'variable',
        testid: 'env',
        secret: true,
        modelValue: rows,
        'onUpdate:modelValue': (value: EnvRow[]) => {
          rows = value
          void wrapper.setProps({ modelValue: value })
        },
      },
    })
    expect(wrapper.get('[data-testid="env-add"]').attributes('id')).toBe('env')
    await wrapper.get('[data-testid="env-add"]').trigger('click')
    await wrapper.vm.$nextTick()
    expect(rows).toEqual([{ name: '', value: '' }])
    expect(document.activeElement).toBe(wrapper.get('[data-testid="env-name"]').element)
    await wrapper.get('[data-testid="env-name"]').setValue('TOKEN')
    await wrapper.get('[data-testid="env-value"]').setValue('s3cret')
    expect(rows).toEqual([{ name: 'TOKEN', value: 's3cret' }])
    expect(wrapper.get('[data-testid="env-value"]').attributes('type')).toBe('password')
    expect(wrapper.findAll('[data-testid="env-row"]')).toHaveLength(1)
    await wrapper.get('[aria-label="Remove variable 1"]').trigger('click')
    expect(rows).toEqual([])
    wrapper.unmount()
  })
})
