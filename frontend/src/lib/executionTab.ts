/**
 * Which view of a run its page opens with: the raw log or the conversation.
 * The last one chosen is kept in the browser, so whoever reads conversations
 * clicks once, not on every run.
 */
export type Tab = 'log' | 'conversation'

const STORAGE_KEY = 'agented.executionTab'

export function preferredTab(): Tab {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'conversation' ? 'conversation' : 'log'
  } catch {
    return 'log' // storage refused (private mode, a sandboxed frame)
  }
}

export function rememberTab(tab: Tab): void {
  try {
    localStorage.setItem(STORAGE_KEY, tab)
  } catch {
    // not remembered: the next run opens with the log
  }
}
