/**
 * A run's conversation as the view shows it, built from the server's
 * conversation entries (one per log line that held any, by its `seq`).
 *
 * The server derives each line's items on its own; what needs more than one
 * line is put together here: a tool result joins its call (by id), Gemini's
 * message pieces (`delta`) join the message before them, a turn's usage is the
 * last one reported for it (Claude repeats it on each block of a message) and
 * shows after that turn's latest block, and an error repeated word for word
 * right after itself (Codex's failed turn repeats its error event) shows once.
 * Entries at or below the last seq taken are dropped, so the REST pages and
 * the live stream (which may repeat a line after a reconnect) can overlap.
 */
import type { ConversationEntry, ConversationItem, ConversationUsage } from '@/api/types'

type ItemOf<Kind extends ConversationItem['kind']> = Extract<ConversationItem, { kind: Kind }>

export interface ToolBlock {
  type: 'tool'
  key: string
  call: ItemOf<'tool_call'>
  result: ItemOf<'tool_result'> | null
}

export type Block =
  | { type: 'session'; key: string; item: ItemOf<'session'> }
  | { type: 'message'; key: string; role: ItemOf<'message'>['role']; text: string }
  | ToolBlock
  | { type: 'error'; key: string; message: string; retrying: boolean }
  | { type: 'usage'; key: string; usage: ConversationUsage }

const USAGE_FIELDS = [
  'input_tokens',
  'output_tokens',
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
  'total_cost_usd',
  'num_turns',
] as const

/** The sum of several usages; a field none of them reports stays null. */
export function sumUsage(usages: readonly ConversationUsage[]): ConversationUsage | null {
  if (usages.length === 0) return null
  const total = Object.fromEntries(USAGE_FIELDS.map((field) => [field, null])) as ConversationUsage
  for (const usage of usages) {
    for (const field of USAGE_FIELDS) {
      const value = usage[field]
      if (typeof value === 'number') total[field] = (total[field] ?? 0) + value
    }
  }
  return total
}

export class Conversation {
  /** The highest seq taken; entries at or below it are repeats. */
  lastSeq = 0
  blocks: Block[] = []
  /** The run's totals, as the CLI reported them at its end. */
  runUsage: ConversationUsage | null = null
  private readonly tools = new Map<string, number>()
  private readonly turns = new Map<string, ConversationUsage>()
  private anonymousTurns = 0

  /** Takes an entry; false (and nothing changes) when it is a repeat. */
  add(entry: ConversationEntry): boolean {
    if (entry.seq <= this.lastSeq) return false
    this.lastSeq = entry.seq
    entry.items.forEach((item, index) => this.take(item, `${entry.seq}.${index}`))
    return true
  }

  /** The sum of the turns' usage (each turn's last report). */
  get turnTotals(): ConversationUsage | null {
    return sumUsage([...this.turns.values()])
  }

  private take(item: ConversationItem, key: string): void {
    switch (item.kind) {
      case 'session':
        this.blocks.push({ type: 'session', key, item })
        return
      case 'message': {
        const last = this.blocks.at(-1)
        if (item.delta && last?.type === 'message' && last.role === item.role) {
          this.blocks[this.blocks.length - 1] = { ...last, text: last.text + item.text }
        } else {
          this.blocks.push({ type: 'message', key, role: item.role, text: item.text })
        }
        return
      }
      case 'tool_call':
        this.upsertTool(item.id, key, (block) => ({ ...block, call: { ...block.call, ...item } }))
        return
      case 'tool_result':
        this.upsertTool(item.id, key, (block) => ({ ...block, result: item }))
        return
      case 'error': {
        const last = this.blocks.at(-1)
        if (last?.type === 'error' && last.message === item.message) return
        this.blocks.push({ type: 'error', key, message: item.message, retrying: Boolean(item.retrying) })
        return
      }
      case 'usage':
        if (item.scope === 'run') {
          this.runUsage = item.usage
          return
        }
        this.takeTurnUsage(item.turn ?? `anonymous-${this.anonymousTurns++}`, item.usage)
    }
  }

  private upsertTool(id: string, key: string, update: (block: ToolBlock) => ToolBlock): void {
    const index = this.tools.get(id)
    if (index === undefined) {
      // A result before its call (or a call whose line was too long to read): a placeholder call.
      const call = { kind: 'tool_call', id, name: 'tool', input: null, command: null, path: null, diff: null } as const
      const placeholder: ToolBlock = { type: 'tool', key, call, result: null }
      this.tools.set(id, this.blocks.length)
      this.blocks.push(update(placeholder))
      return
    }
    this.blocks[index] = update(this.blocks[index] as ToolBlock)
  }

  private takeTurnUsage(turn: string, usage: ConversationUsage): void {
    const key = `usage:${turn}`
    if (this.turns.has(turn)) {
      // Shown once, after the turn's latest block: the earlier report of it goes.
      // Looked for from the end, where it nearly always is: a long conversation must not
      // cost a pass over all its blocks per turn.
      let index = this.blocks.length - 1
      while (index >= 0 && this.blocks[index]!.key !== key) index -= 1
      if (index >= 0) {
        this.blocks.splice(index, 1)
        // The tool calls after it moved up by one.
        for (let at = index; at < this.blocks.length; at += 1) {
          const block = this.blocks[at]!
          if (block.type === 'tool') this.tools.set(block.call.id, at)
        }
      }
    }
    this.turns.set(turn, usage)
    this.blocks.push({ type: 'usage', key, usage })
  }
}

/** A usage as one short line: `1,234 in · 56 out · 3,000 cached · $0.0456`. */
export function formatUsage(usage: Partial<ConversationUsage>): string {
  const number = new Intl.NumberFormat('en-US')
  const parts: string[] = []
  if (typeof usage.input_tokens === 'number') parts.push(`${number.format(usage.input_tokens)} in`)
  if (typeof usage.output_tokens === 'number') parts.push(`${number.format(usage.output_tokens)} out`)
  if (usage.cache_read_input_tokens) parts.push(`${number.format(usage.cache_read_input_tokens)} cache read`)
  if (usage.cache_creation_input_tokens) {
    parts.push(`${number.format(usage.cache_creation_input_tokens)} cache write`)
  }
  if (typeof usage.total_cost_usd === 'number') parts.push(`$${usage.total_cost_usd.toFixed(4)}`)
  return parts.join(' · ')
}

/** A diff's lines, each with what it is: a file header, a hunk header, an added, removed or kept line. */
export function diffLines(diff: string): { kind: 'file' | 'hunk' | 'add' | 'del' | 'same'; text: string }[] {
  return diff.split('\n').map((text) => {
    if (text.startsWith('+++') || text.startsWith('---')) return { kind: 'file', text }
    if (text.startsWith('@@')) return { kind: 'hunk', text }
    if (text.startsWith('+')) return { kind: 'add', text }
    if (text.startsWith('-')) return { kind: 'del', text }
    return { kind: 'same', text }
  })
}

/** What a tool call is about, in a few words: its command, the file it changes, or its first input. */
export function toolSummary(call: ItemOf<'tool_call'>): string {
  if (call.command) return call.command
  if (call.path) return call.path
  const input = call.input
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const first = Object.values(input as Record<string, unknown>).find((value) => typeof value === 'string')
    if (typeof first === 'string') return first
  }
  return ''
}
